"""Loading job specs from the parameters table: one GetItem per job, or one BatchGetItem pass."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runtime.config.ddb import decode_item, describe_client_error, dynamodb_client, resolve_table_name
from runtime.config.payload import ProjectParameters
from runtime.contract import PROJECT_PARAMETERS_JOB, sort_key, split_sort_key
from runtime.errors import (
    MissingSpec,
    SpecError,
    SpecNotFoundError,
    SpecsMissingError,
    UnsupportedSpecReferenceError,
)

LoadedSpec = Any
"""A job's typed spec: what its registered `parse_spec` returns (`JobPayload` for unregistered jobs)."""
MAX_BATCH_KEYS = 100


def _payload(item: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    body = item.get("spec", item.get("parameters"))
    if isinstance(body, str):
        if body.startswith(("s3://", "s3a://")):
            raise UnsupportedSpecReferenceError(
                f"{where}: spec is an S3 reference ({body}); S3-referenced specs are unsupported — "
                "store the spec map in the item (the compiler reports oversized specs as errors)"
            )
        try:
            body = json.loads(body)
        except ValueError:
            raise SpecError(f"{where}: spec is a string that is neither a map nor JSON") from None
    if body is None:
        raise SpecError(f"{where}: item has no `spec` (or `parameters`) attribute")
    if not isinstance(body, Mapping):
        raise SpecError(f"{where}: spec must be a map (got {type(body).__name__})")
    return body


def parse_item(item: Mapping[str, Any], table: str) -> LoadedSpec:
    """Turn one decoded parameters-table item into the typed spec its job registers."""
    from runtime.jobs.job import SpecItem, untyped_spec
    from runtime.jobs.registry import job_named

    project, key = str(item.get("project_name", "")), str(item.get("job_name", ""))
    job_name, version = split_sort_key(key)
    version = version or item.get("feature_spec_version")
    where = f"table {table!r} item (project_name={project!r}, job_name={key!r})"
    attributes = {k: v for k, v in item.items() if k not in ("spec", "parameters")}
    spec_item = SpecItem(project, job_name, version, _payload(item, where), attributes, where)
    if job_name == PROJECT_PARAMETERS_JOB:
        return ProjectParameters(project, job_name, version, spec_item.payload, attributes)
    job = job_named(job_name)
    parse: Callable[[SpecItem], Any] = (job.parse_spec if job else None) or untyped_spec
    return parse(spec_item)


def _get(client: Any, table: str, project: str, key: str) -> dict[str, Any] | None:
    try:
        response = client.get_item(TableName=table, Key={"project_name": {"S": project}, "job_name": {"S": key}})
    except ClientError as err:
        raise describe_client_error(err, table, "GetItem") from err
    item = response.get("Item")
    return decode_item(item) if item else None


def _versions(client: Any, table: str, project: str, job: str) -> list[str]:
    try:
        response = client.query(
            TableName=table,
            KeyConditionExpression="project_name = :p AND begins_with(job_name, :j)",
            ExpressionAttributeValues={":p": {"S": project}, ":j": {"S": f"{job}#"}},
            ProjectionExpression="job_name",
        )
    except ClientError as err:
        raise describe_client_error(err, table, "Query") from err
    return sorted(split_sort_key(i["job_name"]["S"])[1] or "" for i in response.get("Items", []))


def load_job_spec(
    project_name: str,
    job_name: str,
    feature_spec_version: str | None = None,
    *,
    table_name: str | None = None,
    client: Any = None,
) -> LoadedSpec:
    """GetItem `job_name#version`, falling back to the legacy unversioned `job_name` item."""
    table = resolve_table_name(table_name)
    client = client or dynamodb_client()
    job, inline_version = split_sort_key(job_name)
    version = feature_spec_version or inline_version
    tried = [sort_key(job, version)] + ([job] if version else [])
    for key in tried:
        item = _get(client, table, project_name, key)
        if item is not None:
            return parse_item(item, table)
    hint = ""
    if not version:
        versions = _versions(client, table, project_name, job)
        if len(versions) == 1:
            return load_job_spec(project_name, job, versions[0], table_name=table, client=client)
        if versions:
            hint = f"; versions present: {', '.join(versions)} — pass feature_spec_version"
    tried_text = " or ".join(repr(k) for k in tried)
    raise SpecNotFoundError(
        f"no spec in table {table!r} for project_name={project_name!r}, job_name={tried_text}{hint}"
    )


def _batch_get(client: Any, table: str, keys: list[dict[str, Any]], max_attempts: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    pending = {table: {"Keys": keys}}
    for attempt in range(max_attempts):
        try:
            response = client.batch_get_item(RequestItems=pending)
        except ClientError as err:
            raise describe_client_error(err, table, "BatchGetItem") from err
        found += response.get("Responses", {}).get(table, [])
        pending = response.get("UnprocessedKeys") or {}
        if not pending:
            return found
        time.sleep(min(0.05 * 2**attempt, 2.0))
    left = len(pending.get(table, {}).get("Keys", []))
    raise SpecError(f"BatchGetItem on {table!r}: {left} keys still unprocessed after {max_attempts} attempts")


@dataclass(frozen=True)
class ResolvedSpecs:
    """`resolve_job_specs`'s result: job name -> typed spec, and the sort key each job resolved to
    (`job#version` or legacy `job`)."""

    specs: dict[str, LoadedSpec]
    keys: dict[str, str]


def _only_version(
    client: Any, table: str, project: str, job: str, items: dict[str, dict[str, Any]]
) -> tuple[str | None, str]:
    """Without a version, like load_job_spec: the only `job#<v>` item (added to `items`), else a hint."""
    versions = _versions(client, table, project, job)
    if len(versions) != 1:
        return None, (f" (versions present: {', '.join(versions)})" if versions else "")
    key = sort_key(job, versions[0])
    item = _get(client, table, project, key)
    if item is None:
        return None, ""
    items[key] = item
    return key, ""


def resolve_job_specs(
    project_name: str,
    job_names: Sequence[str],
    feature_spec_version: str | None = None,
    *,
    table_name: str | None = None,
    client: Any = None,
    max_attempts: int = 8,
) -> ResolvedSpecs:
    """Every spec a pipeline needs in one BatchGetItem pass (unprocessed keys retried with backoff).

    Each job resolves to `job#version` when present, else its legacy unversioned item; without a
    version, like `load_job_spec`, a job with no legacy item takes its only `job#<v>` item. Every job
    left unresolved is reported in one `SpecsMissingError`.
    """
    table = resolve_table_name(table_name)
    client = client or dynamodb_client()
    jobs = list(dict.fromkeys(job_names))
    wanted = {sort_key(job, feature_spec_version) for job in jobs} | set(jobs)
    keys = [{"project_name": {"S": project_name}, "job_name": {"S": k}} for k in sorted(wanted)]
    items: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), MAX_BATCH_KEYS):
        for raw in _batch_get(client, table, keys[start : start + MAX_BATCH_KEYS], max_attempts):
            item = decode_item(raw)
            items[str(item["job_name"])] = item
    resolved = ResolvedSpecs({}, {})
    missing: list[MissingSpec] = []
    for job in jobs:
        key = next((k for k in (sort_key(job, feature_spec_version), job) if k in items), None)
        hint = ""
        if key is None and not feature_spec_version:
            key, hint = _only_version(client, table, project_name, job, items)
        if key is None:
            tried = tuple(dict.fromkeys((sort_key(job, feature_spec_version), job)))
            missing.append(MissingSpec(job, tried, hint))
            continue
        resolved.specs[job] = parse_item(items[key], table)
        resolved.keys[job] = key
    if missing:
        raise SpecsMissingError(table, project_name, tuple(missing))
    return resolved
