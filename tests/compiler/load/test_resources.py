from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compiler.errors import UsageError
from compiler.load import resources


def test_checkout_folders_are_found() -> None:
    assert (resources.resource_dir("schemas") / "item.schema.json").is_file()


def test_installed_copy_is_used_without_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prefix/share/ndrc/schemas").mkdir(parents=True)
    monkeypatch.setattr(resources, "CHECKOUT_ROOT", tmp_path / "no-checkout")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert resources.resource_dir("schemas") == tmp_path / "prefix/share/ndrc/schemas"
    with pytest.raises(UsageError, match="jobs/ folder is missing"):
        resources.resource_dir("jobs")
