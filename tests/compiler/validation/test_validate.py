from __future__ import annotations

from pathlib import Path

from compiler.validation.validate import validate_workspace
from compiler.validation.workspace_config import load_workspace

FG_C = "specs/p1/fg_c_builder#v1.yaml"


def diagnostics(root: Path) -> list:
    workspace = load_workspace(root)
    return validate_workspace(workspace, workspace.environment("local")).diagnostics


def test_an_item_over_400_kb_is_reported_with_its_size(workspace_dir: Path) -> None:
    spec = workspace_dir / FG_C
    metrics = "".join(f"    - metric_{index:06d}_{'x' * 40}\n" for index in range(9000))
    spec.write_text(spec.read_text() + "  metrics:\n" + metrics)
    found = [d for d in diagnostics(workspace_dir) if d.rule == "item.too-large"]
    assert len(found) == 1 and found[0].path == FG_C
    assert "bytes; DynamoDB items are limited to 409,600 bytes" in found[0].message


def test_one_bad_file_never_hides_the_others(workspace_dir: Path) -> None:
    (workspace_dir / "specs/p1/fg_b_builder#v1.yaml").write_text("spec: [unclosed\n")
    (workspace_dir / "specs/p1/fg_a_builder#v1.yaml").write_text("spec:\n  a: 1\n  a: 2\n")
    spec = workspace_dir / FG_C
    spec.write_text(spec.read_text().replace("s3://feat-bucket/fg_c/", "nope"))
    rules = {(d.path, d.rule) for d in diagnostics(workspace_dir)}
    assert ("specs/p1/fg_b_builder#v1.yaml", "yaml.syntax") in rules
    assert ("specs/p1/fg_a_builder#v1.yaml", "yaml.duplicate-key") in rules
    assert (FG_C, "schema.pattern") in rules


def test_empty_workspace_is_an_error(workspace_dir: Path) -> None:
    for path in (workspace_dir / "specs").rglob("*.yaml"):
        path.unlink()
    assert [d.rule for d in diagnostics(workspace_dir)] == ["workspace.empty"]


def test_diagnostics_are_sorted_and_unique(workspace_dir: Path) -> None:
    spec = workspace_dir / FG_C
    spec.write_text(spec.read_text() + "  password: a\n  token: b\n")
    found = diagnostics(workspace_dir)
    keys = [(d.path, d.line, d.column, d.rule) for d in found]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) == 2
