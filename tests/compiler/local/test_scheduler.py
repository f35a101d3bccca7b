"""The local scheduler's pure parts: compiled schedule documents read back, context attributes, the universal
target, choosing a schedule, and which occurrences are due (the emulator side: test_local_schedules.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from compiler.errors import UsageError
from compiler.local import scheduler
from compiler.local.cron import CronError
from compiler.orchestration import wiring
from compiler.orchestration.names import Orchestration
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[scheduler.Schedule], Orchestration]:
    """The sample workspace's `local` schedules as `ndrc compile` writes them."""
    from compiler.compilation.compile import compile_workspace

    workspace = load_workspace(REPO)
    build = compile_workspace(workspace, "local", tmp_path_factory.mktemp("build")).out_dir
    o = Orchestration(workspace.environment("local"))
    return scheduler.built_schedules(build, o), o


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_build_holds_one_schedule_per_flow_and_project(
    compiled: tuple[list[scheduler.Schedule], Orchestration],
) -> None:
    schedules = compiled[0]
    assert [s.name for s in schedules] == [
        "ndr-local-fg-b-baseline-ndr-acme-prod-v1",
        "ndr-local-fg-b-baseline-ndr-prod-v1",
        "ndr-local-if-training-ndr-acme-prod-v1",
        "ndr-local-if-training-ndr-prod-v1",
        "ndr-local-machine-inventory-unload-ndr-acme-prod-v1",
        "ndr-local-machine-inventory-unload-ndr-prod",
    ]
    first = schedules[0]
    assert first.arn == (
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default/ndr-local-fg-b-baseline-ndr-acme-prod-v1"
    )
    assert (first.expression, first.timezone, first.state) == ("cron(30 0 * * ? *)", "UTC", "ENABLED")
    assert first.target_arn == wiring.SCHEDULE_TARGET
    assert scheduler.target_call(first) == ("sagemaker", "start_pipeline_execution")


def test_context_attributes_are_replaced_in_the_input(compiled: tuple[list[scheduler.Schedule], Orchestration]) -> None:
    schedule = compiled[0][1]  # fg-b-baseline for ndr-prod v1
    text = scheduler.resolve_context(schedule.input, schedule, _at("2025-01-16T00:30:00"))
    request = json.loads(text)
    assert "<aws.scheduler" not in text
    assert {p["Name"]: p["Value"] for p in request["PipelineParameters"]} == {
        "ProjectName": "ndr-prod",
        "FeatureSpecVersion": "v1",
        "ReferenceTsIso": "2025-01-16T00:30:00Z",
        "FgBBuilderInstanceCount": "4",
        "FgBBuilderInstanceType": "ml.m5.xlarge",
    }  # the spec's processing
    token = request["ClientRequestToken"]
    assert token.startswith("ndrc-") and token.endswith("-2025-01-16T00:30:00Z") and 32 <= len(token) <= 128
    probe = scheduler.Schedule(
        "s",
        "default",
        "arn:s",
        "cron(0 0 * * ? *)",
        "UTC",
        "ENABLED",
        "t",
        "<aws.scheduler.schedule-arn>|<aws.scheduler.attempt-number>|<aws.scheduler.execution-id>",
    )
    arn, attempt, execution = scheduler.resolve_context(probe.input, probe, _at("2025-01-01T00:00:00")).split("|")
    assert (arn, attempt, len(execution)) == ("arn:s", "1", 16)


def test_choosing_a_schedule_by_flow_project_version_or_name(
    compiled: tuple[list[scheduler.Schedule], Orchestration],
) -> None:
    schedules, o = compiled
    assert scheduler.select(schedules, o, "if-training", "ndr-prod").name == "ndr-local-if-training-ndr-prod-v1"
    assert scheduler.select(schedules, o, "if-training", "ndr-prod", "v1").name == "ndr-local-if-training-ndr-prod-v1"
    assert scheduler.select(schedules, o, "ndr-local-machine-inventory-unload-ndr-prod").name == (
        "ndr-local-machine-inventory-unload-ndr-prod"
    )
    with pytest.raises(
        UsageError,
        match="no schedule starts if-training for project ndr-prod version v9; "
        "schedules: ndr-local-fg-b-baseline-ndr-acme-prod-v1, ",
    ):
        scheduler.select(schedules, o, "if-training", "ndr-prod", "v9")
    twice = [
        *schedules,
        scheduler.Schedule(
            "ndr-local-if-training-ndr-prod-v2",
            "default",
            "a",
            "cron(0 0 * * ? *)",
            "UTC",
            "ENABLED",
            wiring.SCHEDULE_TARGET,
            schedules[3].input,
        ),
    ]
    with pytest.raises(UsageError, match="several schedules start if-training for project ndr-prod"):
        scheduler.select(twice, o, "if-training", "ndr-prod")


def test_only_universal_targets_are_fired() -> None:
    templated = scheduler.Schedule(
        "s", "default", "a", "cron(0 0 * * ? *)", "UTC", "ENABLED", "arn:aws:sqs:us-east-1:123456789012:q", "{}"
    )
    with pytest.raises(UsageError, match="is not a universal target"):
        scheduler.target_call(templated)
    sfn = scheduler.Schedule(
        "s",
        "default",
        "a",
        "cron(0 0 * * ? *)",
        "UTC",
        "ENABLED",
        "arn:aws:scheduler:::aws-sdk:sfn:startExecution",
        "{}",
    )
    assert scheduler.target_call(sfn) == ("stepfunctions", "start_execution")


def test_due_occurrences_honour_state_start_and_end_dates_and_time_zones() -> None:
    def make(name: str, expression: str, **extra: object) -> scheduler.Schedule:
        return scheduler.Schedule(
            name,
            "default",
            name,
            expression,
            str(extra.get("tz", "UTC")),
            str(extra.get("state", "ENABLED")),
            wiring.SCHEDULE_TARGET,
            "{}",
            extra.get("start"),
            extra.get("end"),
        )  # type: ignore[arg-type]

    schedules = [
        make("daily", "cron(30 0 * * ? *)"),
        make("off", "cron(0 0 * * ? *)", state="DISABLED"),
        make("late", "cron(0 12 * * ? *)", start=_at("2025-01-02T00:00:00")),
        make("ends", "cron(0 6 * * ? *)", end=_at("2025-01-01T12:00:00")),
        make("tokyo", "cron(0 9 * * ? *)", tz="Asia/Tokyo"),  # 09:00 JST = 00:00 UTC
    ]
    due = [
        (scheduler.iso(t), s.name)
        for t, s in scheduler.due(schedules, _at("2025-01-01T00:00:00"), _at("2025-01-03T00:00:00"))
    ]
    assert due == [
        ("2025-01-01T00:00:00Z", "tokyo"),
        ("2025-01-01T00:30:00Z", "daily"),
        ("2025-01-01T06:00:00Z", "ends"),
        ("2025-01-02T00:00:00Z", "tokyo"),
        ("2025-01-02T00:30:00Z", "daily"),
        ("2025-01-02T12:00:00Z", "late"),
    ]
    with pytest.raises(CronError, match="schedule bad: "):
        scheduler.due([make("bad", "rate(1 day)")], _at("2025-01-01T00:00:00"), _at("2025-01-02T00:00:00"))
    with pytest.raises(UsageError, match="the clock range is empty"):
        scheduler.due(schedules, _at("2025-01-02T00:00:00"), _at("2025-01-02T00:00:00"))
