"""`ndrc compile --check`: is the build on disk exactly what the specs compile to? (Writes nothing.)

For teams that commit `build/<env>/` so reviewers see compiled diffs: the pre-commit hook
`ndrc-compile-check` fails when a spec changed and the build was not recompiled, or the build was edited.
The comparison covers the manifest and every artifact file, byte for byte; the inputs stamp (`.ndrc-inputs`,
a cache key that also names the ndrc version) is not compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler.compilation.compile import MANIFEST, manifest_bytes, validate_with_cache
from compiler.compilation.sources import read_sources
from compiler.errors import WorkspaceInvalid
from compiler.load.workspace import Workspace
from compiler.targets import all_targets


@dataclass(frozen=True)
class StaleFile:
    path: str
    problem: str  # "changed", "missing" or "unexpected"


@dataclass(frozen=True)
class BuildCheck:
    out_dir: Path
    stale: tuple[StaleFile, ...]

    @property
    def up_to_date(self) -> bool:
        return not self.stale


def _on_disk(out_dir: Path) -> set[str]:
    if not out_dir.is_dir():
        return set()
    return {
        path.relative_to(out_dir).as_posix()
        for path in out_dir.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def check_build(workspace: Workspace, environment_name: str | None = None, out_root: Path | None = None) -> BuildCheck:
    """Compile in memory and compare with `<out>/<env>/`; raises WorkspaceInvalid when the specs are invalid."""
    environment = workspace.environment(environment_name)
    out_dir = (out_root or workspace.root / "build") / environment.name
    validation = validate_with_cache(workspace, environment.name, read_sources(workspace))
    if not validation.ok:
        raise WorkspaceInvalid(validation.diagnostics)
    artifacts = [artifact for target in all_targets() for artifact in target(validation.compiled)]
    expected = {artifact.path: artifact.content for artifact in artifacts}
    expected[MANIFEST] = manifest_bytes(validation.compiled.environment.name, artifacts)
    present = _on_disk(out_dir)
    stale = [StaleFile(path, "missing") for path in sorted(expected.keys() - present)]
    stale += [
        StaleFile(path, "changed")
        for path in sorted(expected.keys() & present)
        if (out_dir / path).read_bytes() != expected[path]
    ]
    stale += [StaleFile(path, "unexpected") for path in sorted(present - expected.keys())]
    return BuildCheck(out_dir, tuple(sorted(stale, key=lambda s: s.path)))
