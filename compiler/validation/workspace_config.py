"""Reading `ndrc.yaml` and checking it against the workspace schema."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.diagnostics import Location, error
from compiler.errors import UsageError, WorkspaceInvalid
from compiler.load.tool_digest import tool_digest
from compiler.load.user_key import cache_key
from compiler.load.workspace import CONFIG_FILE, Workspace, find_workspace_root
from compiler.load.yamlload import load_yaml
from compiler.rule_catalog import WORKSPACE_SHAPE

if TYPE_CHECKING:
    from compiler.validation.schemas import SchemaCatalog

VERDICT_FILE = ".ndrc/cache/workspace-valid"


def load_workspace(root: Path | None = None, catalog: SchemaCatalog | None = None) -> Workspace:
    """Read and validate `ndrc.yaml`; raises WorkspaceInvalid with located diagnostics if it is wrong."""
    if root is not None and not (root / CONFIG_FILE).is_file():
        raise UsageError(f"{root} is not an ndrc workspace: it has no {CONFIG_FILE}")
    folder = find_workspace_root(root)
    path = folder / CONFIG_FILE
    raw = path.read_bytes()
    document, problems = load_yaml(CONFIG_FILE, raw)
    verdict = ValidVerdict(folder, raw)
    if document is not None and not verdict.known():
        if not isinstance(document.data, dict):
            problems.append(error(Location(CONFIG_FILE, 1, 1), WORKSPACE_SHAPE, "ndrc.yaml must be a mapping"))
        else:
            from compiler.validation.schemas import SchemaCatalog  # only when the verdict is not known

            problems.extend((catalog or SchemaCatalog.default()).validate("workspace", document, once=True))
        if not any(p.is_error for p in problems):
            verdict.record()
    if any(p.is_error for p in problems):
        raise WorkspaceInvalid(problems)
    assert document is not None
    return Workspace(folder, document.data, hashlib.sha256(raw).hexdigest())


class ValidVerdict:
    """That this exact `ndrc.yaml` passed the workspace schema under this exact ndrc, remembered so a
    command that changes nothing does not load the schema validator again. Stored as a MAC (the per-user
    cache key over the file's bytes and the tool digest) in `.ndrc/cache/`: a verdict written elsewhere or
    for other bytes never matches, and without a key nothing is remembered."""

    def __init__(self, folder: Path, raw: bytes) -> None:
        self.path = folder / VERDICT_FILE
        key = None if os.environ.get("NDRC_NO_CACHE") else cache_key()
        self.mac = (
            None
            if key is None
            else hmac.new(
                key, tool_digest().encode() + b"\0" + hashlib.sha256(raw).digest(), hashlib.sha256
            ).hexdigest()
        )

    def known(self) -> bool:
        try:
            return self.mac is not None and hmac.compare_digest(self.path.read_text(encoding="ascii").strip(), self.mac)
        except (OSError, ValueError):
            return False

    def record(self) -> None:
        if self.mac is None:
            return
        with contextlib.suppress(OSError):  # a verdict that cannot be written only costs speed
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
            temporary.write_text(self.mac + "\n", encoding="ascii")
            temporary.replace(self.path)
