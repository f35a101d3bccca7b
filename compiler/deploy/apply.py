"""Applying one change: a conditional PutItem/DeleteItem, a state machine or pipeline create/update, an upload.

Every DynamoDB write is conditional on the item still being exactly what the plan saw: every attribute the
plan read equal to what it read, every other attribute the write sets still absent (or the whole item
absent, for a create). A change since the plan by anyone (ndrc, the console, a script) is reported as a
conflict, never overwritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from compiler.deploy import wiring
from compiler.deploy.aws import Aws, error_code
from compiler.deploy.deployed import HASH_ATTRIBUTE, SERVER_MANAGED, UPDATED_ATTRIBUTE, Reader, split_s3_uri
from compiler.deploy.desired import Scope
from compiler.deploy.diff import content_hash, plain_item
from compiler.deploy.owned import OWNED_KINDS, creation_tags, state_machine_arn
from compiler.deploy.plan import Change


@dataclass
class Outcome:
    change: Change
    status: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "already", "skipped")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def condition(change: Change, key_name: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """`the item is still what the plan saw`: absent for a create; else every attribute it read unchanged
    and every attribute this write sets that it did not see still absent. DynamoDB compares maps, lists
    and sets by value in a condition (`=` holds for every type)."""
    names = {"#k": key_name}
    if change.action == "create":
        return "attribute_not_exists(#k)", names, {}
    parts, values = ["attribute_exists(#k)"], {}
    seen = change.seen
    if seen is None:
        raise ValueError("the plan does not record the item it saw; make a new plan")
    written = change.payload if change.action != "delete" and isinstance(change.payload, dict) else {}
    unseen = sorted({*written, *SERVER_MANAGED} - set(seen) - {key_name})
    for number, attribute in enumerate(sorted(seen)):
        if attribute == key_name:
            continue
        names[f"#a{number}"] = attribute
        parts.append(f"#a{number} = :a{number}")
        values[f":a{number}"] = seen[attribute]
    for number, attribute in enumerate(unseen):
        names[f"#n{number}"] = attribute
        parts.append(f"attribute_not_exists(#n{number})")
    return " AND ".join(parts), names, values


def _observability(payload: dict[str, Any], create: bool = False) -> dict[str, Any]:
    """The machine's logging and tracing (compiler/orchestration/observability.py). A create without a log
    group leaves logging out (AWS's default is OFF); an update sends OFF so logging switched on outside ndrc
    is switched off again, as the plan showed."""
    settings: dict[str, Any] = {k: payload[k] for k in ("loggingConfiguration", "tracingConfiguration") if k in payload}
    if create and settings.get("loggingConfiguration", {}).get("level") == "OFF":
        del settings["loggingConfiguration"]
    return settings


class Applier:
    def __init__(self, aws: Aws, layouts: dict[str, tuple[str, ...]], clock: Callable[[], str] = utc_now) -> None:
        self.aws = aws
        self.layouts = layouts
        self.clock = clock
        self.writers: dict[str, Callable[[Change], Outcome]] = {
            "dynamodb_item": self._dynamodb_item,
            "state_machine": self._state_machine,
            "sagemaker_pipeline": self._sagemaker_pipeline,
            "s3_object": self._s3_object,
            **dict.fromkeys(wiring.KINDS, lambda change: wiring.write(self.aws, change)),
        }

    def apply(self, change: Change) -> Outcome:
        write = (
            self._delete_owned
            if change.action == "delete" and change.kind in OWNED_KINDS
            else self.writers[change.kind]
        )
        try:
            return write(change)
        except (ClientError, BotoCoreError, OSError, ValueError) as problem:
            return Outcome(change, "failed", f"{type(problem).__name__}: {problem}")

    def _delete_owned(self, change: Change) -> Outcome:
        """Delete a state machine / pipeline / ... the build no longer has. These APIs have no conditional
        delete, so it is read again first: deleted only if still exactly what the plan saw."""
        now = Reader(self.aws, self.layouts, lambda _: True).readers[change.kind](Scope(change.kind, change.target))
        if not now:
            return Outcome(change, "already", "already deleted by someone else")
        if now[0].fingerprint != change.seen_fingerprint:
            return Outcome(change, "conflict", "changed since plan; not deleted — run `ndrc plan` again and review")
        OWNED_KINDS[change.kind].delete(self.aws, change.target)
        return Outcome(change, "applied")

    def _dynamodb_item(self, change: Change) -> Outcome:
        client = self.aws.client("dynamodb")
        expression, names, values = condition(change, self.layouts[change.target][0])
        request: dict[str, Any] = {
            "TableName": change.target,
            "ConditionExpression": expression,
            "ExpressionAttributeNames": names,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            if change.action == "delete":
                client.delete_item(Key=change.payload["Key"], **request)
            else:
                item = {
                    **change.payload,
                    HASH_ATTRIBUTE: {"S": change.desired_sha256},
                    UPDATED_ATTRIBUTE: {"S": self.clock()},
                }
                client.put_item(Item=item, **request)
        except ClientError as problem:
            if error_code(problem) != "ConditionalCheckFailedException":
                raise
            return self._conflict(change, problem.response.get("Item"))
        return Outcome(change, "applied")

    def _conflict(self, change: Change, current: dict[str, Any] | None) -> Outcome:
        if current is None and change.action == "delete":
            return Outcome(change, "already", "already deleted by someone else")
        if current is not None and change.action != "delete":
            content = {k: v for k, v in plain_item(current).items() if k not in SERVER_MANAGED}
            if content_hash(content) == change.desired_sha256:
                return Outcome(change, "already", "someone else already wrote the same content")
        when = plain_item(current).get(UPDATED_ATTRIBUTE, "unknown time") if current else "now absent"
        return Outcome(
            change,
            "conflict",
            f"changed since plan (deployed item: updated_at {when}); "
            "not overwritten — run `ndrc plan` again and review",
        )

    def _state_machine(self, change: Change) -> Outcome:
        client = self.aws.client("stepfunctions")
        definition, role = change.payload["definition"], change.payload["roleArn"]
        if not role:
            return Outcome(change, "failed", "roles.state_machine is not set for this environment in ndrc.yaml")
        if change.action == "create":
            try:
                tags = creation_tags(self.aws.environment.name)
                client.create_state_machine(
                    name=change.target,
                    definition=definition,
                    roleArn=role,
                    tags=[{"key": k, "value": v} for k, v in tags.items()],
                    **_observability(change.payload, create=True),
                )
            except ClientError as problem:
                if error_code(problem) != "StateMachineAlreadyExists":
                    raise
                return Outcome(change, "conflict", "created by someone else since the plan; not overwritten")
        else:
            client.update_state_machine(
                stateMachineArn=state_machine_arn(self.aws, change.target),
                definition=definition,
                roleArn=role,
                **_observability(change.payload),
            )
        return Outcome(change, "applied")

    def _sagemaker_pipeline(self, change: Change) -> Outcome:
        client = self.aws.client("sagemaker")
        definition, role = change.payload["definition"], change.payload["RoleArn"]
        if not role:
            return Outcome(change, "failed", "roles.sagemaker_execution is not set for this environment")
        if change.action == "create":
            client.create_pipeline(
                PipelineName=change.target,
                PipelineDefinition=definition,
                RoleArn=role,
                ClientRequestToken=str(change.desired_sha256),
                Tags=[{"Key": k, "Value": v} for k, v in creation_tags(self.aws.environment.name).items()],
            )
        else:
            client.update_pipeline(PipelineName=change.target, PipelineDefinition=definition, RoleArn=role)
        return Outcome(change, "applied")

    def _s3_object(self, change: Change) -> Outcome:
        data = Path(change.payload["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != change.payload["sha256"]:
            return Outcome(change, "failed", f"{change.payload['file']} changed since the plan; not uploaded")
        bucket, key = split_s3_uri(change.target)
        self.aws.client("s3").put_object(
            Bucket=bucket, Key=key, Body=data, Metadata={"sha256": change.payload["sha256"]}
        )
        return Outcome(change, "applied")
