"""`compile_workspace`: validate, run every target, write `<out>/<env>/` atomically with its manifest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from compiler.cache import FileCache
from compiler.diagnostics import Diagnostic
from compiler.errors import WorkspaceInvalid
from compiler.model import Artifact, CompiledWorkspace
from compiler.schemas import SchemaCatalog
from compiler.specs import discover
from compiler.targets import all_targets
from compiler.validate import ValidationResult, assemble, validate_file
from compiler.workspace import Workspace

MANIFEST = "manifest.json"


@dataclass
class CompileResult:
    out_dir: Path
    artifacts: list[Artifact]
    diagnostics: list[Diagnostic]
    compiled: CompiledWorkspace
    reused: bool = False


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def manifest_bytes(environment: str, artifacts: list[Artifact]) -> bytes:
    entries = []
    for artifact in sorted(artifacts, key=lambda a: a.path):
        entry: dict[str, object] = {
            "kind": artifact.kind,
            "name": artifact.name,
            "path": artifact.path,
            "sha256": sha256(artifact.content),
            "sources": list(artifact.sources),
        }
        if artifact.role:
            entry["role"] = artifact.role
        entries.append(entry)
    document = {"environment": environment, "artifacts": entries}
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def validate_with_cache(workspace: Workspace, environment_name: str | None = None) -> ValidationResult:
    """Validate the workspace, reusing per-file results whose content hash is unchanged."""
    environment = workspace.environment(environment_name)
    catalog = SchemaCatalog.default()
    cache = FileCache.open(workspace, environment)
    results = []
    for path in discover(workspace.specs_dir, workspace.root):
        relative = workspace.relative(path)
        raw = path.read_bytes()
        result = cache.get(relative, raw)
        if result is None:
            result = validate_file(path, relative, environment, catalog)
            cache.put(relative, raw, result)
        results.append(result)
    cache.save()
    return assemble(environment, results)


def compile_workspace(
    workspace: Workspace, environment_name: str | None = None, out_root: Path | None = None
) -> CompileResult:
    """Validate and compile; raises WorkspaceInvalid (writing nothing) when anything is invalid."""
    validation = validate_with_cache(workspace, environment_name)
    if not validation.ok:
        raise WorkspaceInvalid(validation.diagnostics)
    compiled = validation.compiled
    artifacts: list[Artifact] = []
    for target in all_targets():
        artifacts.extend(target(compiled))
    out_dir = (out_root or workspace.root / "build") / compiled.environment.name
    reused = _unchanged(out_dir, compiled.environment.name, artifacts)
    if not reused:
        _write_atomically(out_dir, compiled.environment.name, artifacts)
    return CompileResult(out_dir, artifacts, validation.diagnostics, compiled, reused)


def _unchanged(out_dir: Path, environment: str, artifacts: list[Artifact]) -> bool:
    manifest = out_dir / MANIFEST
    if not manifest.is_file() or manifest.read_bytes() != manifest_bytes(environment, artifacts):
        return False
    return all((out_dir / a.path).is_file() and (out_dir / a.path).read_bytes() == a.content for a in artifacts)


def _write_atomically(out_dir: Path, environment: str, artifacts: list[Artifact]) -> None:
    """Write into a sibling folder and swap it in, so readers never see a half-written build."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.staging-{os.getpid()}"
    retired = out_dir.parent / f".{out_dir.name}.retired-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    for artifact in artifacts:
        target = staging / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artifact.content)
    (staging / MANIFEST).write_bytes(manifest_bytes(environment, artifacts))
    if out_dir.exists():
        out_dir.rename(retired)
    staging.rename(out_dir)
    shutil.rmtree(retired, ignore_errors=True)
