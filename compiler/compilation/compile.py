"""`compile_workspace`: validate, run every target, write `<out>/<env>/` atomically with its manifest."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import multiprocessing as mp
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.compilation.cache import FileCache, inputs_fingerprint
from compiler.compilation.sources import Source, read_sources
from compiler.compilation.uptodate import record_build, recorded_build, selection
from compiler.diagnostics import Diagnostic
from compiler.errors import UsageError, WorkspaceInvalid
from compiler.load.workspace import Workspace
from compiler.model import Artifact, CompiledWorkspace, EnvironmentConfig

if TYPE_CHECKING:
    from compiler.validation.schemas import SchemaCatalog
    from compiler.validation.validate import FileResult, ValidationResult

# The validators (jsonschema, fastjsonschema, Jinja) and the targets are imported by the functions that use
# them: an unchanged recompile only hashes its inputs and never needs them.

MANIFEST = "manifest.json"
BUILD_STAMP = ".ndrc-inputs"
PARALLEL_THRESHOLD = 400
MAX_WORKERS = 4


@dataclass
class CompileResult:
    out_dir: Path
    artifacts: list[Artifact]
    diagnostics: list[Diagnostic]
    compiled: CompiledWorkspace | None
    reused: bool = False
    warnings: list[Diagnostic] = field(default_factory=list)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def manifest_bytes(environment: str, artifacts: list[Artifact], digests: dict[str, str] | None = None) -> bytes:
    entries = []
    for artifact in sorted(artifacts, key=lambda a: a.path):
        entry: dict[str, object] = {
            "kind": artifact.kind,
            "name": artifact.name,
            "path": artifact.path,
            "sha256": digests[artifact.path] if digests is not None else sha256(artifact.content),
            "sources": list(artifact.sources),
        }
        if artifact.role:
            entry["role"] = artifact.role
        entries.append(entry)
    document = {"environment": environment, "artifacts": entries}
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while files are validated. Validation builds many small containers
    that live until the build is written (YAML nodes, positions, items) and almost no reference cycles, so
    each collection rescans a growing heap for nothing: about a fifth of a cold compile's CPU time.
    Whatever cycles a batch leaves (e.g. jsonschema errors of invalid files) are collected once it is on:
    what the pause allocated goes straight to the oldest generation (freeze, then unfreeze), so resuming
    does not scan it all at once in a young collection; a full collection reclaims its cycles as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def validate_with_cache(
    workspace: Workspace,
    environment_name: str | None = None,
    sources: tuple[list[Source], list[Diagnostic]] | None = None,
) -> ValidationResult:
    """Validate the workspace, reusing per-file results whose content hash is unchanged."""
    from compiler.validation.schemas import SchemaCatalog
    from compiler.validation.validate import validate_workspace

    environment = workspace.environment(environment_name)
    catalog = SchemaCatalog.default()
    # Paused from the start: decoding 17,000 cached results allocates as much as validating does.
    with collector_paused():
        cache = FileCache.open(workspace, environment)
        results: dict[str, FileResult] = {}
        pending: list[Source] = []
        files, refused = sources if sources is not None else read_sources(workspace)
        for source in files:
            cached = cache.get(source.relative, source.digest)
            if cached is None:
                pending.append(source)
            else:
                results[source.relative] = cached
        for source, result in zip(pending, validate_files(pending, environment, catalog), strict=True):
            cache.put(source.relative, source.digest, result)
            results[source.relative] = result
        cache.retain(set(results))
        cache.save()
        listed = [(source.path, source.relative) for source in files]
        return validate_workspace(
            workspace, environment, catalog=catalog, files=listed, file_results=results, refused=refused
        )


def _validate_chunk(chunk: list[tuple[Path, str, bytes | None]], environment: EnvironmentConfig) -> list[FileResult]:
    from compiler.validation.schemas import SchemaCatalog
    from compiler.validation.validate import validate_file

    catalog = SchemaCatalog.default()
    with collector_paused():
        return [validate_file(path, relative, environment, catalog, content) for path, relative, content in chunk]


def validate_files(pending: list[Source], environment: EnvironmentConfig, catalog: SchemaCatalog) -> list[FileResult]:
    """Validate files, in worker processes when there are many (each file is independent). A file whose
    bytes were read to hash them is validated from those bytes: the result cached under a digest is the
    result of exactly the hashed content, even if the file changes meanwhile."""
    from compiler.validation.schemas import SchemaCatalog
    from compiler.validation.validate import validate_file

    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(pending) < PARALLEL_THRESHOLD or workers < 2 or "fork" not in mp.get_all_start_methods():
        return [validate_file(source.path, source.relative, environment, catalog, source.content) for source in pending]
    SchemaCatalog.default().warm()  # the workers inherit the compiled validators
    size = max(1, len(pending) // (workers * 4))
    chunks = [[(s.path, s.relative, s.content) for s in pending[i : i + size]] for i in range(0, len(pending), size)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
        return [result for chunk in pool.map(_validate_chunk, chunks, [environment] * len(chunks)) for result in chunk]


def compile_workspace(
    workspace: Workspace, environment_name: str | None = None, out_root: Path | None = None
) -> CompileResult:
    """Validate and compile; raises WorkspaceInvalid (writing nothing) when anything is invalid.

    When every input (spec files, schemas, environment, ndrc version) hashes as for the build already in
    `<out>/<env>/` and that build is intact, nothing is recomputed.
    """
    environment = workspace.environment(environment_name)
    out_dir = (out_root or workspace.root / "build") / environment.name
    if workspace.config_sha256 is not None:
        recorded = recorded_build(workspace.root, workspace.config_sha256, environment_name, out_root)
        stored = _stored_build(out_dir, None) if recorded is not None and recorded.out_dir == out_dir else None
        if stored is not None:
            return CompileResult(out_dir, stored, [], None, reused=True)
    with collector_paused():
        sources = read_sources(workspace)
    stamp = inputs_fingerprint(environment, [(source.relative, source.digest) for source in sources[0]])
    stored = _stored_build(out_dir, stamp) if not sources[1] else None
    if stored is not None:
        _record(
            workspace,
            environment_name,
            out_root,
            sources[0],
            out_dir,
            stored,
            stamp,
            {artifact.path: sha256(artifact.content) for artifact in stored},
        )
        return CompileResult(out_dir, stored, [], None, reused=True)
    with collector_paused():  # one pause for the whole build: each resume rescans what the pause allocated
        validation = validate_with_cache(workspace, environment.name, sources)
        if not validation.ok:
            raise WorkspaceInvalid(validation.diagnostics)
        from compiler.targets import all_targets

        compiled = validation.compiled
        artifacts: list[Artifact] = []
        for target in all_targets():
            artifacts.extend(target(compiled))
        digests = {artifact.path: sha256(artifact.content) for artifact in artifacts}
        manifest_sha256 = _write_atomically(out_dir, compiled.environment.name, artifacts, stamp, digests)
    _record(workspace, environment_name, out_root, sources[0], out_dir, artifacts, stamp, digests, manifest_sha256)
    return CompileResult(out_dir, artifacts, validation.diagnostics, compiled)


def _record(
    workspace: Workspace,
    environment_name: str | None,
    out_root: Path | None,
    sources: list[Source],
    out_dir: Path,
    artifacts: list[Artifact],
    stamp: str,
    digests: dict[str, str],
    manifest_sha256: str | None = None,
) -> None:
    """The build record `compiler.compilation.uptodate` decides the next unchanged compile from
    (`manifest_sha256`: the written manifest's, else computed)."""
    if workspace.config_sha256 is None:
        return
    environment = workspace.environment(environment_name).name
    files = [
        *digests.items(),
        (MANIFEST, manifest_sha256 or sha256(manifest_bytes(environment, artifacts, digests))),
        (BUILD_STAMP, sha256(f"{stamp}\n".encode())),
    ]
    record_build(
        workspace.root,
        selection(workspace.root, environment_name, out_root),
        workspace.config_sha256,
        [(source.relative, source.stat) for source in sources],
        out_dir,
        files,
        len(artifacts),
    )


def _stored_build(out_dir: Path, stamp: str | None) -> list[Artifact] | None:
    """The artifacts of the build in out_dir if it was made from these inputs (a stamp of None: known to
    be) and no file of it was touched since (each file read once: hashed and kept), else None."""
    try:
        if stamp is not None and (out_dir / BUILD_STAMP).read_text(encoding="utf-8").strip() != stamp:
            return None
        artifacts = []
        for entry in json.loads((out_dir / MANIFEST).read_bytes())["artifacts"]:
            content = (out_dir / entry["path"]).read_bytes()
            if sha256(content) != entry["sha256"]:
                return None
            artifacts.append(
                Artifact(
                    kind=entry["kind"],
                    name=entry["name"],
                    path=entry["path"],
                    content=content,
                    sources=tuple(entry["sources"]),
                    role=entry.get("role"),
                )
            )
        return artifacts
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_atomically(
    out_dir: Path, environment: str, artifacts: list[Artifact], stamp: str, digests: dict[str, str] | None = None
) -> str:
    """Write into a sibling folder and swap it in, so readers never see a half-written build. If anything
    fails, the previous build stays in place and nothing is left behind. Returns the manifest's SHA-256."""
    staging = out_dir.parent / f".{out_dir.name}.staging-{os.getpid()}"
    retired = out_dir.parent / f".{out_dir.name}.retired-{os.getpid()}"
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(out_dir)
        for artifact in artifacts:
            target = staging / artifact.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(artifact.content)
        manifest = manifest_bytes(environment, artifacts, digests)
        (staging / MANIFEST).write_bytes(manifest)
        (staging / BUILD_STAMP).write_text(stamp + "\n", encoding="utf-8")
        if out_dir.exists():
            out_dir.rename(retired)
        try:
            staging.rename(out_dir)
        except OSError:
            if retired.exists():
                retired.rename(out_dir)
            raise
    except OSError as problem:
        shutil.rmtree(staging, ignore_errors=True)
        raise UsageError(f"cannot write the build into {out_dir}: {problem.strerror or problem}") from None
    shutil.rmtree(retired, ignore_errors=True)
    return sha256(manifest)


def _remove_leftovers(out_dir: Path) -> None:
    """Staging and retired folders of compiles that were killed mid-swap (their process is gone)."""
    for leftover in out_dir.parent.glob(f".{out_dir.name}.*-*"):
        kind, _, pid = leftover.name.rpartition("-")
        if not kind.endswith((".staging", ".retired")) or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue
