from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import cli

BAD_FILE = "specs/p1/fg_c_builder#v1.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def break_spec(workspace_dir: Path) -> None:
    path = workspace_dir / BAD_FILE
    path.write_text(path.read_text().replace("s3://feat-bucket/fg_c/", "feat-bucket/fg_c"))


def test_validate_clean_workspace_exits_zero(workspace_dir: Path) -> None:
    code, out, _ = run("validate", "--workspace", str(workspace_dir))
    assert code == 0
    assert "no problems found" in out


def test_validate_text_reports_path_line_column_rule(workspace_dir: Path) -> None:
    break_spec(workspace_dir)
    code, out, _ = run("validate", "--workspace", str(workspace_dir))
    assert code == 1
    assert f"{BAD_FILE}:7:16: error [schema.pattern] spec.fg_c_output.s3_prefix:" in out


def test_validate_json_has_the_contract_keys(workspace_dir: Path) -> None:
    break_spec(workspace_dir)
    code, out, _ = run("validate", "--workspace", str(workspace_dir), "--format", "json")
    assert code == 1
    findings = json.loads(out)
    assert set(findings[0]) == {"path", "line", "column", "rule", "message", "severity"}
    assert findings[0]["line"] == 7 and findings[0]["column"] == 16


def test_validate_github_emits_workflow_annotations(workspace_dir: Path) -> None:
    break_spec(workspace_dir)
    code, out, _ = run("validate", "--workspace", str(workspace_dir), "--format", "github")
    assert code == 1
    assert out.startswith(f"::error file={BAD_FILE},line=7,col=16,title=schema.pattern::")


def test_validate_paths_limit_the_report(workspace_dir: Path) -> None:
    break_spec(workspace_dir)
    code, out, _ = run("validate", "--workspace", str(workspace_dir), str(workspace_dir / "specs/p1/routing.yaml"))
    assert code == 0 and "no problems found" in out
    code, _, _ = run("validate", "--workspace", str(workspace_dir), str(workspace_dir / "specs/p1"))
    assert code == 1


def test_strict_turns_warnings_into_failures(workspace_dir: Path) -> None:
    path = workspace_dir / BAD_FILE
    path.write_text(path.read_text() + "  z_mx: 6\n")
    assert run("validate", "--workspace", str(workspace_dir))[0] == 0
    code, out, _ = run("validate", "--workspace", str(workspace_dir), "--strict")
    assert code == 1 and "did you mean 'z_max'?" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "--env", "nope"], "unknown environment 'nope'"),
        (["compile", "--env", "nope"], "unknown environment 'nope'"),
        (["validate", "missing.yaml"], "no such file or folder"),
    ],
)
def test_usage_errors_exit_two_without_traceback(workspace_dir: Path, args: list[str], message: str) -> None:
    code, _, err = run(*args[:1], "--workspace", str(workspace_dir), *args[1:])
    assert code == 2
    assert message in err and "Traceback" not in err


def test_no_workspace_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("validate", "--workspace", str(tmp_path))
    assert code == 2 and "ndrc.yaml" in err


def test_invalid_ndrc_yaml_is_reported_with_location(workspace_dir: Path) -> None:
    config = workspace_dir / "ndrc.yaml"
    config.write_text(config.read_text().replace("region: us-east-1", "region: mars-1", 1))
    code, out, _ = run("validate", "--workspace", str(workspace_dir))
    assert code == 1
    assert "ndrc.yaml:" in out and "[schema.pattern]" in out


def test_compile_writes_build_and_reports_unchanged_on_rerun(workspace_dir: Path) -> None:
    code, out, _ = run("compile", "--workspace", str(workspace_dir))
    assert code == 0 and "(written)" in out
    assert (workspace_dir / "build/local/manifest.json").is_file()
    code, out, _ = run("compile", "--workspace", str(workspace_dir))
    assert code == 0 and "unchanged" in out


def test_compile_refuses_invalid_workspace_and_writes_nothing(workspace_dir: Path) -> None:
    break_spec(workspace_dir)
    code, _, err = run("compile", "--workspace", str(workspace_dir), "--out", str(workspace_dir / "out"))
    assert code == 2
    assert "nothing was written" in err and "[schema.pattern]" in err
    assert not (workspace_dir / "out").exists()


def test_schema_lists_prints_and_exports(tmp_path: Path) -> None:
    code, out, _ = run("schema")
    assert code == 0 and "jobs/fg_c_builder" in out
    code, out, _ = run("schema", "fg_c_builder")
    assert code == 0 and json.loads(out)["$schema"].endswith("2020-12/schema")
    code, out, _ = run("schema", "--export", str(tmp_path / "s"))
    assert code == 0 and (tmp_path / "s/jobs/delta_builder.schema.json").is_file()
    assert run("schema", "nope")[0] == 2


def test_compile_check_passes_on_a_fresh_build_and_writes_nothing(workspace_dir: Path) -> None:
    code, out, _ = run("compile", "--check", "--workspace", str(workspace_dir))
    assert code == 1 and not (workspace_dir / "build").exists()
    assert run("compile", "--workspace", str(workspace_dir))[0] == 0
    before = {p: p.read_bytes() for p in (workspace_dir / "build").rglob("*") if p.is_file()}
    code, out, _ = run("compile", "--check", "--workspace", str(workspace_dir))
    assert code == 0 and "build is up to date" in out
    assert before == {p: p.read_bytes() for p in (workspace_dir / "build").rglob("*") if p.is_file()}


def test_compile_check_lists_every_stale_file(workspace_dir: Path) -> None:
    assert run("compile", "--workspace", str(workspace_dir))[0] == 0
    build = workspace_dir / "build" / "local"
    spec = workspace_dir / BAD_FILE
    spec.write_text(spec.read_text().replace("s3://feat-bucket/fg_c/", "s3://feat-bucket/fg_c_v2/"))
    (build / "dynamodb" / "stray.jsonl").write_text("{}\n")
    (build / "manifest.json").unlink()
    code, _, err = run("compile", "--check", "--workspace", str(workspace_dir))
    assert code == 1
    lines = err.splitlines()
    assert lines[:3] == [
        f"{build}/dynamodb/ml_projects_parameters.jsonl: changed",
        f"{build}/dynamodb/stray.jsonl: unexpected",
        f"{build}/manifest.json: missing",
    ]
    assert lines[3].startswith("build is out of date: 3 file(s) differ")


def test_compile_check_of_an_invalid_workspace_shows_the_problems(workspace_dir: Path) -> None:
    break_spec(workspace_dir)
    code, _, err = run("compile", "--check", "--workspace", str(workspace_dir))
    assert code == 2 or code == 1
    assert f"{BAD_FILE}:7:16:" in err
