"""Where ndrc's own data files are: the schemas folder, in a checkout or an installed wheel."""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def resource_dir(name: str) -> Path:
    """`schemas`: the checkout's folder (editable install), else the wheel's copy under
    `<prefix>/share/ndrc/` (pyproject's data-files)."""
    for candidate in (CHECKOUT_ROOT / name, Path(sys.prefix) / "share" / "ndrc" / name):
        if candidate.is_dir():
            return candidate
    from compiler.errors import UsageError  # only here: the unchanged `ndrc compile` imports this module

    raise UsageError(f"ndrc's {name}/ folder is missing from this installation (reinstall ndrc)")
