"""Commands are imported on demand: an unchanged `ndrc compile` loads neither click nor any heavy dependency."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from compiler.cli import COMMAND_MODULES, cli
from compiler.compilation import sources, uptodate
from compiler.compilation.compile import compile_workspace
from compiler.validation.workspace_config import load_workspace

HEAVY = (
    "click",
    "boto3",
    "botocore",
    "jsonschema",
    "fastjsonschema",
    "jinja2",
    "yaml",
    "sqlglot",
    "compiler.targets",
    "compiler.validation.validate",
    "compiler.compilation.compile",
)


def test_every_command_is_listed_where_its_module_defines_it() -> None:
    context = click.Context(cli)
    for name in COMMAND_MODULES:
        command = cli.get_command(context, name)
        assert command is not None and command.name == name
    defined = {c.name for m in set(sum(COMMAND_MODULES.values(), ())) for c in importlib.import_module(m).COMMANDS}
    assert defined == set(COMMAND_MODULES)
    assert cli.get_command(context, "no-such-command") is None


def test_an_unchanged_compile_imports_nothing_heavy(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uptodate, "RACY_NANOSECONDS", -(10**18))
    monkeypatch.setattr(sources, "RACY_NANOSECONDS", -(10**18))
    compile_workspace(load_workspace(workspace_dir), "local")
    script = (
        "import json, sys\n"
        "from compiler.cli import main\n"
        f"sys.argv = ['ndrc', 'compile', '--env', 'local', '--workspace', {str(workspace_dir)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({HEAVY!r}))))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    first, last = run.stdout.splitlines()[0], run.stdout.splitlines()[-1]
    assert first.startswith("nothing changed since the last build"), run.stdout + run.stderr
    assert json.loads(last) == []
