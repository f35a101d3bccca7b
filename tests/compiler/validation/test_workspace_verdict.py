"""ndrc.yaml's schema verdict is remembered only for the exact bytes and tool that produced it."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import WorkspaceInvalid
from compiler.validation import schemas, workspace_config
from compiler.validation.workspace_config import VERDICT_FILE, load_workspace


def _refuse_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("ndrc.yaml was validated again")

    monkeypatch.setattr(schemas.SchemaCatalog, "validate", refuse)


def test_an_unchanged_valid_config_is_not_validated_again(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_workspace(workspace_dir)
    assert (workspace_dir / VERDICT_FILE).is_file()
    _refuse_validation(monkeypatch)
    assert load_workspace(workspace_dir).config == first.config


def test_an_edited_config_is_validated(workspace_dir: Path) -> None:
    load_workspace(workspace_dir)
    config = workspace_dir / "ndrc.yaml"
    config.write_text(config.read_text().replace("version: 1", "version: 2"))
    with pytest.raises(WorkspaceInvalid):
        load_workspace(workspace_dir)


def test_a_verdict_from_elsewhere_is_ignored(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = workspace_dir / "ndrc.yaml"
    config.write_text(config.read_text().replace("version: 1", "version: 2"))
    (workspace_dir / VERDICT_FILE).parent.mkdir(parents=True, exist_ok=True)
    (workspace_dir / VERDICT_FILE).write_text("0" * 64 + "\n")  # e.g. committed from another machine
    with pytest.raises(WorkspaceInvalid):
        load_workspace(workspace_dir)
    monkeypatch.setattr(workspace_config, "cache_key", lambda: None)  # no key: nothing is trusted or written
    with pytest.raises(WorkspaceInvalid):
        load_workspace(workspace_dir)
