"""Checking a saved plan before anything of it is applied (`ndrc publish --plan FILE`).

A plan file is only data someone could have edited. Before it is applied, every change must be internally
consistent (its payload hashes to its `desired_sha256`, its shown field diff is the diff between the item it
saw and its payload, its `seen_fingerprint` is the hash of what it saw) and the plan must agree with the build
it was made from: the build's manifest sha256 is the plan's `source`, every create or update carries exactly
the build's resource, and nothing the build wants is deleted. Any mismatch refuses the whole plan.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from compiler.deploy.deployed import SERVER_MANAGED
from compiler.deploy.desired import DesiredState, Resource
from compiler.deploy.diff import content_hash, diff, plain_item, same
from compiler.deploy.plan import Change, Plan

ROLE_KEYS = {"state_machine": "roleArn", "sagemaker_pipeline": "RoleArn"}
MAX_REPORTED = 5


def payload_content(change: Change) -> Any:
    """What the payload of a create/update would deploy, in the form its `desired_sha256` hashes."""
    payload = change.payload
    if not isinstance(payload, dict):
        raise ValueError("the payload is not a mapping")
    if change.kind == "dynamodb_item":
        return plain_item(payload)
    if change.kind in ROLE_KEYS:
        role_key = ROLE_KEYS[change.kind]
        settings = {k: payload[k] for k in ("loggingConfiguration", "tracingConfiguration") if k in payload}
        return {
            "definition": json.loads(payload["definition"], parse_float=Decimal),
            role_key: payload[role_key],
            **settings,
        }
    if change.kind == "s3_object":
        return {"sha256": payload["sha256"]}
    raise ValueError(f"unknown kind {change.kind!r}")


def _name(change: Change) -> str:
    return f"{change.action} {change.kind} {change.target} {change.label}".rstrip()


def change_problems(change: Change) -> list[str]:
    """Inconsistencies inside one change."""
    if change.action not in ("create", "update", "delete"):
        return [f"{_name(change)}: unknown action"]
    problems = []
    seen = None
    if change.seen is not None:
        try:
            seen = plain_item(change.seen)
        except (ValueError, TypeError, AttributeError):
            return [f"{_name(change)}: the recorded deployed item is not a DynamoDB item"]
        if content_hash(seen) != change.seen_fingerprint:
            problems.append(f"{_name(change)}: the recorded deployed item does not match its fingerprint")
    if change.action == "delete":
        if change.desired_sha256 is not None or not isinstance(change.payload, dict) or set(change.payload) != {"Key"}:
            problems.append(f"{_name(change)}: a deletion carries only the key of the item")
        elif seen is not None and any(change.seen.get(k) != v for k, v in change.payload["Key"].items()):  # type: ignore[union-attr]
            problems.append(f"{_name(change)}: the key to delete is not the key of the item the plan saw")
        return problems
    try:
        content = payload_content(change)
    except (ValueError, TypeError, KeyError, AttributeError) as problem:
        return [*problems, f"{_name(change)}: unreadable payload ({problem})"]
    if content_hash(content) != change.desired_sha256:
        problems.append(f"{_name(change)}: the payload does not match its desired_sha256 (edited after the plan?)")
    if change.action == "update" and seen is not None:
        before = {k: v for k, v in seen.items() if k not in SERVER_MANAGED}
        if [f.to_json() for f in diff(before, content)] != change.fields:
            problems.append(f"{_name(change)}: the field diff shown does not match the payload")
    return problems


def _same_payload(change: Change, resource: Resource) -> bool:
    if change.kind == "s3_object":  # the archive's path may differ between checkouts; its hash may not
        return isinstance(change.payload, dict) and change.payload.get("sha256") == resource.payload.get("sha256")
    return same(change.payload, resource.payload)


def plan_problems(plan: Plan, build: DesiredState) -> list[str]:
    """Every reason not to apply `plan` with `build`; empty when it may be applied."""
    problems = [p for change in plan.changes for p in change_problems(change)]
    if plan.source != build.source:
        problems.insert(
            0,
            f"the plan was made from the build with manifest sha256 {plan.source}, but this build's is {build.source}",
        )
        return problems
    wanted = {resource.id: resource for resource in build.resources}
    for change in plan.changes:
        resource = wanted.get(change.id)
        if change.action == "delete":
            if resource is not None:
                problems.append(f"{_name(change)}: the build keeps this resource")
        elif resource is None:
            problems.append(f"{_name(change)}: not in the build")
        elif resource.content_sha256 != change.desired_sha256 or not _same_payload(change, resource):
            problems.append(f"{_name(change)}: the payload is not the build's")
    return problems


def summarize(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_REPORTED])
    more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
    return shown + more
