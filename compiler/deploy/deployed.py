"""Reading what is deployed: a Query per project, the routing table, state machines, pipelines, S3 objects.

Every read is by scope (see `desired.Scope`); scopes are read in parallel. DynamoDB reads are strongly
consistent so a plan taken right after a publish sees that publish.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from compiler.deploy import wiring
from compiler.deploy.aws import Aws, error_code, translated
from compiler.deploy.desired import Scope, item_label, resource_id
from compiler.deploy.diff import content_hash, plain_item
from compiler.deploy.owned import OWNED_KINDS, OWNED_SCOPE, state_machine_arn
from compiler.errors import UsageError
from compiler.orchestration import observability

HASH_ATTRIBUTE = "content_sha256"
UPDATED_ATTRIBUTE = "updated_at"
SERVER_MANAGED = (HASH_ATTRIBUTE, UPDATED_ATTRIBUTE)
READ_WORKERS = 16


@dataclass(frozen=True)
class Deployed:
    kind: str
    target: str
    label: str
    scope: Scope
    content: Any
    fingerprint: str
    token: dict[str, str | None] = field(default_factory=dict)
    drift: bool = False
    managed: bool = True
    key: dict[str, Any] | None = None
    item: dict[str, Any] | None = None  # a DynamoDB item exactly as read (typed): what a write is conditional on

    @property
    def id(self) -> str:
        return resource_id(self.kind, self.target, self.label)


@dataclass
class DeployedState:
    resources: dict[str, Deployed] = field(default_factory=dict)
    by_scope: dict[str, list[str]] = field(default_factory=dict)

    def add(self, scope: Scope, found: Iterable[Deployed]) -> None:
        ids = self.by_scope.setdefault(scope.id, [])
        for deployed in found:
            self.resources[deployed.id] = deployed
            ids.append(deployed.id)


def deployed_item(table: str, keys: tuple[str, ...], scope: Scope, typed: dict[str, Any]) -> Deployed:
    everything = plain_item(typed)
    content = {k: v for k, v in everything.items() if k not in SERVER_MANAGED}
    recorded = everything.get(HASH_ATTRIBUTE)
    token = {name: (str(everything[name]) if name in everything else None) for name in SERVER_MANAGED}
    return Deployed(
        "dynamodb_item",
        table,
        item_label(keys, everything),
        scope,
        content,
        content_hash(everything),
        token,
        drift=recorded is not None and recorded != content_hash(content),
        managed=recorded is not None,
        key={name: typed[name] for name in keys},
        item=typed,
    )


def _pages(call: Callable[..., dict[str, Any]], **request: Any) -> Iterable[dict[str, Any]]:
    while True:
        reply = call(**request)
        yield from reply.get("Items", [])
        if "LastEvaluatedKey" not in reply:
            return
        request["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


class Reader:
    """Reads scopes; `keep` decides which items of a scanned table belong to this workspace; an `owned` scope
    lists the resources of one kind ndrc owns (`owned.py`) except the ids in `skip` (read by their own scope)."""

    def __init__(
        self,
        aws: Aws,
        layouts: dict[str, tuple[str, ...]],
        keep: Callable[[Deployed], bool],
        skip: frozenset[str] = frozenset(),
    ) -> None:
        self.aws = aws
        self.layouts = layouts
        self.keep = keep
        self.skip = skip
        self.skipped_names: defaultdict[str, set[str]] = defaultdict(set)  # kind -> names of the skipped ids
        for skipped in skip:
            kind, target, label = json.loads(skipped)
            if target == label:
                self.skipped_names[kind].add(target)
        self.readers: dict[str, Callable[[Scope], list[Deployed]]] = {
            OWNED_SCOPE: self._owned,
            "dynamodb_query": self._dynamodb_query,
            "dynamodb_scan": self._dynamodb_scan,
            "state_machine": self._state_machine,
            "sagemaker_pipeline": self._sagemaker_pipeline,
            "s3_object": self._s3_object,
            **dict.fromkeys(wiring.KINDS, lambda scope: wiring.read(self.aws, scope)),
        }

    def read(self, scopes: Iterable[Scope]) -> DeployedState:
        state = DeployedState()
        unique = {scope.id: scope for scope in scopes}
        with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
            for scope, found in zip(unique.values(), pool.map(self._read_one, unique.values()), strict=True):
                state.add(scope, found)
        return state

    def _read_one(self, scope: Scope) -> list[Deployed]:
        reader = self.readers[scope.kind]
        with translated(f"read {scope.kind} {scope.target}"):
            try:
                return reader(scope)
            except ClientError as problem:
                if error_code(problem) == "ResourceNotFoundException":
                    raise UsageError(
                        f"table {scope.target!r} does not exist in environment {self.aws.environment.name!r}; "
                        f"run `ndrc provision --env {self.aws.environment.name}`"
                    ) from None
                raise

    def _owned(self, scope: Scope) -> list[Deployed]:
        kind = str(scope.target)
        found: list[Deployed] = []
        for name in OWNED_KINDS[kind].list_owned(self.aws, str(scope.partition), self.skipped_names[kind]):
            if resource_id(kind, name, name) not in self.skip:
                found.extend(self.readers[kind](Scope(kind, name)))
        return found

    def _dynamodb_query(self, scope: Scope) -> list[Deployed]:
        keys = self.layouts[scope.target]
        items = _pages(
            self.aws.client("dynamodb").query,
            TableName=scope.target,
            ConsistentRead=True,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": keys[0]},
            ExpressionAttributeValues={":pk": {"S": scope.partition}},
        )
        return [deployed_item(scope.target, keys, scope, typed) for typed in items]

    def _dynamodb_scan(self, scope: Scope) -> list[Deployed]:
        keys = self.layouts[scope.target]
        items = _pages(self.aws.client("dynamodb").scan, TableName=scope.target, ConsistentRead=True)
        found = (deployed_item(scope.target, keys, scope, typed) for typed in items)
        return [deployed for deployed in found if self.keep(deployed)]

    def _state_machine(self, scope: Scope) -> list[Deployed]:
        arn = state_machine_arn(self.aws, scope.target)
        try:
            reply = self.aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn)
        except ClientError as problem:
            if error_code(problem) == "StateMachineDoesNotExist":
                return []
            raise
        return [
            _definition(
                scope, reply["definition"], "roleArn", reply.get("roleArn"), observability.deployed_settings(reply)
            )
        ]

    def _sagemaker_pipeline(self, scope: Scope) -> list[Deployed]:
        try:
            reply = self.aws.client("sagemaker").describe_pipeline(PipelineName=scope.target)
        except ClientError as problem:
            message = str(problem.response.get("Error", {}).get("Message", ""))
            if error_code(problem) == "ResourceNotFound" or "Could not find pipeline" in message:
                return []
            raise
        return [_definition(scope, reply["PipelineDefinition"], "RoleArn", reply.get("RoleArn"))]

    def _s3_object(self, scope: Scope) -> list[Deployed]:
        bucket, key = split_s3_uri(scope.target)
        try:
            reply = self.aws.client("s3").head_object(Bucket=bucket, Key=key)
        except ClientError as problem:
            if error_code(problem) in ("404", "NoSuchKey", "NotFound"):
                return []
            raise
        content = {"sha256": reply.get("Metadata", {}).get("sha256")}
        fingerprint = content_hash({"etag": reply.get("ETag"), **content})
        return [Deployed("s3_object", scope.target, scope.target, scope, content, fingerprint)]


def _definition(
    scope: Scope, text: str, role_key: str, role: str | None, settings: dict[str, Any] | None = None
) -> Deployed:
    content = {"definition": json.loads(text, parse_float=Decimal), role_key: role, **(settings or {})}
    return Deployed(scope.kind, scope.target, scope.target, scope, content, content_hash(content))


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")
