"""The `ndrc` command line: a thin click layer over the library API. Only this package imports click.

`main` first lets `compiler.cli.quick` answer an unchanged `ndrc compile` (the command run most often, by
hand and by hooks) without importing click or the compiler; everything else goes to the click group in
`compiler.cli.app`. `cli` and `COMMAND_MODULES` are importable from here as before.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads any TYPE_CHECKING as True)
if TYPE_CHECKING:
    from typing import Any

    from compiler.cli.app import COMMAND_MODULES, cli

__all__ = ["COMMAND_MODULES", "cli", "main"]


def main() -> None:
    """Entry point (`ndrc`)."""
    from compiler.cli.quick import answer_unchanged_compile

    if answer_unchanged_compile(sys.argv[1:]):
        return
    from compiler.cli.app import run

    run()


def __getattr__(name: str) -> Any:
    if name in ("cli", "COMMAND_MODULES"):
        from compiler.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
