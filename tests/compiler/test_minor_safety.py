"""Issue 12 item 18: small things a new user trips over."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import cli
from compiler.compilation.compile import validate_with_cache
from compiler.errors import WorkspaceInvalid
from compiler.load.yamlload import load_yaml
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[2]


def test_deep_nesting_is_its_own_located_problem() -> None:
    nested = (
        "spec:\n  x:\n" + "".join("  " * 2 + "- " * depth + "\n" for depth in range(1, 2)) + "    " + "- " * 500 + "1\n"
    )
    document, problems = load_yaml("deep.yaml", nested.encode())
    assert document is None
    (problem,) = problems
    assert problem.rule == "yaml.too-deep" and problem.line > 1


def test_validate_paths_are_relative_to_the_workspace(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text().replace("s3://feat-bucket/fg_c/", "not-a-uri"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(cli, ["validate", "--workspace", str(workspace_dir), "specs/p1/fg_c_builder#v1.yaml"])
    assert result.exit_code == 1 and "[schema.pattern]" in result.output


def test_schemas_export_folder_is_ignored_by_git() -> None:
    assert ".schemas/" in (REPO / ".gitignore").read_text().splitlines()


def test_schema_name_with_export_is_refused_not_ignored(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema", "fg_c_builder", "--export", str(tmp_path / "out")])
    assert result.exit_code == 2 and "not both" in result.output
    assert not (tmp_path / "out").exists()


def test_a_misspelt_ndrc_yaml_key_gets_a_suggestion(workspace_dir: Path) -> None:
    config = workspace_dir / "ndrc.yaml"
    config.write_text(config.read_text().replace("region: us-east-1", "regoin: us-east-1", 1))
    with pytest.raises(WorkspaceInvalid) as raised:
        load_workspace(workspace_dir)
    assert any("did you mean 'region'?" in d.message for d in raised.value.diagnostics), raised.value.diagnostics


def test_an_empty_routing_file_is_called_a_routing_file(workspace_dir: Path) -> None:
    (workspace_dir / "specs/p1/routing.yaml").write_text("")
    result = validate_with_cache(load_workspace(workspace_dir), "local")
    (message,) = [d.message for d in result.diagnostics if d.path.endswith("routing.yaml")]
    assert "routing file" in message and "spec file" not in message


def test_provision_seed_routing_does_not_say_publish(workspace_dir: Path) -> None:
    from compiler.cli.publish import report
    from compiler.deploy.plan import Plan
    from compiler.deploy.publish import PublishResult

    runner = CliRunner()
    with runner.isolation() as (out, _, _):
        report(PublishResult(Plan("local", "1", "r", "s", [])), action="seed routing")
        printed = out.getvalue().decode()
    assert printed.startswith("seed routing done") and "publish" not in printed
