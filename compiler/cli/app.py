"""The `ndrc` click group: every command, each imported on demand."""

from __future__ import annotations

import importlib
import os
import sys

import click

from compiler import __version__
from compiler.cli.exit_codes import ExitCode

# Each module defines one or more click commands and a `COMMANDS` list; adding a command is one line here.
# A command's module (and whatever it imports: boto3, jsonschema, Jinja, the targets) is imported only when
# that command runs or help lists every command, so `ndrc compile` with nothing to do starts quickly.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "validate": ("compiler.cli.validate",),
    "compile": ("compiler.cli.compile",),
    "schema": ("compiler.cli.schema",),
    "plan": ("compiler.cli.plan",),
    "publish": ("compiler.cli.publish",),
    "history": ("compiler.cli.history",),
    "provision": ("compiler.cli.provision",),
    "local": ("compiler.cli.local", "compiler.cli.serve"),  # serve adds `ndrc local serve` to the group
    "run": ("compiler.cli.run",),
    "gen-traffic": ("compiler.cli.run",),
    "graph": ("compiler.cli.graph",),
    "demo": ("compiler.cli.demo",),
}


class LazyGroup(click.Group):
    """The `ndrc` group: commands are looked up in COMMAND_MODULES and their modules imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        modules = COMMAND_MODULES.get(cmd_name)
        if modules is None:
            return None
        for module_name in modules:
            importlib.import_module(module_name)
        commands = importlib.import_module(modules[0]).COMMANDS
        return next((command for command in commands if command.name == cmd_name), None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ndrc")
def cli() -> None:
    """Validate, compile, plan and publish the NDR ML platform's job specs."""


def run() -> None:
    """Run the group on sys.argv: no traceback reaches the user unless NDRC_DEBUG is set."""
    try:
        cli(prog_name="ndrc")
    except Exception as exc:  # the last line of defence; every known failure is handled below this
        if os.environ.get("NDRC_DEBUG"):
            raise
        click.echo(f"ndrc: internal error: {type(exc).__name__}: {exc} (set NDRC_DEBUG=1 for details)", err=True)
        sys.exit(ExitCode.USAGE)
