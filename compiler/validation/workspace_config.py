"""Reading `ndrc.yaml` and checking it against the workspace schema."""

from __future__ import annotations

from pathlib import Path

from compiler.diagnostics import Location, error
from compiler.errors import UsageError, WorkspaceInvalid
from compiler.load.workspace import CONFIG_FILE, Workspace, find_workspace_root
from compiler.load.yamlload import load_yaml
from compiler.rule_catalog import WORKSPACE_SHAPE
from compiler.validation.schemas import SchemaCatalog


def load_workspace(root: Path | None = None, catalog: SchemaCatalog | None = None) -> Workspace:
    """Read and validate `ndrc.yaml`; raises WorkspaceInvalid with located diagnostics if it is wrong."""
    if root is not None and not (root / CONFIG_FILE).is_file():
        raise UsageError(f"{root} is not an ndrc workspace: it has no {CONFIG_FILE}")
    folder = find_workspace_root(root)
    path = folder / CONFIG_FILE
    document, problems = load_yaml(CONFIG_FILE, path.read_bytes())
    if document is not None:
        if not isinstance(document.data, dict):
            problems.append(error(Location(CONFIG_FILE, 1, 1), WORKSPACE_SHAPE, "ndrc.yaml must be a mapping"))
        else:
            problems.extend((catalog or SchemaCatalog.default()).validate("workspace", document, once=True))
    if any(p.is_error for p in problems):
        raise WorkspaceInvalid(problems)
    assert document is not None
    return Workspace(folder, document.data)
