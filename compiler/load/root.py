"""Where a workspace is and what, besides its files, selects an environment: the few facts the unchanged
`ndrc compile` needs before anything else is imported (plain `os` and strings; `workspace.py` builds on it)."""

from __future__ import annotations

import os

from runtime.contract import ENVIRONMENT_NAME_ENV, LEGACY_PARAMETERS_TABLE_ENV, PARAMETERS_TABLE_ENV

CONFIG_FILE = "ndrc.yaml"
SPECS_DIR = "specs"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"
# Every environment variable `Workspace.environment` reads: the same ndrc.yaml selects the same settings
# while these are unchanged (compiler.compilation.uptodate keys its record on them).
ENVIRONMENT_VARIABLES = (ENVIRONMENT_NAME_ENV, PARAMETERS_TABLE_ENV, LEGACY_PARAMETERS_TABLE_ENV, ENDPOINT_VARIABLE)


def workspace_root(start: str | os.PathLike[str] | None = None) -> str | None:
    """The absolute, resolved folder holding `ndrc.yaml`: `start` (default: the current folder) or its
    nearest parent; None when there is none."""
    folder = os.path.realpath(start if start is not None else os.getcwd())
    while True:
        if os.path.isfile(os.path.join(folder, CONFIG_FILE)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
