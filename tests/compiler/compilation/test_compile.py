from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.compilation.compile import MANIFEST, compile_workspace, sha256
from compiler.errors import WorkspaceInvalid
from compiler.validation.workspace_config import load_workspace


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_manifest_lists_every_artifact_with_its_hash(workspace_dir: Path) -> None:
    result = compile_workspace(load_workspace(workspace_dir), "local")
    manifest = json.loads((result.out_dir / MANIFEST).read_text())
    assert manifest["environment"] == "local"
    assert result.out_dir == workspace_dir / "build" / "local"
    for entry in manifest["artifacts"]:
        assert sha256((result.out_dir / entry["path"]).read_bytes()) == entry["sha256"]
        assert entry["kind"] and entry["name"] and isinstance(entry["sources"], list)
    assert {"dynamodb/ml_projects_parameters.jsonl", "dynamodb/ml_projects_routing.jsonl"} <= {
        e["path"] for e in manifest["artifacts"]
    }


def test_output_is_byte_identical_across_runs_and_caches(workspace_dir: Path, tmp_path: Path, monkeypatch) -> None:
    first = compile_workspace(load_workspace(workspace_dir), "local", tmp_path / "one")
    monkeypatch.setenv("NDRC_NO_CACHE", "1")
    second = compile_workspace(load_workspace(workspace_dir), "local", tmp_path / "two")
    assert tree(first.out_dir) == tree(second.out_dir)


def test_second_compile_with_nothing_changed_reuses_the_build(workspace_dir: Path) -> None:
    compile_workspace(load_workspace(workspace_dir), "local")
    again = compile_workspace(load_workspace(workspace_dir), "local")
    assert again.reused


def test_cache_notices_an_edited_file(workspace_dir: Path) -> None:
    first = compile_workspace(load_workspace(workspace_dir), "local")
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text() + "  z_max: 7\n")
    second = compile_workspace(load_workspace(workspace_dir), "local")
    assert not second.reused
    assert b'"z_max":{"N":"7"}' in (second.out_dir / "dynamodb/ml_projects_parameters.jsonl").read_bytes()
    assert first.out_dir == second.out_dir


def test_nothing_is_written_when_anything_is_invalid(workspace_dir: Path) -> None:
    compile_workspace(load_workspace(workspace_dir), "local")
    before = tree(workspace_dir / "build")
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text().replace("s3://feat-bucket/fg_c/", "not-a-uri"))
    with pytest.raises(WorkspaceInvalid) as raised:
        compile_workspace(load_workspace(workspace_dir), "local")
    assert any(d.rule == "schema.pattern" for d in raised.value.diagnostics)
    assert tree(workspace_dir / "build") == before


def test_environment_settings_reach_the_items(workspace_dir: Path) -> None:
    local = compile_workspace(load_workspace(workspace_dir), "local")
    dev = compile_workspace(load_workspace(workspace_dir), "dev")
    assert b"ndr-ingestion-local" in (local.out_dir / "dynamodb/ml_projects_routing.jsonl").read_bytes()
    assert b"ndr-ingestion-dev" in (dev.out_dir / "dynamodb/ml_projects_routing.jsonl").read_bytes()
