"""`ndrc compile` answered before click is imported: the same options mean the same as in the click command,
anything else is left to click, and a changed input still compiles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from compiler.cli.compile import compile_command
from compiler.cli.quick import compile_options
from compiler.compilation import sources, uptodate
from compiler.compilation.compile import compile_workspace
from compiler.validation.workspace_config import load_workspace

RECOGNISED = [
    ["compile"],
    ["compile", "--env", "local"],
    ["compile", "--env=local"],
    ["compile", "--workspace", "ws", "--env", "dev", "--out", "o"],
    ["compile", "--out=a=b", "--workspace=w"],
]
LEFT_TO_CLICK = [
    [],
    ["validate"],
    ["--version"],
    ["compile", "--check"],
    ["compile", "--help"],
    ["compile", "-h"],
    ["compile", "--env"],
    ["compile", "--env="],
    ["compile", "--env", ""],
    ["compile", "--env", "--out"],
    ["compile", "--env", "a", "--env", "b"],
    ["compile", "--en", "local"],
    ["compile", "extra"],
    ["compile", "--env", "local", "--check"],
]


def _click_meaning(arguments: list[str]) -> dict[str, object]:
    context = compile_command.make_context("compile", arguments[1:])
    return context.params


@pytest.mark.parametrize("arguments", RECOGNISED)
def test_the_recognised_forms_mean_what_click_reads_from_them(arguments: list[str]) -> None:
    options = compile_options(arguments)
    assert options is not None
    expected = _click_meaning(arguments)
    assert expected["check"] is False
    assert options.get("--env") == expected["env_name"]
    assert options.get("--workspace") == (str(expected["workspace_dir"]) if expected["workspace_dir"] else None)
    assert options.get("--out") == (str(expected["out_dir"]) if expected["out_dir"] else None)


@pytest.mark.parametrize("arguments", LEFT_TO_CLICK)
def test_everything_else_is_left_to_click(arguments: list[str]) -> None:
    assert compile_options(arguments) is None


def _main(*arguments: str) -> str:
    script = (
        "import sys\n"
        "from compiler.cli import main\n"
        f"sys.argv = ['ndrc', *{list(arguments)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print('click imported' if 'click' in sys.modules else 'click not imported')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return run.stdout


def test_main_answers_an_unchanged_compile_without_click_and_compiles_a_change(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uptodate, "RACY_NANOSECONDS", -(10**18))
    monkeypatch.setattr(sources, "RACY_NANOSECONDS", -(10**18))
    compile_workspace(load_workspace(workspace_dir), "local")
    arguments = ("compile", "--env", "local", "--workspace", str(workspace_dir))
    output = _main(*arguments)
    assert output.startswith("nothing changed since the last build") and output.endswith("click not imported\n")
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text().replace("s3://feat-bucket/fg_c/", "s3://feat-bucket/fg_changed/"))
    output = _main(*arguments)
    assert "(written)" in output and output.endswith("click imported\n")
    assert any(b"fg_changed" in path.read_bytes() for path in (workspace_dir / "build/local").rglob("*.*"))
