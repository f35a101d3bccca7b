"""Domain exceptions of ndrc. Each declares its class of failure as an exit code (1: findings or a failed
operation, 2: usage or environment); `compiler/cli/exit_codes.py` renders them as one line and that code."""

from __future__ import annotations

from compiler.diagnostics import Diagnostic


class NdrcError(Exception):
    """Raised for any failure ndrc reports to the user without a traceback."""

    exit_code: int = 1


class UsageError(NdrcError):
    """Raised when the command line or the environment is wrong (missing workspace, unknown env)."""

    exit_code: int = 2


class WorkspaceInvalid(NdrcError):
    """Raised when a command needs a valid workspace and validation found errors (invalid input: exit 2)."""

    exit_code = 2

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        errors = sum(1 for d in diagnostics if d.is_error)
        super().__init__(f"{errors} error(s) in the workspace; nothing was written")
        self.diagnostics = diagnostics


class AwsError(NdrcError):
    """Raised when an AWS (or emulator) call fails in a way the user must act on."""
