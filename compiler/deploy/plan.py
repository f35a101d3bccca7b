"""The plan: desired vs deployed, per resource create / update / delete / unchanged, with a semantic diff.

A plan saves to JSON (`ndrc plan --out plan.json`) with everything needed to apply it exactly: the
payload of every change, the fingerprint of what it saw, and a digest of every other resource it read,
so `ndrc publish --plan` can tell whether the deployed state moved since.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compiler.deploy.deployed import Deployed, DeployedState
from compiler.deploy.desired import DesiredState, Scope, resource_id
from compiler.deploy.diff import content_hash, diff, same
from compiler.errors import UsageError

PLAN_FORMAT = "ndrc-plan"
PLAN_VERSION = 2  # 2: every change records the deployed item it saw (`seen`) and is verified on load
ACTIONS = ("create", "update", "delete")


@dataclass
class Change:
    action: str
    kind: str
    target: str
    label: str
    scope: str
    payload: Any = None
    desired_sha256: str | None = None
    seen_fingerprint: str | None = None
    token: dict[str, str | None] = field(default_factory=dict)
    drift: bool = False
    managed: bool = True
    fields: list[dict[str, str]] = field(default_factory=list)
    source: str = ""
    seen: dict[str, Any] | None = None  # the deployed DynamoDB item as the plan read it (typed, every attribute)
    drift_note: str = ""  # why this is drift, when it is not the default (changed outside git since published)
    impact: list[dict[str, str]] = field(default_factory=list)  # what the change affects and why (impact.py)

    @property
    def id(self) -> str:
        return resource_id(self.kind, self.target, self.label)


@dataclass
class Plan:
    environment: str
    account_id: str
    region: str
    source: str
    projects: list[str]
    changes: list[Change] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=dict)
    scopes: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    deleted_projects: list[str] = field(default_factory=list)  # projects every deployed item of which goes
    deleted_kinds: list[str] = field(default_factory=list)  # artifact kinds every deployed one of which goes
    causes: list[str] = field(default_factory=list)  # ndrc.yaml settings the changes come from (impact.py)
    base: dict[str, str] | None = None  # `plan --base REF`: compared with the workspace at that git commit
    created_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def drifted(self) -> int:
        return sum(1 for change in self.changes if change.drift)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        document = {"format": PLAN_FORMAT, "version": PLAN_VERSION, **asdict(self)}
        document["summary"] = {
            **{a: self.count(a) for a in ACTIONS},
            "unchanged": sum(self.unchanged.values()),
            "drift": self.drifted,
        }
        return document

    @classmethod
    def from_json(cls, document: Any) -> Plan:
        if not isinstance(document, dict) or (document.get("format"), document.get("version")) != (
            PLAN_FORMAT,
            PLAN_VERSION,
        ):
            raise UsageError(f"not an {PLAN_FORMAT} v{PLAN_VERSION} document")
        names = {
            "environment",
            "account_id",
            "region",
            "source",
            "projects",
            "unchanged",
            "scopes",
            "skipped",
            "unsupported",
            "deleted_projects",
            "created_at",
        }
        plan = cls(
            **{k: document[k] for k in names},
            **{k: document[k] for k in ("causes", "base", "deleted_kinds") if k in document},
        )
        plan.changes = [Change(**change) for change in document["changes"]]
        if not all(isinstance(c.token, dict) and isinstance(c.fields, list) for c in plan.changes):
            raise UsageError("a change of the plan is malformed")
        return plan


def save_plan(plan: Plan, path: Path) -> None:
    text = json.dumps(plan.to_json(), indent=1, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def load_plan(path: Path) -> Plan:
    try:
        return Plan.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UsageError) as problem:
        raise UsageError(f"cannot read the saved plan {path}: {problem}") from None


def scope_digest(state: DeployedState, scope_id: str, touched: set[str]) -> str:
    ids = sorted(i for i in state.by_scope.get(scope_id, []) if i not in touched)
    lines = "".join(f"{i}\t{state.resources[i].fingerprint}\n" for i in ids)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def compute_plan(desired: DesiredState, deployed: DeployedState, account_id: str, region: str) -> Plan:
    plan = Plan(
        desired.environment,
        account_id,
        region,
        desired.source,
        sorted(desired.projects),
        skipped=list(desired.skipped),
        unsupported=list(desired.unsupported),
    )
    unchanged: Counter[str] = Counter()
    wanted = set()
    for resource in desired.resources:
        wanted.add(resource.id)
        now = deployed.resources.get(resource.id)
        if now is not None and same(now.content, resource.content):
            unchanged[resource.kind] += 1
            continue
        change = Change(
            "create" if now is None else "update",
            resource.kind,
            resource.target,
            resource.label,
            resource.scope.id,
            resource.payload,
            resource.content_sha256,
            source=resource.source,
        )
        if now is not None:
            change.seen_fingerprint, change.token, change.seen = now.fingerprint, now.token, now.item
            change.drift, change.managed = now.drift, now.managed
            change.fields = [f.to_json() for f in diff(now.content, resource.content)]
        plan.changes.append(change)
    for scope_id, ids in deployed.by_scope.items():
        for gone in (deployed.resources[i] for i in ids if i not in wanted):
            plan.changes.append(
                Change(
                    "delete",
                    gone.kind,
                    gone.target,
                    gone.label,
                    scope_id,
                    {"Key": gone.key},
                    None,
                    gone.fingerprint,
                    gone.token,
                    gone.drift,
                    gone.managed,
                    seen=gone.item,
                )
            )
    plan.deleted_projects = wiped_projects(desired, deployed, plan.changes)
    touched = {change.id for change in plan.changes}
    plan.scopes = {scope_id: scope_digest(deployed, scope_id, touched) for scope_id in deployed.by_scope}
    plan.unchanged = dict(sorted(unchanged.items()))
    return plan


def _project_of(content: Any) -> str | None:
    project = content.get("project_name") if isinstance(content, dict) else None
    return str(project) if project is not None else None


def wiped_projects(desired: DesiredState, deployed: DeployedState, changes: list[Change]) -> list[str]:
    """Projects that have deployed items, every one of which this plan deletes."""
    kept = {_project_of(r.content) for r in desired.resources if r.kind == "dynamodb_item"}
    deleted = {change.id for change in changes if change.action == "delete"}
    losing: dict[str, bool] = {}
    for identity, resource in deployed.resources.items():
        project = _project_of(resource.content) if resource.kind == "dynamodb_item" else None
        if project is not None and project not in kept:
            losing[project] = losing.get(project, True) and identity in deleted
    return sorted(project for project, every in losing.items() if every)


@dataclass
class Replay:
    """A saved plan checked against the deployed state now."""

    pending: list[Change] = field(default_factory=list)
    already: list[Change] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)


def replay(plan: Plan, now: DeployedState) -> Replay:
    result = Replay()
    touched = {change.id for change in plan.changes}
    for scope_id, digest in plan.scopes.items():
        if scope_digest(now, scope_id, touched) != digest:
            scope = Scope.from_id(scope_id)
            where = f" (project {scope.partition})" if scope.partition else ""
            result.moved.append(f"{scope.kind} {scope.target}{where}: resources the plan left alone changed")
    for change in plan.changes:
        current = now.resources.get(change.id)
        if (current.fingerprint if current else None) == change.seen_fingerprint:
            result.pending.append(change)
        elif _already_applied(change, current):
            result.already.append(change)
        else:
            result.moved.append(f"{change.kind} {change.target} {change.label}: changed since the plan")
    return result


def _already_applied(change: Change, current: Deployed | None) -> bool:
    """A change the deployed state already reflects (an interrupted publish of this very plan got there)."""
    if change.action == "delete":
        return current is None
    return current is not None and content_hash(current.content) == change.desired_sha256
