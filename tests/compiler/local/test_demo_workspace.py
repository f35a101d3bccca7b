"""The demo-sized workspace: the overlay applied to a copy (the sample workspace is only read), every change
explained, and the copy still valid."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from compiler.errors import UsageError
from compiler.local.demo_workspace import prepare, prepare_endpoint, read_overlay
from compiler.local.demo_world import SAMPLE_PROJECTS
from compiler.validation.validate import validate_workspace
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[3]


def _digest(folder: Path) -> str:
    files = sorted(p for p in [folder / "ndrc.yaml", *(folder / "specs").rglob("*")] if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def _get(document: dict[str, object], dotted: str) -> object:
    node: object = document
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, dotted
        node = node[part]
    return node


def test_the_overlay_is_applied_to_a_copy_and_the_copy_validates(tmp_path: Path) -> None:
    before = _digest(REPO)
    changes = read_overlay()
    applied = prepare(REPO, tmp_path / "ws", SAMPLE_PROJECTS, changes)
    assert _digest(REPO) == before  # the sample workspace is only read
    assert applied == changes and all(change.why for change in changes)
    for change in changes:
        document = yaml.safe_load((tmp_path / "ws" / change.file).read_text())
        assert _get(document, change.key) == change.value
    prepare_endpoint(tmp_path / "ws" / "ndrc.yaml", "local", "http://127.0.0.1:1234")
    workspace = load_workspace(tmp_path / "ws")
    environment = workspace.environment("local")
    assert environment.endpoint_url == "http://127.0.0.1:1234"
    assert validate_workspace(workspace, environment).ok


def test_every_spec_key_the_overlay_changes_sits_in_an_existing_mapping_of_the_sample_spec() -> None:
    """A renamed section in the sample specs must not leave the overlay silently adding an unused one (a key
    itself may be new where the spec relies on the schema's default, e.g. ndr-acme-prod's FG-B safety gaps)."""
    for change in read_overlay():
        if change.file.startswith("specs/") and "." in change.key:
            _get(yaml.safe_load((REPO / change.file).read_text()), change.key.rsplit(".", 1)[0])


def test_only_the_chosen_projects_are_copied_and_changed(tmp_path: Path) -> None:
    applied = prepare(REPO, tmp_path / "ws", ("ndr-acme-prod",), read_overlay())
    assert sorted(p.name for p in (tmp_path / "ws" / "specs").iterdir()) == ["ndr-acme-prod"]
    assert {change.file.split("/")[1] for change in applied if change.file.startswith("specs/")} == {"ndr-acme-prod"}


def test_an_overlay_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("ndr-prod/fg_b_builder#v1.yaml:\n  set: {spec.support_min: 2}\n")
    with pytest.raises(UsageError, match="needs `why`"):
        read_overlay(overlay)
