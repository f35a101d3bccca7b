"""The `ndrc` command line: a thin click layer over the library API. Only this package imports click."""

from __future__ import annotations

import importlib
import os
import sys

import click

from compiler import __version__
from compiler.cli.exit_codes import ExitCode

# Each module defines one or more click commands and a `COMMANDS` list; adding a command is one line here.
COMMAND_MODULES = (
    "compiler.cli.validate",
    "compiler.cli.compile",
    "compiler.cli.schema",
    "compiler.cli.plan",
    "compiler.cli.publish",
    "compiler.cli.history",
    "compiler.cli.provision",
    "compiler.cli.local",
    "compiler.cli.serve",
    "compiler.cli.run",
    "compiler.cli.graph",
    "compiler.cli.demo",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ndrc")
def cli() -> None:
    """Validate, compile, plan and publish the NDR ML platform's job specs."""


for _module_name in COMMAND_MODULES:
    for _command in importlib.import_module(_module_name).COMMANDS:
        cli.add_command(_command)


def main() -> None:
    """Entry point: no traceback reaches the user unless NDRC_DEBUG is set."""
    try:
        cli(prog_name="ndrc")
    except Exception as exc:  # the last line of defence; every known failure is handled below this
        if os.environ.get("NDRC_DEBUG"):
            raise
        click.echo(f"ndrc: internal error: {type(exc).__name__}: {exc} (set NDRC_DEBUG=1 for details)", err=True)
        sys.exit(ExitCode.USAGE)
