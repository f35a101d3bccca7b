"""Where ndrc's own data files are: the schemas folder, in a checkout or an installed wheel."""

from __future__ import annotations

import sys
from pathlib import Path

from compiler.errors import UsageError

CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def resource_dir(name: str) -> Path:
    """`schemas`: the checkout's folder (editable install), else the wheel's copy under
    `<prefix>/share/ndrc/` (pyproject's data-files)."""
    for candidate in (CHECKOUT_ROOT / name, Path(sys.prefix) / "share" / "ndrc" / name):
        if candidate.is_dir():
            return candidate
    raise UsageError(f"ndrc's {name}/ folder is missing from this installation (reinstall ndrc)")
