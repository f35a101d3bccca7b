"""The demo-sized workspace: a copy of a workspace (its `ndrc.yaml` and `specs/`) with a reviewable overlay
applied (`examples/demo/overlay.yaml`: per file, the keys changed and why). The source workspace is only
read; the copy is what `ndrc demo` validates, compiles and publishes, by the normal path."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compiler.errors import UsageError

OVERLAY = Path(__file__).resolve().parents[2] / "examples" / "demo" / "overlay.yaml"
CONFIG = "ndrc.yaml"
SPECS = "specs"


@dataclass(frozen=True)
class OverlayChange:
    file: str  # relative to the workspace root
    key: str  # dotted path
    value: Any
    why: str


def read_overlay(path: Path = OVERLAY) -> list[OverlayChange]:
    """The overlay as a flat list of changes (file, dotted key, value, why), in file order."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"{path}: cannot read the demo overlay ({err})") from None
    if not isinstance(document, Mapping):
        raise UsageError(f"{path}: the demo overlay must be a mapping of file -> {{why, set}}")
    changes = []
    for name, entry in document.items():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("set"), Mapping) or not entry.get("why"):
            raise UsageError(f"{path}: {name}: needs `why` (text) and `set` (dotted key -> value)")
        file = str(name) if str(name) == CONFIG else f"{SPECS}/{name}"
        changes += [
            OverlayChange(file, str(key), value, str(entry["why"]).strip()) for key, value in entry["set"].items()
        ]
    return changes


def _set(document: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    *parents, last = dotted.split(".")
    node = document
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"{where}: {dotted}: {part} is not a mapping")
        node = child
    node[last] = value


def prepare(source: Path, target: Path, projects: tuple[str, ...], changes: list[OverlayChange]) -> list[OverlayChange]:
    """Copy `ndrc.yaml` and the given projects' specs from `source` into a fresh `target`, then apply the
    changes that touch the copied files; returns the changes applied."""
    if target.exists():
        shutil.rmtree(target)
    (target / SPECS).mkdir(parents=True)
    shutil.copy2(source / CONFIG, target / CONFIG)
    for project in projects:
        folder = source / SPECS / project
        if not folder.is_dir():
            raise UsageError(f"project {project!r} has no specs in {source / SPECS}")
        shutil.copytree(folder, target / SPECS / project)
    applied = []
    documents: dict[str, dict[str, Any]] = {}
    for change in changes:
        path = target / change.file
        if not path.is_file():
            continue  # a project the demo does not run
        document = documents.setdefault(change.file, yaml.safe_load(path.read_text(encoding="utf-8")))
        _set(document, change.key, change.value, change.file)
        applied.append(change)
    for file, document in documents.items():
        (target / file).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return applied


def prepare_endpoint(config: Path, environment: str, endpoint: str) -> None:
    """Point the copy's environment at the demo's emulator (its own port, not the environment's default)."""
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    _set(document, f"environments.{environment}.endpoint_url", endpoint, config.name)
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
