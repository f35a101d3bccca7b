"""Semantic checks that JSON Schema cannot express: window policy, secrets, operators, routing, wiring."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import referencing

from compiler.diagnostics import Diagnostic, Location, error, warning
from compiler.load.yamlload import JsonPath, LoadedYaml
from compiler.model import JobItem, Route
from compiler.rule_catalog import (
    IDENTITY_MISMATCH,
    OPERATOR_PARAMS,
    OPERATOR_UNKNOWN,
    ROUTING_DUPLICATE_ORG_KEY,
    ROUTING_ORG_KEY_CONFLICT,
    ROUTING_PREFIX,
    ROUTING_UNKNOWN_VERSION,
    SECRET_ARN,
    SECRET_PLAINTEXT,
    WINDOW_CRON,
    WINDOW_FLOOR,
)
from compiler.validation.fastcheck import FastValidator, compile_fast_validator, is_valid
from compiler.validation.suggest import closest
from runtime import contract
from runtime.contract import PROJECT_PARAMETERS_JOB

SECRETS_MANAGER_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+")
SECRET_REFERENCE = re.compile(
    r"(arn:aws[a-z-]*:(secretsmanager|ssm|kms):.*|\{\{resolve:(secretsmanager|ssm-secure):.*)"
)
SECRET_KEY = re.compile(r"(password|passwd|pwd|secret|token|api_?key|private_?key|access_?key|credentials?)", re.I)
REFERENCE_SUFFIXES = ("_arn", "_name", "_id", "_ref", "_prefix", "_location", "_path", "_uri", "_column", "_key_id")
AWS_ACCESS_KEY = re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")


def window_policy(item: JobItem, document: LoadedYaml, payload_key: str) -> list[Diagnostic]:
    defaults = item.spec.get("defaults")
    if item.job_name != PROJECT_PARAMETERS_JOB or not isinstance(defaults, dict):
        return []
    problems = []
    cron = defaults.get("WindowCronExpression")
    if cron is not None and cron != contract.WINDOW_CRON_EXPRESSION:
        problems.append(
            error(
                document.locate((payload_key, "defaults", "WindowCronExpression")),
                WINDOW_CRON,
                f"WindowCronExpression is {cron!r}; the batch window policy fixes it to "
                f"{contract.WINDOW_CRON_EXPRESSION!r}",
            )
        )
    floors = defaults.get("WindowFloorMinutes")
    if floors is not None and floors != list(contract.WINDOW_FLOOR_MINUTES):
        problems.append(
            error(
                document.locate((payload_key, "defaults", "WindowFloorMinutes")),
                WINDOW_FLOOR,
                f"WindowFloorMinutes is {_plain(floors)}; the batch window policy fixes it to "
                f"{list(contract.WINDOW_FLOOR_MINUTES)}",
            )
        )
    for key, expected in (("ProjectName", item.project_name), ("FeatureSpecVersion", item.feature_spec_version)):
        written = defaults.get(key)
        if written is not None and expected is not None and written != expected:
            problems.append(
                error(
                    document.locate((payload_key, "defaults", key)),
                    IDENTITY_MISMATCH,
                    f"defaults.{key} is {written!r} but the file path says {expected!r}",
                )
            )
    return problems


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return int(value) if hasattr(value, "to_integral_value") and value == value.to_integral_value() else value


def secrets(document: LoadedYaml) -> list[Diagnostic]:
    """No plaintext secrets: secret_arn must be a Secrets Manager ARN; password-like keys hold references."""
    return list(_secret_findings(document, document.data, ()))


def _secret_findings(document: LoadedYaml, value: Any, json_path: JsonPath) -> Iterator[Diagnostic]:
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, str) and isinstance(key, str):
                kind = _key_kind(key)
                if kind != "plain" or "AKIA" in child or "ASIA" in child:  # the access-key id prefixes
                    yield from _check_secret_value(document, key, kind, child, (*json_path, key))
            elif isinstance(child, dict | list) or (isinstance(child, str) and ("AKIA" in child or "ASIA" in child)):
                yield from _secret_findings(document, child, (*json_path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, dict | list) or (isinstance(child, str) and ("AKIA" in child or "ASIA" in child)):
                yield from _secret_findings(document, child, (*json_path, index))
    elif isinstance(value, str) and AWS_ACCESS_KEY.search(value):
        yield error(document.locate(json_path), SECRET_PLAINTEXT, "value looks like an AWS access key id")


@functools.lru_cache(maxsize=4096)
def _key_kind(key: str) -> str:
    """`arn` (must hold a Secrets Manager ARN), `secret` (must not hold a literal) or `plain`; keys repeat
    across thousands of files, so each is classified once."""
    lowered = key.lower()
    if lowered == "secret_arn" or lowered.endswith("_secret_arn"):
        return "arn"
    if SECRET_KEY.search(lowered) and not lowered.endswith(REFERENCE_SUFFIXES):
        return "secret"
    return "plain"


def _check_secret_value(
    document: LoadedYaml, key: str, kind: str, value: str, json_path: JsonPath
) -> Iterator[Diagnostic]:
    if kind == "arn":
        if not SECRETS_MANAGER_ARN.fullmatch(value):
            yield error(
                document.locate(json_path),
                SECRET_ARN,
                f"{key} must be a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
            )
        return
    if AWS_ACCESS_KEY.search(value):
        yield error(document.locate(json_path), SECRET_PLAINTEXT, f"{key}: value looks like an AWS access key id")
        return
    literal = value.strip() and not SECRET_REFERENCE.fullmatch(value)
    if kind == "secret" and literal:
        yield error(
            document.locate(json_path),
            SECRET_PLAINTEXT,
            f"{key} holds a literal value; store the secret in Secrets Manager and reference it by ARN "
            "(the value is not shown)",
        )


def operators(
    item: JobItem, document: LoadedYaml, payload_key: str, catalog: dict[str, dict[str, Any]] | None
) -> list[Diagnostic]:
    """delta_builder operators must name a registered operator; params are checked by its schema."""
    listed = item.spec.get("operators")
    if item.job_name != "delta_builder" or not isinstance(listed, list) or catalog is None:
        return []
    problems = []
    for index, operator in enumerate(listed):
        if not isinstance(operator, dict) or not isinstance(operator.get("type"), str):
            continue
        name = operator["type"]
        path = (payload_key, "operators", index, "type")
        if name not in catalog:
            suggestion = closest(name, catalog)
            hint = f"; did you mean {suggestion!r}?" if suggestion else f" (known: {', '.join(sorted(catalog))})"
            problems.append(error(document.locate(path), OPERATOR_UNKNOWN, f"unknown operator {name!r}{hint}"))
            continue
        params = _jsonable(operator.get("params", {}))
        fast, full = _params_checkers(catalog[name]["params"])
        if fast is not None and is_valid(fast, params):
            continue
        for failure in full.iter_errors(params):
            where = ".".join(str(p) for p in failure.absolute_path)
            problems.append(
                error(
                    document.locate((payload_key, "operators", index, "params", *failure.absolute_path)),
                    OPERATOR_PARAMS,
                    f"operator {name!r} params{('.' + where) if where else ''}: {failure.message}",
                )
            )
    return problems


_PARAMS_CHECKERS: dict[int, tuple[dict[str, Any], FastValidator | None, Any]] = {}


def _params_checkers(schema: dict[str, Any]) -> tuple[FastValidator | None, Any]:
    """The compiled fast check and the locating validator of an operator's params schema, built once per
    schema (the catalog is process-wide data; a delta spec lists several operators)."""
    cached = _PARAMS_CHECKERS.get(id(schema))
    if cached is None or cached[0] is not schema:
        from jsonschema import Draft202012Validator  # only where a check fails (see schemas._validator_class)

        fast = compile_fast_validator(schema, referencing.Registry().resolver())
        cached = _PARAMS_CHECKERS[id(schema)] = (schema, fast, Draft202012Validator(schema))
    return cached[1], cached[2]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_integral_value") and not isinstance(value, bool):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def routing(routes: list[Route], known_versions: dict[str, set[str]]) -> list[Diagnostic]:
    """One project per org_key; routes name versions the project has."""
    problems = []
    owners: dict[str, Route] = {}
    for route in sorted(routes, key=lambda r: (r.source, r.line)):
        location = Location(route.source, route.line, route.column)
        first = owners.get(route.org_key)
        if first is None:
            owners[route.org_key] = route
        elif first.project_name == route.project_name:
            problems.append(
                error(
                    location,
                    ROUTING_DUPLICATE_ORG_KEY,
                    f"org_key {route.org_key!r} is listed twice (first at line {first.line})",
                )
            )
        else:
            problems.append(
                error(
                    location,
                    ROUTING_ORG_KEY_CONFLICT,
                    f"org_key {route.org_key!r} already belongs to project {first.project_name!r} "
                    f"({first.source}:{first.line}); an org_key may belong to one project only",
                )
            )
        versions = known_versions.get(route.project_name, set())
        if route.feature_spec_version and route.feature_spec_version not in versions:
            problems.append(
                error(
                    location,
                    ROUTING_UNKNOWN_VERSION,
                    f"feature_spec_version {route.feature_spec_version!r} has no project_parameters#"
                    f"{route.feature_spec_version} in project {route.project_name!r}",
                )
            )
        if not route.ingestion_prefix.rstrip("/").endswith(f"/{route.org1}/{route.org2}"):
            problems.append(
                warning(
                    location,
                    ROUTING_PREFIX,
                    f"ingestion_prefix {route.ingestion_prefix!r} does not end with /{route.org1}/{route.org2}",
                )
            )
    return problems
