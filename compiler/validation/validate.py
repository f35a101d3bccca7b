"""Validate a whole workspace: every file, every rule, every problem collected (library API)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.diagnostics import Diagnostic, DiagnosticBag, Location, error, warning
from compiler.dynamodb_json import MAX_ITEM_BYTES, item_line, item_size
from compiler.load.specs import ROUTING_FILE, SpecFile, read_spec
from compiler.load.symlinks import scan_specs
from compiler.load.workspace import Workspace
from compiler.load.yamlload import JsonPath, LoadedYaml
from compiler.model import CompiledWorkspace, EnvironmentConfig, JobItem, Route
from compiler.rule_catalog import ITEM_TOO_LARGE, NUMBER_DYNAMODB, PROJECT_MISSING_PARAMETERS, WORKSPACE_EMPTY
from compiler.validation import rules, rules_sql, wiring
from compiler.validation.items import build_job_item, build_routes, without_cascades
from compiler.validation.numbers import plain_number_problems
from compiler.validation.schemas import SchemaCatalog
from runtime.contract import PROJECT_PARAMETERS_JOB


@dataclass
class FileResult:
    """What one spec file contributed: its item or routes and its own diagnostics (cacheable)."""

    relative: str
    item: JobItem | None = None
    routes: list[Route] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    payload_key: str = "spec"

    def locate(self, json_path: JsonPath) -> Location:
        return LoadedYaml(self.relative, None, self.positions).locate(json_path)


@dataclass
class ValidationResult:
    compiled: CompiledWorkspace
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def operator_catalog() -> dict[str, dict[str, Any]] | None:
    """The runtime's operator registry as plain data (importable without Spark), if present."""
    try:
        module = importlib.import_module("runtime.operator_catalog")
    except ImportError:
        return None
    return getattr(module, "OPERATOR_CATALOG", None)


def validate_file(
    path: Path, relative: str, environment: EnvironmentConfig, catalog: SchemaCatalog, content: bytes | None = None
) -> FileResult:
    """Everything that can be checked looking at one file alone (`content`: its bytes, if already read)."""
    result = _checked_file(path, relative, environment, catalog, content)
    result.diagnostics = without_cascades(result.diagnostics)
    return result


def _checked_file(
    path: Path, relative: str, environment: EnvironmentConfig, catalog: SchemaCatalog, content: bytes | None
) -> FileResult:
    result = FileResult(relative)
    loaded, problems = read_spec(path, relative, content)
    result.diagnostics.extend(problems)
    if loaded is None:
        return result
    if loaded.path.is_routing:
        result.routes, problems = build_routes(loaded, environment, catalog)
        result.diagnostics.extend(problems)
        return result
    item, problems = build_job_item(loaded, environment, catalog)
    result.diagnostics.extend(problems)
    if item is None:
        return result
    result.payload_key = "spec" if "spec" in loaded.document.data else "parameters"
    result.diagnostics.extend(_item_rules(item, loaded, result.payload_key))
    result.item = item
    result.positions = _wiring_positions(loaded.document, item.job_name, result.payload_key)
    return result


def _wiring_positions(document: LoadedYaml, job_name: str, payload_key: str) -> dict[JsonPath, tuple[int, int]]:
    """Only the positions cross-file rules may point at, so cached results stay small."""
    kept: dict[JsonPath, tuple[int, int]] = {}
    for path in wiring.consumer_paths(job_name):
        full = (payload_key, *path)
        for depth in range(len(full) + 1):
            prefix = full[:depth]
            if prefix in document.positions:
                kept[prefix] = document.positions[prefix]
    return kept


def _item_rules(item: JobItem, loaded: SpecFile, payload_key: str) -> list[Diagnostic]:
    document = loaded.document
    problems = rules.window_policy(item, document, payload_key)
    problems.extend(rules.secrets(document))
    problems.extend(rules.operators(item, document, payload_key, operator_catalog()))
    problems.extend(rules_sql.inventory_sql(item, document, payload_key))
    problems.extend(
        error(document.locate(path), NUMBER_DYNAMODB, message) for path, message in plain_number_problems(document.data)
    )
    encoded = item_line(item.as_item())
    # DynamoDB's size of an item never exceeds the length of its DynamoDB JSON line (every name and value
    # is in the line, plus quotes, type tags and separators), so only a long line needs the exact size.
    size = item_size(item.as_item()) if len(encoded.encode("utf-8")) > MAX_ITEM_BYTES else 0
    if size <= MAX_ITEM_BYTES:
        object.__setattr__(item, "encoded", encoded)
    if size > MAX_ITEM_BYTES:
        problems.append(
            error(
                Location(loaded.path.relative, 1, 1),
                ITEM_TOO_LARGE,
                f"the compiled item is {size:,} bytes; DynamoDB items are limited to {MAX_ITEM_BYTES:,} bytes "
                "(split the spec or move bulky lists to S3 and reference them)",
            )
        )
    return problems


def workspace_rules(results: list[FileResult]) -> list[Diagnostic]:
    """Checks across files: routing ownership, wiring between jobs, versions without parameters."""
    items = [r.item for r in results if r.item is not None]
    by_source = {r.relative: r for r in results}
    known_versions: dict[str, set[str]] = {}
    for item in items:
        if item.job_name == PROJECT_PARAMETERS_JOB and item.feature_spec_version:
            known_versions.setdefault(item.project_name, set()).add(item.feature_spec_version)
    problems = rules.routing([route for r in results for route in r.routes], known_versions)
    problems.extend(
        wiring.check(
            items,
            lambda source, json_path: by_source[source].locate(json_path),
            lambda item: by_source[item.source].payload_key,
        )
    )
    for item in items:
        version = item.feature_spec_version
        if (
            version
            and item.job_name != PROJECT_PARAMETERS_JOB
            and version not in known_versions.get(item.project_name, set())
        ):
            problems.append(
                warning(
                    Location(item.source, 1, 1),
                    PROJECT_MISSING_PARAMETERS,
                    f"project {item.project_name!r} has no project_parameters#{version}; orchestration cannot "
                    "resolve this version's defaults",
                )
            )
    return problems


def validate_workspace(
    workspace: Workspace,
    environment: EnvironmentConfig,
    *,
    catalog: SchemaCatalog | None = None,
    files: list[tuple[Path, str]] | None = None,
    file_results: dict[str, FileResult] | None = None,
    refused: list[Diagnostic] | None = None,
) -> ValidationResult:
    """The collector: every spec file's diagnostics, then the rules across files, in one sorted list.

    `files` (default: the walk of specs/, `compiler/load/symlinks.py`) are `(path, workspace-relative path)`
    pairs; `file_results` holds results already known for some of them (the compilation's cache and its
    parallel path); `refused` are the located problems of entries the walk refused (links, FIFOs)."""
    refused = list(refused or [])
    if files is None:
        tree = scan_specs(workspace.specs_dir, workspace.root)
        listed, refused = list(tree.files), [*tree.problems, *refused]
    else:
        listed = files
    known = file_results or {}
    results = []
    for path, relative in sorted(listed, key=lambda pair: pair[1]):
        result = known.get(relative)
        if result is None:
            catalog = catalog or SchemaCatalog.default()
            result = validate_file(path, relative, environment, catalog)
        results.append(result)
    results.extend(refused_entries(refused))
    return assemble(environment, results)


def refused_entries(problems: list[Diagnostic]) -> list[FileResult]:
    """Entries under specs/ the walk refused, as results holding their one located problem."""
    return [FileResult(problem.path, diagnostics=[problem]) for problem in problems]


def assemble(environment: EnvironmentConfig, results: list[FileResult]) -> ValidationResult:
    bag = DiagnosticBag()
    for result in results:
        bag.extend(result.diagnostics)
    bag.extend(workspace_rules(results))
    compiled = CompiledWorkspace(
        environment,
        items=sorted((r.item for r in results if r.item), key=lambda i: (i.project_name, i.sort_key)),
        routes=sorted((route for r in results for route in r.routes), key=lambda r: r.org_key),
    )
    if not compiled.items and not compiled.routes and not bag.has_errors:
        bag.add(error(Location("specs", 1, 1), WORKSPACE_EMPTY, "no spec files under specs/"))
    return ValidationResult(compiled, bag.sorted())


__all__ = ["ROUTING_FILE", "FileResult", "ValidationResult", "validate_file", "validate_workspace"]
