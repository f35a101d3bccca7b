"""Wiring target: the live entry (queues, subscription, pipe) and the schedules, as AWS request documents.

`wiring/<name>.queue.json` (CreateQueue), `wiring/<name>.subscription.json` (Subscribe),
`wiring/<name>.pipe.json` (CreatePipe), `wiring/<name>.rule.json` (PutRule + its Targets),
`wiring/schedules/<name>.schedule.json` (CreateSchedule); see
`compiler/orchestration/wiring.py`. Publish creates or updates them (`compiler/deploy/wiring.py`).
"""

from __future__ import annotations

from typing import Any

from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration import names as n
from compiler.orchestration import wiring
from compiler.orchestration.canonical import canonical_json
from compiler.orchestration.names import Orchestration

ENVIRONMENT_SOURCES = ("ndrc.yaml",)


def _artifact(kind: str, name: str, path: str, document: dict[str, Any], sources: tuple[str, ...]) -> Artifact:
    return Artifact(kind, name, path, canonical_json(document), sources)


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    """Without `account_id` nothing (the documents name queues by ARN); without `roles.pipe` no pipe, without
    `roles.events` no live-outcome rule, without `roles.scheduler` no schedules (an environment that starts the
    live machine and the pipelines its own way)."""
    o = Orchestration(workspace.environment)
    if not wiring.has_account(o):
        return []
    queue, dead_letter, schedules_dlq = (o.name(k) for k in (n.LIVE_ENTRY, n.LIVE_ENTRY_DLQ, n.SCHEDULES_DLQ))
    artifacts = [
        _artifact(
            n.SQS_QUEUE_KIND,
            dead_letter,
            f"wiring/{dead_letter}.queue.json",
            wiring.entry_dead_letter_queue(o),
            ENVIRONMENT_SOURCES,
        ),
        _artifact(n.SQS_QUEUE_KIND, queue, f"wiring/{queue}.queue.json", wiring.entry_queue(o), ENVIRONMENT_SOURCES),
    ]
    if wiring.has_role(o, "pipe"):
        artifacts.append(
            _artifact(n.PIPE_KIND, queue, f"wiring/{queue}.pipe.json", wiring.entry_pipe(o), ENVIRONMENT_SOURCES)
        )
    if wiring.has_role(o, "events"):
        rule = o.name(n.LIVE_OUTCOME)
        artifacts.append(
            _artifact(n.EVENT_RULE_KIND, rule, f"wiring/{rule}.rule.json", wiring.outcome_rule(o), ENVIRONMENT_SOURCES)
        )
    subscription = wiring.entry_subscription(o)
    if subscription is not None:
        artifacts.append(
            _artifact(
                n.SNS_SUBSCRIPTION_KIND, queue, f"wiring/{queue}.subscription.json", subscription, ENVIRONMENT_SOURCES
            )
        )
    if not wiring.has_role(o, "scheduler"):
        return artifacts
    artifacts.append(
        _artifact(
            n.SQS_QUEUE_KIND,
            schedules_dlq,
            f"wiring/{schedules_dlq}.queue.json",
            wiring.schedules_dead_letter_queue(o),
            ENVIRONMENT_SOURCES,
        )
    )
    for schedule in wiring.schedules(o, workspace):
        artifacts.append(
            _artifact(
                n.SCHEDULE_KIND,
                schedule.name,
                f"wiring/schedules/{schedule.name}.schedule.json",
                schedule.document,
                schedule.sources,
            )
        )
    return artifacts
