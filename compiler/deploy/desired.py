"""The desired state: the compiled build's manifest expanded into deployable resources, by artifact kind.

A `Resource` is one unit publish writes atomically (a DynamoDB item, a state machine, a pipeline, an S3
object); its `content` is what the semantic diff compares and its `payload` what the writer sends.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from compiler.deploy.diff import content_hash, plain_item
from compiler.errors import UsageError
from compiler.model import EnvironmentConfig
from compiler.orchestration import observability

MANIFEST = "manifest.json"
DEFAULT_OWNER = "ndrc"
# Manifest kinds that are compiled for review and deliberately not deployed by publish.
REVIEW_ONLY_KINDS = {"iam_policy": "for review; roles and their policies are managed outside ndrc, attach it there"}


@dataclass(frozen=True)
class Scope:
    """What one read covers: a project's items (Query), a table (Scan), or one named resource."""

    kind: str
    target: str
    partition: str | None = None

    @property
    def id(self) -> str:
        return json.dumps([self.kind, self.target, self.partition], ensure_ascii=False)

    @classmethod
    def from_id(cls, text: str) -> Scope:
        kind, target, partition = json.loads(text)
        return cls(kind, target, partition)


@dataclass(frozen=True)
class Resource:
    kind: str
    target: str
    label: str
    scope: Scope
    content: Any
    payload: Any
    source: str

    @property
    def id(self) -> str:
        return resource_id(self.kind, self.target, self.label)

    @property
    def content_sha256(self) -> str:
        return content_hash(self.content)


def resource_id(kind: str, target: str, label: str) -> str:
    return json.dumps([kind, target, label], ensure_ascii=False)


@dataclass
class DesiredState:
    environment: str
    source: str
    resources: list[Resource] = field(default_factory=list)
    projects: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    build_dir: Path | None = None


def item_label(table_keys: tuple[str, ...], item: dict[str, Any]) -> str:
    return " / ".join(str(item[name]) for name in table_keys)


def table_layouts(environment: EnvironmentConfig) -> dict[str, tuple[str, ...]]:
    return {environment.parameters_table: ("project_name", "job_name"), environment.routing_table: ("org_key",)}


def _dynamodb(entry: dict[str, Any], text: str, env: EnvironmentConfig, state: DesiredState) -> None:
    table = str(entry["name"])
    keys = table_layouts(env).get(table)
    if keys is None:
        state.unsupported.append(
            f"{entry['path']}: items for table {table!r}, which is neither the parameters "
            f"nor the routing table of environment {env.name!r}"
        )
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        typed = json.loads(line)["Item"]
        if table == env.parameters_table and "owner" not in typed:
            typed["owner"] = {"S": str(env.get("default_owner", DEFAULT_OWNER))}
        content = plain_item(typed)
        missing = [k for k in keys if k not in content]
        if missing:
            raise UsageError(f"{entry['path']}:{number}: item without its key attribute(s) {missing}")
        project = str(content["project_name"]) if "project_name" in content else None
        if table == env.parameters_table:
            scope = Scope("dynamodb_query", table, project)
        else:
            scope = Scope("dynamodb_scan", table)
        if project:
            state.projects.add(project)
        label = item_label(keys, content)
        state.resources.append(Resource("dynamodb_item", table, label, scope, content, typed, entry["path"]))


def _definition(kind: str, role_setting: str, role_key: str):  # type: ignore[no-untyped-def]
    def expand(entry: dict[str, Any], text: str, env: EnvironmentConfig, state: DesiredState) -> None:
        name = str(entry["name"])
        role = env.get(role_setting)
        content = {"definition": json.loads(text, parse_float=Decimal), role_key: role}
        payload = {"definition": text, role_key: role}
        if kind == "state_machine":  # logging and tracing: set by publish, compared by plan
            content.update(observability.settings(env))
            payload.update(observability.settings(env))
        scope = Scope(kind, name)
        state.resources.append(Resource(kind, name, name, scope, content, payload, entry["path"]))

    return expand


def object_uri(entry: dict[str, Any], env: EnvironmentConfig) -> str | None:
    """Where an uploaded artifact goes: its `s3_uri`, else its name if an S3 URI, else its build path under
    the artifacts bucket (`runtime/<sha256>/runtime.zip` -> `s3://<artifacts>/runtime/<sha256>/runtime.zip`)."""
    for candidate in (entry.get("s3_uri"), entry.get("name")):
        if isinstance(candidate, str) and candidate.startswith("s3://"):
            return candidate
    bucket = env.get("buckets.artifacts")
    return f"s3://{bucket}/{entry['path']}" if bucket else None


def _s3_object(entry: dict[str, Any], data: bytes, path: Path, env: EnvironmentConfig, state: DesiredState) -> None:
    uri = object_uri(entry, env)
    if uri is None:
        state.unsupported.append(f"{entry['path']}: {entry['kind']} artifact, but no s3_uri and no buckets.artifacts")
        return
    digest = hashlib.sha256(data).hexdigest()
    content = {"sha256": digest}
    payload = {"file": str(path), "sha256": digest}
    state.resources.append(Resource("s3_object", uri, uri, Scope("s3_object", uri), content, payload, entry["path"]))


EXPANDERS = {
    "dynamodb_items": _dynamodb,
    "state_machine": _definition("state_machine", "roles.state_machine", "roleArn"),
    "sagemaker_pipeline": _definition("sagemaker_pipeline", "roles.sagemaker_execution", "RoleArn"),
}


def _wiring(entry: dict[str, Any], text: str, env: EnvironmentConfig, state: DesiredState) -> None:
    from compiler.deploy import wiring  # queues, subscription, pipe, schedules (compiler/deploy/wiring.py)

    wiring.expand(entry, text, env, state)


EXPANDERS.update(dict.fromkeys(("sqs_queue", "sns_subscription", "pipe", "schedule", "event_rule"), _wiring))
S3_KINDS = {"runtime_bundle", "runtime_archive", "s3_object"}


def read_build(build_dir: Path, env: EnvironmentConfig) -> DesiredState:
    """Expand `<build>/manifest.json`; every file must still have the sha256 the manifest records."""
    manifest_path = build_dir / MANIFEST
    if not manifest_path.is_file():
        raise UsageError(f"no {MANIFEST} in {build_dir}; run `ndrc compile --env {env.name}` first")
    raw = manifest_path.read_bytes()
    manifest = json.loads(raw)
    if manifest.get("environment") != env.name:
        raise UsageError(
            f"{manifest_path} was compiled for environment {manifest.get('environment')!r}, not {env.name!r}"
        )
    state = DesiredState(env.name, hashlib.sha256(raw).hexdigest(), build_dir=build_dir)
    for entry in manifest.get("artifacts", []):
        path = build_dir / entry["path"]
        data = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            raise UsageError(f"{path} does not match the sha256 in {MANIFEST}; recompile")
        kind = str(entry.get("kind"))
        if kind in EXPANDERS:
            EXPANDERS[kind](entry, data.decode("utf-8"), env, state)
        elif kind in S3_KINDS or entry.get("s3_uri"):
            _s3_object(entry, data, path.resolve(), env, state)
        elif kind in REVIEW_ONLY_KINDS:
            state.skipped.append(f"{entry['path']} ({kind}): {REVIEW_ONLY_KINDS[kind]}")
        else:
            state.unsupported.append(f"{entry['path']}: unknown artifact kind {kind!r}; this ndrc cannot publish it")
    return state
