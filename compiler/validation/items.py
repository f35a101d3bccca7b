"""Turning a read spec file into a rendered, schema-checked job item or routes."""

from __future__ import annotations

from typing import Any

from compiler.diagnostics import Diagnostic, Location, error, warning
from compiler.load.specs import SpecFile, SpecPath, template_context
from compiler.load.templating import render_values
from compiler.load.yamlload import LoadedYaml
from compiler.model import JOB_NAMES, EnvironmentConfig, JobItem, Route
from compiler.rule_catalog import (
    ENVELOPE_IGNORED_KEY,
    ENVELOPE_PARAMETERS,
    ENVELOPE_SERVER_MANAGED,
    IDENTITY_DELTA_SPEC,
    IDENTITY_MISMATCH,
    JOB_UNKNOWN,
    SCHEMA,
)
from compiler.validation.fastcheck import plain_numbers
from compiler.validation.schemas import SchemaCatalog
from compiler.validation.suggest import closest
from runtime.contract import PROJECT_PARAMETERS_JOB

ITEM_ATTRIBUTES = ("feature_spec_version", "owner", "tags", "pipeline_defaults", "feature_store")
STRONGLY_TYPED_IDENTITY = "delta_builder"


def build_job_item(
    loaded: SpecFile, environment: EnvironmentConfig, catalog: SchemaCatalog
) -> tuple[JobItem | None, list[Diagnostic]]:
    spec_path, document = loaded.path, loaded.document
    problems = render_values(document, template_context(environment, spec_path))
    body: dict[str, Any] = document.data
    if spec_path.job_name not in JOB_NAMES:
        suggestion = closest(spec_path.job_name, JOB_NAMES)
        hint = f"; did you mean {suggestion!r}?" if suggestion else f" (known: {', '.join(JOB_NAMES)})"
        problems.append(
            error(Location(spec_path.relative, 1, 1), JOB_UNKNOWN, f"unknown job name {spec_path.job_name!r}{hint}")
        )
        return None, problems
    plain = plain_numbers(body)  # converted once for the envelope's and the payload's fast checks
    problems.extend(catalog.validate("item", document, plain=plain))
    problems.extend(_identity_problems(spec_path, document))
    payload_key = _payload_key(spec_path, document, problems)
    if payload_key is None or not isinstance(body.get(payload_key), dict):
        return None, problems
    version = spec_path.feature_spec_version or body.get("feature_spec_version")
    payload: dict[str, Any] = body[payload_key]
    plain_payload = plain.get(payload_key)
    if spec_path.job_name == STRONGLY_TYPED_IDENTITY:
        problems.extend(_delta_identity(spec_path, document, payload, version))
        plain_payload = None  # the payload gained its identity keys: convert it again
    schema_name = f"jobs/{spec_path.job_name}"
    if catalog.has(schema_name):
        problems.extend(catalog.validate(schema_name, document, payload, (payload_key,), plain=plain_payload))
    attributes = {key: body[key] for key in ITEM_ATTRIBUTES if key in body}
    problems.extend(_ignored_keys(document))
    if "updated_at" in body:
        problems.append(
            warning(
                document.locate(("updated_at",), key=True),
                ENVELOPE_SERVER_MANAGED,
                "updated_at is set by `ndrc publish`; the value in the file is ignored",
            )
        )
    item = JobItem(
        project_name=spec_path.project_name,
        job_name=spec_path.job_name,
        feature_spec_version=spec_path.feature_spec_version,
        spec=payload,
        attributes=attributes,
        source=spec_path.relative,
    )
    return item, problems


KNOWN_TOP_LEVEL = frozenset({*ITEM_ATTRIBUTES, "project_name", "job_name", "spec", "parameters", "updated_at"})


def _ignored_keys(document: LoadedYaml) -> list[Diagnostic]:
    """Top-level keys that are neither item attributes nor `x-` extensions (anchor holders) are dropped."""
    return [
        warning(
            document.locate((key,), key=True),
            ENVELOPE_IGNORED_KEY,
            f"{key!r} is not an item attribute and is not compiled; move it under `spec` or prefix it with x-",
        )
        for key in document.data
        if key not in KNOWN_TOP_LEVEL and not str(key).startswith("x-") and not closest(str(key), KNOWN_TOP_LEVEL)
    ]


def without_cascades(problems: list[Diagnostic]) -> list[Diagnostic]:
    """Drop schema findings on a value already reported by a more specific rule (broken YAML or template,
    identity, secrets): one problem, one diagnostic."""
    broken = {(p.line, p.column) for p in problems if p.is_error and not p.rule.startswith(SCHEMA)}
    return [p for p in problems if not (p.rule.startswith(SCHEMA) and (p.line, p.column) in broken)]


def _payload_key(spec_path: SpecPath, document: LoadedYaml, problems: list[Diagnostic]) -> str | None:
    body = document.data
    if "parameters" in body and spec_path.job_name != PROJECT_PARAMETERS_JOB:
        problems.append(
            error(
                document.locate(("parameters",), key=True),
                ENVELOPE_PARAMETERS,
                "only project_parameters may hold its payload under `parameters`; use `spec`",
            )
        )
        return None
    if "parameters" in body and "spec" in body:
        problems.append(
            error(
                document.locate(("parameters",), key=True),
                ENVELOPE_PARAMETERS,
                "write the payload under `spec` or `parameters`, not both",
            )
        )
        return None
    if "spec" in body:
        return "spec"
    if "parameters" in body:
        return "parameters"
    return None  # the item schema reports the missing `spec`


def _identity_problems(spec_path: SpecPath, document: LoadedYaml) -> list[Diagnostic]:
    body = document.data
    expected = {
        "project_name": spec_path.project_name,
        "job_name": spec_path.job_name,
    }
    if spec_path.feature_spec_version:
        expected["feature_spec_version"] = spec_path.feature_spec_version
    problems = []
    for key, value in expected.items():
        written = body.get(key)
        allowed = {value, f"{spec_path.job_name}#{spec_path.feature_spec_version}"} if key == "job_name" else {value}
        if written is not None and written not in allowed:
            problems.append(
                error(
                    document.locate((key,)),
                    IDENTITY_MISMATCH,
                    f"{key} is {written!r} but the file path {spec_path.relative} says {value!r}",
                )
            )
    return problems


def _delta_identity(
    spec_path: SpecPath, document: LoadedYaml, payload: dict[str, Any], version: str | None
) -> list[Diagnostic]:
    """The strongly-typed JobSpec reads its identity from the payload: fill it in, reject contradictions."""
    prefix = "spec" if "spec" in document.data else "parameters"
    if not version:
        return [
            error(
                document.locate(()),
                IDENTITY_DELTA_SPEC,
                "an unversioned delta_builder file must state feature_spec_version (the JobSpec needs it)",
            )
        ]
    expected = {
        "project_name": spec_path.project_name,
        "job_name": spec_path.job_name,
        "feature_spec_version": version,
    }
    problems = []
    for key, value in expected.items():
        if key not in payload:
            payload[key] = value
        elif payload[key] != value:
            problems.append(
                error(
                    document.locate((prefix, key)),
                    IDENTITY_DELTA_SPEC,
                    f"spec.{key} is {payload[key]!r} but must be {value!r} (from the file path)",
                )
            )
    return problems


def build_routes(
    loaded: SpecFile, environment: EnvironmentConfig, catalog: SchemaCatalog
) -> tuple[list[Route], list[Diagnostic]]:
    spec_path, document = loaded.path, loaded.document
    problems = render_values(document, template_context(environment, spec_path))
    problems.extend(catalog.validate("routing", document))
    if any(p.is_error for p in problems):
        return [], problems
    body = document.data
    if body.get("project_name") not in (None, spec_path.project_name):
        problems.append(
            error(
                document.locate(("project_name",)),
                IDENTITY_MISMATCH,
                f"project_name is {body['project_name']!r} but the file path says {spec_path.project_name!r}",
            )
        )
    routes = []
    for index, route in enumerate(body.get("routes") or []):
        where = document.locate(("routes", index))
        routes.append(
            Route(
                org1=route["org1"],
                org2=route["org2"],
                project_name=spec_path.project_name,
                ingestion_prefix=route["ingestion_prefix"],
                feature_spec_version=route.get("feature_spec_version"),
                enabled=route.get("enabled", True),
                source=spec_path.relative,
                line=where.line,
                column=where.column,
            )
        )
    return routes, problems
