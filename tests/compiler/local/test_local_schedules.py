"""The compiled schedules, published onto the emulator, fired as EventBridge Scheduler fires them: `ndrc local
trigger` (one schedule now) and `ndrc local clock` (every occurrence of a simulated range, once). The three
scheduled pipelines are cut down to their compiled ResolveSpecs step (no Spark), so each run takes seconds."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from compiler.cli import cli
from compiler.local.emulator import PipelineOptions, running_emulator
from tests.compiler.local.test_pipeline_execution import PREFIX, REPO, STORAGE, Local, _ndrc

pytestmark = pytest.mark.emulator

SCHEDULED = ("fg-b-baseline", "if-training", "machine-inventory-unload")


class Scheduled(Local):
    def __init__(self, endpoint: str, root: Path) -> None:
        super().__init__(endpoint, root)
        import boto3

        self.scheduler: Any = boto3.client(
            "scheduler",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def runs(self) -> dict[str, tuple[str, str, str, str]]:
        """Every execution of the scheduled pipelines: arn -> (pipeline, ProjectName, FeatureSpecVersion,
        ReferenceTsIso)."""
        found = {}
        for flow in SCHEDULED:
            for summary in self.executions(flow):
                arn = summary["PipelineExecutionArn"]
                p = self.parameters(arn)
                found[arn] = (flow, p["ProjectName"], p.get("FeatureSpecVersion", ""), p["ReferenceTsIso"])
        return found

    def wait_all(self, arns: list[str]) -> None:
        for arn in arns:
            self.wait_pipeline(arn)


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduled]:
    """The sample workspace provisioned and published (schedules included) onto an emulator executing
    pipelines; the scheduled pipelines cut down to their compiled ResolveSpecs step."""
    root = tmp_path_factory.mktemp("schedules") / "ws"
    shutil.copytree(REPO / "specs", root / "specs")
    options = PipelineOptions(str(root / ".ndrc" / "pipelines"), str(root / STORAGE), step_budget=2)
    with running_emulator(root.parent, options) as endpoint:
        (root / "ndrc.yaml").write_text((REPO / "ndrc.yaml").read_text().replace("http://127.0.0.1:4566", endpoint))
        _ndrc("provision", cwd=root)
        _ndrc("publish", "--yes", cwd=root)
        local = Scheduled(endpoint, root)
        for flow in SCHEDULED:
            definition = json.loads(local.sagemaker.describe_pipeline(PipelineName=PREFIX + flow)["PipelineDefinition"])
            definition["Steps"] = [step for step in definition["Steps"] if step["Name"] == "ResolveSpecs"]
            local.sagemaker.update_pipeline(PipelineName=PREFIX + flow, PipelineDefinition=json.dumps(definition))
        yield local


def _invoke(local: Local, *args: str) -> Any:
    return CliRunner().invoke(cli, [*args, "--workspace", str(local.root)])


def test_trigger_fires_the_published_schedules_target_with_its_input(scheduled: Scheduled) -> None:
    name = f"{PREFIX}fg-b-baseline-ndr-prod-v1"
    published = scheduled.scheduler.get_schedule(Name=name)
    request = json.loads(published["Target"]["Input"])
    # What publish stored is what fires: change the stored Input (a resource parameter) and trigger.
    sizes = [p for p in request["PipelineParameters"] if p["Name"] == "FgBBuilderInstanceType"]
    assert sizes == [{"Name": "FgBBuilderInstanceType", "Value": "ml.m5.xlarge"}]  # as compiled from the spec
    sizes[0]["Value"] = "ml.m5.4xlarge"
    changed = {
        k: published[k]
        for k in (
            "Name",
            "GroupName",
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "FlexibleTimeWindow",
            "State",
        )
    }
    changed["Target"] = {**published["Target"], "Input": json.dumps(request)}
    scheduled.scheduler.update_schedule(**changed)
    before = set(scheduled.runs())

    started = _invoke(
        scheduled, "local", "trigger", "fg-b-baseline", "--project", "ndr-prod", "--at", "2025-01-16T00:30:00Z"
    )

    assert started.exit_code == 0, started.output
    assert started.output.splitlines()[0] == f"published schedule {name} (cron(30 0 * * ? *) UTC)"
    arn = started.output.split(" -> ")[1].split()[0]
    assert set(scheduled.runs()) - before == {arn}
    expected = {
        p["Name"]: p["Value"].replace("<aws.scheduler.scheduled-time>", "2025-01-16T00:30:00Z")
        for p in request["PipelineParameters"]
    }
    assert scheduled.parameters(arn) == expected
    assert expected["FgBBuilderInstanceType"] == "ml.m5.4xlarge"
    assert expected["ReferenceTsIso"] == "2025-01-16T00:30:00Z"
    # The same scheduled time again: the schedule's token (its name and time) starts nothing new.
    again = _invoke(scheduled, "local", "trigger", name, "--at", "2025-01-16T00:30:00Z")
    assert again.exit_code == 0, again.output
    assert again.output.split(" -> ")[1].split()[0] == arn and set(scheduled.runs()) - before == {arn}
    scheduled.wait_all([arn])

    unknown = _invoke(scheduled, "local", "trigger", "fg-b-baseline", "--project", "nobody")
    assert unknown.exit_code == 2
    lines = unknown.output.strip().splitlines()
    assert len(lines) == 1 and "no schedule starts fg-b-baseline for project nobody; schedules: " in lines[0]
    assert f"{PREFIX}if-training-ndr-acme-prod-v1" in lines[0]
    assert f"{PREFIX}machine-inventory-unload-ndr-prod" in lines[0]
    unnamed = _invoke(scheduled, "local", "trigger", "feature-15m")
    assert unnamed.exit_code == 2 and "no schedule named 'feature-15m'" in unnamed.output


def test_the_clock_fires_each_due_occurrence_once_and_a_rerun_starts_nothing(scheduled: Scheduled) -> None:
    # 2024-12-31T00:00Z - 2025-01-02T00:00Z: FG-B daily at 00:30 (two days) and the monthly unload (01:00) and
    # training (04:00) on 1 January, for each project with the job's spec (hand-computed from the defaults).
    start, end = "2024-12-31T00:00:00Z", "2025-01-02T00:00:00Z"
    expected = {
        ("fg-b-baseline", "ndr-prod", "v1", "2024-12-31T00:30:00Z"),
        ("fg-b-baseline", "ndr-acme-prod", "v1", "2024-12-31T00:30:00Z"),
        ("fg-b-baseline", "ndr-prod", "v1", "2025-01-01T00:30:00Z"),
        ("fg-b-baseline", "ndr-acme-prod", "v1", "2025-01-01T00:30:00Z"),
        ("machine-inventory-unload", "ndr-prod", "", "2025-01-01T01:00:00Z"),
        ("machine-inventory-unload", "ndr-acme-prod", "v1", "2025-01-01T01:00:00Z"),
        ("if-training", "ndr-prod", "v1", "2025-01-01T04:00:00Z"),
        ("if-training", "ndr-acme-prod", "v1", "2025-01-01T04:00:00Z"),
    }
    before = scheduled.runs()

    listed = _invoke(scheduled, "local", "clock", "--from", start, "--to", end, "--dry-run")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[0] == (
        "8 occurrence(s) of 6 published schedule(s) due in [2024-12-31T00:00:00Z, 2025-01-02T00:00:00Z)"
    )
    assert scheduled.runs() == before  # a dry run fires nothing

    fired = _invoke(scheduled, "local", "clock", "--from", start, "--to", end)
    assert fired.exit_code == 0, fired.output
    after = scheduled.runs()
    new = {arn: run for arn, run in after.items() if arn not in before}
    assert sorted(new.values()) == sorted(expected)
    times = [line.split(" at ")[1].split(" -> ")[0] for line in fired.output.splitlines() if "  fired " in line]
    assert times == sorted(times) and len(times) == 8  # in time order

    rerun = _invoke(scheduled, "local", "clock", "--from", start, "--to", end)
    assert rerun.exit_code == 0, rerun.output
    assert scheduled.runs() == after  # the same occurrences, the same tokens: nothing new
    assert sorted(line.split(" -> ")[1] for line in rerun.output.splitlines() if " -> " in line) == sorted(new)
    scheduled.wait_all(list(new))


def test_a_disabled_schedule_does_not_fire_and_a_bad_range_is_refused(scheduled: Scheduled) -> None:
    name = f"{PREFIX}if-training-ndr-prod-v1"
    published = scheduled.scheduler.get_schedule(Name=name)
    update = {
        k: published[k]
        for k in (
            "Name",
            "GroupName",
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "FlexibleTimeWindow",
            "Target",
        )
    }
    scheduled.scheduler.update_schedule(**update, State="DISABLED")
    try:
        listed = _invoke(
            scheduled, "local", "clock", "--from", "2025-03-01T00:00Z", "--to", "2025-03-01T05:00Z", "--dry-run"
        )
        assert listed.exit_code == 0, listed.output
        due = [line.split()[1] for line in listed.output.splitlines()[1:]]
        assert sorted(due) == sorted(
            [
                f"{PREFIX}fg-b-baseline-ndr-acme-prod-v1",
                f"{PREFIX}fg-b-baseline-ndr-prod-v1",
                f"{PREFIX}machine-inventory-unload-ndr-acme-prod-v1",
                f"{PREFIX}machine-inventory-unload-ndr-prod",
                f"{PREFIX}if-training-ndr-acme-prod-v1",
            ]
        )
    finally:
        scheduled.scheduler.update_schedule(**update, State="ENABLED")
    too_many = _invoke(
        scheduled, "local", "clock", "--from", "2025-03-01T00:00Z", "--to", "2025-03-03T00:00Z", "--max", "5"
    )
    assert too_many.exit_code == 2 and "8 occurrences are due, more than --max 5" in too_many.output
    backwards = _invoke(scheduled, "local", "clock", "--from", "2025-03-02T00:00Z", "--to", "2025-03-01T00:00Z")
    assert backwards.exit_code == 2 and "the clock range is empty" in backwards.output
    garbled = _invoke(scheduled, "local", "clock", "--from", "yesterday", "--to", "2025-03-01T00:00Z")
    assert garbled.exit_code == 2 and "'yesterday' is not an ISO-8601 time" in garbled.output


def test_without_published_schedules_the_build_is_read(tmp_path: Path, emulator_endpoint: str) -> None:
    # Another prefix than the published sample's, so this emulator holds none of these schedules.
    shutil.copytree(REPO / "specs", tmp_path / "specs")
    config = (REPO / "ndrc.yaml").read_text().replace("http://127.0.0.1:4566", emulator_endpoint)
    (tmp_path / "ndrc.yaml").write_text(config.replace("name_prefix: ndr-local-", "name_prefix: ndr-clock-"))
    local = Local(emulator_endpoint, tmp_path)

    listed = _invoke(local, "local", "clock", "--from", "2025-01-01T00:00Z", "--to", "2025-01-02T00:00Z", "--dry-run")

    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[0] == (
        f"6 occurrence(s) of 6 compiled ({tmp_path / 'build' / 'local'}) "
        "schedule(s) due in [2025-01-01T00:00:00Z, 2025-01-02T00:00:00Z)"
    )
    assert (
        tmp_path / "build" / "local" / "wiring" / "schedules" / "ndr-clock-if-training-ndr-prod-v1.schedule.json"
    ).is_file()
    # Firing needs the pipeline the schedule names: not published here, so the target call fails (exit 1).
    fired = _invoke(local, "local", "trigger", "ndr-clock-if-training-ndr-prod-v1", "--at", "2025-01-01T04:00Z")
    assert fired.exit_code == 1, fired.output
    assert "  failed  ndr-clock-if-training-ndr-prod-v1 at 2025-01-01T04:00:00Z: " in fired.output
