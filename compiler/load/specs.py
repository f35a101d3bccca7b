"""Discovering spec files and reading one: its identity from the path and its YAML document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.diagnostics import Diagnostic, Location, error
from compiler.load.symlinks import scan_specs
from compiler.load.yamlload import LoadedYaml, load_yaml
from compiler.model import EnvironmentConfig
from compiler.rule_catalog import IO_READ, PATH_LAYOUT, PATH_PROJECT, PATH_VERSION, SPEC_SHAPE

ROUTING_FILE = "routing.yaml"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class SpecPath:
    """What a spec file's path says: `specs/<project>/<job>#<version>.yaml` or `.../routing.yaml`."""

    relative: str
    project_name: str
    job_name: str
    feature_spec_version: str | None

    @property
    def is_routing(self) -> bool:
        return self.job_name == "routing" and self.feature_spec_version is None


@dataclass
class SpecFile:
    """A spec file read from disk: what its path says and its YAML document."""

    path: SpecPath
    document: LoadedYaml


def discover(specs_dir: Path, workspace_root: Path) -> list[tuple[Path, str]]:
    """Every regular file under specs/ (hidden ones aside) with its workspace-relative posix path, sorted;
    what is refused (see `compiler.load.symlinks`) is reported by `scan_specs`."""
    return list(scan_specs(specs_dir, workspace_root).files)


def parse_spec_path(relative: str) -> tuple[SpecPath | None, list[Diagnostic]]:
    """Identity from the path; `relative` is workspace-relative with forward slashes."""
    location = Location(relative, 1, 1)
    parts = relative.split("/")
    if not relative.endswith(".yaml"):
        hint = " (rename it to .yaml)" if relative.endswith(".yml") else ""
        return None, [error(location, PATH_LAYOUT, f"only .yaml files belong under specs/{hint}")]
    if len(parts) != 3:
        return None, [error(location, PATH_LAYOUT, "spec files live at specs/<project>/<job_name>#<version>.yaml")]
    project, filename = parts[1], parts[2].removesuffix(".yaml")
    problems = []
    if not NAME_PATTERN.fullmatch(project):
        problems.append(error(location, PATH_PROJECT, f"{project!r} is not a valid project name"))
    job_name, _, version = filename.partition("#")
    if "#" in version:
        problems.append(error(location, PATH_LAYOUT, "a spec file name holds at most one '#'"))
    if version and not VERSION_PATTERN.fullmatch(version):
        problems.append(
            error(location, PATH_VERSION, f"{version!r} is not a valid feature_spec_version (letters, digits, ._-)")
        )
    if "#" in filename and not version:
        problems.append(error(location, PATH_VERSION, "empty feature_spec_version after '#'"))
    if problems:
        return None, problems
    return SpecPath(relative, project, job_name, version or None), []


def read_spec(path: Path, relative: str, content: bytes | None = None) -> tuple[SpecFile | None, list[Diagnostic]]:
    """Parse one spec file: `content` when the caller already read its bytes, else the file."""
    spec_path, problems = parse_spec_path(relative)
    if spec_path is None:
        return None, problems
    try:
        raw = path.read_bytes() if content is None else content
    except OSError as exc:
        return None, [error(Location(relative), IO_READ, f"cannot read file: {exc.strerror}")]
    document, problems = load_yaml(relative, raw)
    if document is None:
        return None, problems
    if not isinstance(document.data, dict):
        found = "an empty file" if document.data is None else f"a {type(document.data).__name__}"
        what = "a routing file is a mapping with `routes:`" if spec_path.is_routing else "a spec file is a mapping"
        problems.append(error(document.locate(()), SPEC_SHAPE, f"{what}, found {found}"))
        return None, problems
    return SpecFile(spec_path, document), problems


def template_context(environment: EnvironmentConfig, spec_path: SpecPath) -> dict[str, Any]:
    return {
        "env": {**environment.settings, "name": environment.name},
        "project_name": spec_path.project_name,
        "job_name": spec_path.job_name,
        "feature_spec_version": spec_path.feature_spec_version,
    }
