"""Domain errors become one stderr line and the exit code their class declares, in one handler."""

from __future__ import annotations

import re
from pathlib import Path

import click
from click.testing import CliRunner

from compiler.cli import cli
from compiler.cli.exit_codes import ExitCode, handle_errors
from compiler.diagnostics import Location, error
from compiler.errors import AwsError, UsageError, WorkspaceInvalid

CLI_DIR = Path(__file__).resolve().parents[3] / "compiler" / "cli"


def _command(problem: Exception) -> click.Command:
    @click.command()
    @handle_errors
    def failing() -> None:
        raise problem

    return failing


def test_each_error_class_maps_to_its_exit_code() -> None:
    runner = CliRunner()
    usage = runner.invoke(_command(UsageError("no such thing")))
    assert (usage.exit_code, usage.stderr) == (ExitCode.USAGE, "ndrc: error: no such thing\n")
    aws = runner.invoke(_command(AwsError("throttled")))
    assert (aws.exit_code, aws.stderr) == (ExitCode.FINDINGS, "ndrc: error: throttled\n")
    invalid = runner.invoke(_command(WorkspaceInvalid([error(Location("specs/p/a.yaml", 3, 5), "yaml.syntax", "bad")])))
    assert invalid.exit_code == ExitCode.USAGE  # invalid input is a usage error on every command but validate
    assert invalid.stderr.splitlines() == [
        "specs/p/a.yaml:3:5: error [yaml.syntax] bad",
        "1 error(s), 0 warning(s) in 1 file(s)",
        "ndrc: error: 1 error(s) in the workspace; nothing was written",
    ]


def test_programming_errors_are_not_swallowed() -> None:
    result = CliRunner().invoke(_command(KeyError("bug")))
    assert isinstance(result.exception, KeyError)


def test_unknown_schema_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["schema", "no_such_schema"])
    assert result.exit_code == ExitCode.USAGE
    assert "no schema named 'no_such_schema'" in result.stderr


def test_commands_use_the_exit_code_enum_and_leave_domain_errors_to_the_handler() -> None:
    literal_exit = re.compile(r"(?:Exit|sys\.exit|exit_with)\(\s*\d")
    offenders = []
    for path in sorted(CLI_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {match.group(0)}" for match in literal_exit.finditer(text)]
        if path.name != "exit_codes.py" and ("except NdrcError" in text or "ndrc: error:" in text):
            offenders.append(f"{path.name}: renders a domain error itself")
    assert offenders == []


def test_a_schema_name_with_export_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema", "jobs/fg_c_builder", "--export", str(tmp_path / "out")])
    assert result.exit_code == ExitCode.USAGE
    assert (
        result.stderr.startswith("ndrc: error: give a schema NAME to print or --export DIR")
        and not (tmp_path / "out").exists()
    )


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    context = click.Context(group)
    found: dict[str, click.Command] = {}
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found |= _commands(command, f"{prefix}{name} ")
        else:
            found[f"{prefix}{name}"] = command
    return found


def test_every_command_runs_inside_the_one_error_handler() -> None:
    wrapper_code = handle_errors(lambda: None).__code__
    commands = _commands(cli)
    assert {"validate", "compile", "plan", "publish", "local up", "local serve", "run"} <= commands.keys()
    unwrapped = [
        name for name, command in commands.items() if getattr(command.callback, "__code__", None) is not wrapper_code
    ]
    assert unwrapped == []
