"""The emulator runs published SageMaker pipelines: the compiled definitions, through the runtime bundle that
`ndrc publish` uploaded, with the state machines driving them (live lock-and-start, backfill with the
extractor's task-token callback and the polling loop)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from compiler.local.emulator import PipelineOptions, running_emulator
from devtools.traffic import TrafficOptions, generate_traffic
from runtime.storage import LocalStorage

REPO = Path(__file__).resolve().parents[3]
PREFIX = "ndr-local-"
ACCOUNT_REGION = "us-east-1:123456789012"
STORAGE = ".ndrc/local/s3"

pytestmark = pytest.mark.emulator


class Local:
    def __init__(self, endpoint: str, root: Path) -> None:
        self.endpoint = endpoint
        self.root = root
        options = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self.sagemaker: Any = boto3.client("sagemaker", **options)
        self.sfn: Any = boto3.client("stepfunctions", **options)

    def machine(self, flow: str) -> str:
        return f"arn:aws:states:{ACCOUNT_REGION}:stateMachine:{PREFIX}{flow}"

    def wait_pipeline(self, arn: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            described = self.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
            if described["PipelineExecutionStatus"] != "Executing":
                return dict(described)
            assert time.monotonic() < deadline, f"{arn} still executing after {timeout}s"
            time.sleep(0.5)

    def steps(self, arn: str) -> list[dict[str, Any]]:
        found = self.sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")
        return list(found["PipelineExecutionSteps"])

    def executions(self, flow: str) -> list[dict[str, Any]]:
        return list(self.sagemaker.list_pipeline_executions(PipelineName=PREFIX + flow)["PipelineExecutionSummaries"])

    def parameters(self, arn: str) -> dict[str, str]:
        found = self.sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)
        return {p["Name"]: p["Value"] for p in found["PipelineParameters"]}

    def run_machine(self, flow: str, payload: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
        arn = self.sfn.start_execution(
            stateMachineArn=self.machine(flow), name=uuid.uuid4().hex, input=json.dumps(payload)
        )["executionArn"]
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return dict(described)
            assert time.monotonic() < deadline, f"{flow} execution still running after {timeout}s"
            time.sleep(0.5)


def _ndrc(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from compiler.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """The sample workspace provisioned and published onto an emulator that executes pipelines."""
    root = tmp_path_factory.mktemp("executing") / "ws"
    shutil.copytree(REPO / "specs", root / "specs")
    options = PipelineOptions(str(root / ".ndrc" / "pipelines"), str(root / STORAGE), step_budget=2)
    with running_emulator(root.parent, options) as endpoint:
        config = (REPO / "ndrc.yaml").read_text().replace("http://127.0.0.1:4566", endpoint)
        config = config.replace(  # the backfill polls its pipelines every 5 s (the schema's minimum), not 60
            f"    local_storage_root: {STORAGE}\n",
            f"    local_storage_root: {STORAGE}\n    orchestration:\n      pipeline_poll_seconds: 5\n",
            1,
        )
        (root / "ndrc.yaml").write_text(config)
        _ndrc("provision", cwd=root)
        _ndrc("publish", "--yes", cwd=root)
        yield Local(endpoint, root)


@pytest.fixture(scope="module")
def spec_check_only_15m(local: Local) -> None:
    """`feature-15m` cut down to its compiled ResolveSpecs step (no Spark), for the tests about how many
    pipelines the state machines start; the steps it keeps are the compiled ones, unchanged."""
    name = PREFIX + "feature-15m"
    definition = json.loads(local.sagemaker.describe_pipeline(PipelineName=name)["PipelineDefinition"])
    definition["Steps"] = [step for step in definition["Steps"] if step["Name"] == "ResolveSpecs"]
    local.sagemaker.update_pipeline(PipelineName=name, PipelineDefinition=json.dumps(definition))


def _window_parameters(project: str, batch: str) -> list[dict[str, str]]:
    values = {
        "ProjectName": project,
        "FeatureSpecVersion": "v1",
        "MiniBatchId": batch,
        "MiniBatchS3Prefix": f"s3://ndr-ingestion-local/x/{batch}/",
        "BatchStartTsIso": "2025-01-15T10:08:00Z",
        "BatchEndTsIso": "2025-01-15T10:09:00Z",
    }
    return [{"Name": k, "Value": v} for k, v in values.items()]


def test_a_failing_step_stops_its_dependents_and_describe_reports_why(local: Local) -> None:
    arn = local.sagemaker.start_pipeline_execution(
        PipelineName=PREFIX + "feature-15m",
        PipelineParameters=_window_parameters("no-such-project", "f1"),
        ClientRequestToken="f" * 40,
    )["PipelineExecutionArn"]
    described = local.wait_pipeline(arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("Step failure: One or multiple steps failed. ResolveSpecs: AlgorithmError: exit code 1")
    assert "no-such-project" in reason
    steps = local.steps(arn)
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("ResolveSpecs", "Failed")]  # nothing after it
    assert steps[0]["FailureReason"] in reason and steps[0]["EndTime"] >= steps[0]["StartTime"]
    assert steps[0]["Metadata"]["ProcessingJob"]["Arn"].startswith(
        f"arn:aws:sagemaker:{ACCOUNT_REGION}:processing-job/pipelines-"
    )
    listed = {s["PipelineExecutionArn"]: s for s in local.executions("feature-15m")}
    assert (
        listed[arn]["PipelineExecutionStatus"] == "Failed"
        and "no-such-project" in listed[arn]["PipelineExecutionFailureReason"]
    )


def test_a_repeated_client_request_token_starts_nothing_and_bad_parameters_are_refused(local: Local) -> None:
    token = uuid.uuid4().hex
    first, again = (
        local.sagemaker.start_pipeline_execution(
            PipelineName=PREFIX + "feature-15m",
            PipelineParameters=_window_parameters("no-such-project", "t1"),
            ClientRequestToken=token,
        )["PipelineExecutionArn"]
        for _ in range(2)
    )
    assert first == again
    assert [s["PipelineExecutionArn"] for s in local.executions("feature-15m")].count(first) == 1
    local.wait_pipeline(first)
    with pytest.raises(ClientError, match="'MiniBatchId' has no DefaultValue"):
        local.sagemaker.start_pipeline_execution(
            PipelineName=PREFIX + "feature-15m",
            ClientRequestToken=uuid.uuid4().hex,
            PipelineParameters=[p for p in _window_parameters("p", "t2") if p["Name"] != "MiniBatchId"],
        )


@pytest.mark.usefixtures("spec_check_only_15m")
def test_a_duplicate_live_event_starts_one_pipeline_that_runs_to_success(local: Local) -> None:
    event = {
        "s3_key": "paloalto/globex/hq/ndr-prod/2025/01/16/dupbatch0001/part-00000.json.gz",
        "timestamp": "2025-01-16T10:20:05Z",
    }
    first = local.run_machine("live-inference", event)
    second = local.run_machine("live-inference", event)
    assert first["status"] == second["status"] == "SUCCEEDED"
    started = [
        s
        for s in local.executions("feature-15m")
        if local.parameters(s["PipelineExecutionArn"]).get("MiniBatchId") == "dupbatch0001"
    ]
    assert len(started) == 1
    described = local.wait_pipeline(started[0]["PipelineExecutionArn"])
    assert described["PipelineExecutionStatus"] == "Succeeded" and "FailureReason" not in described


def _poll(root: Path) -> list[str]:
    """`ndrc local poll`: the execution ARNs it reports."""
    done = subprocess.run(
        [sys.executable, "-c", "from compiler.cli import main; main()", "local", "poll"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.split()[1] for line in done.stdout.splitlines() if line.startswith("started ")]


@pytest.mark.usefixtures("spec_check_only_15m")
def test_the_published_pipe_applied_locally_starts_the_live_machine_from_an_sns_delivered_event(
    local: Local,
) -> None:
    options = {
        "endpoint_url": local.endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sns, sqs = boto3.client("sns", **options), boto3.client("sqs", **options)
    key = "paloalto/globex/hq/ndr-prod/2025/01/17/pipebatch01/part-00000.json.gz"
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2025-01-17T10:20:05.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "ndr-ingestion-local"}, "object": {"key": key, "size": 10}},
    }
    topic = f"arn:aws:sns:{ACCOUNT_REGION}:ndr-ingestion-events-local"
    sns.publish(TopicArn=topic, Message=json.dumps({"Records": [record]}))

    [arn] = _poll(local.root)
    execution = local.sfn.describe_execution(executionArn=arn)
    assert execution["stateMachineArn"] == local.machine("live-inference")
    [delivered] = json.loads(execution["input"])  # the pipe's one-element batch of SQS records
    assert delivered["eventSource"] == "aws:sqs" and json.loads(delivered["body"])["Records"][0] == record
    assert delivered["eventSourceARN"] == f"arn:aws:sqs:{ACCOUNT_REGION}:{PREFIX}live-entry"
    deadline = time.monotonic() + 120
    while local.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert local.sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    started = [
        s
        for s in local.executions("feature-15m")
        if local.parameters(s["PipelineExecutionArn"]).get("MiniBatchId") == "pipebatch01"
    ]
    assert len(started) == 1
    # delivered messages are deleted: the queue is empty and a second poll starts nothing
    url = sqs.get_queue_url(QueueName=PREFIX + "live-entry")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert _poll(local.root) == []


@pytest.mark.usefixtures("spec_check_only_15m")
def test_a_backfill_of_n_windows_runs_the_extractor_then_n_pipelines_and_succeeds(local: Local) -> None:
    batches = generate_traffic(
        "s3://ndr-ingestion-local",
        start="2025-01-15T10:08:00Z",
        batches=3,
        rows_per_batch=20,
        options=TrafficOptions(org1="globex", org2="hq", project_name="ndr-prod", hosts=5, seed=3),
        storage=LocalStorage(local.root / STORAGE),
    )
    result = local.run_machine(
        "backfill", {"project_name": "ndr-prod", "start_date": "2025-01-15", "end_date": "2025-01-15"}
    )
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert (output["completed"], output["failed"]) == (3, 0)
    extractor = local.executions("backfill-extractor")
    assert len(extractor) == 1 and extractor[0]["PipelineExecutionStatus"] == "Succeeded"
    assert [s["StepName"] for s in local.steps(extractor[0]["PipelineExecutionArn"])] == [
        "ResolveSpecs",
        "HistoricalExtractor",
    ]
    ids = {b.mini_batch_id for b in batches}
    runs = [
        s
        for s in local.executions("feature-15m")
        if local.parameters(s["PipelineExecutionArn"]).get("MiniBatchId") in ids
    ]
    assert len(runs) == 3 and {s["PipelineExecutionStatus"] for s in runs} == {"Succeeded"}
    assert {local.parameters(s["PipelineExecutionArn"])["MiniBatchId"] for s in runs} == ids


def test_status_lists_a_scheduled_pipeline_with_its_steps(local: Local) -> None:
    # `ndrc local trigger` (the published schedules fired) is tested in test_local_schedules.py.
    from click.testing import CliRunner

    from compiler.cli import cli

    runner = CliRunner()
    parameters = [
        {"Name": "ProjectName", "Value": "nobody"},
        {"Name": "FeatureSpecVersion", "Value": ""},
        {"Name": "ReferenceTsIso", "Value": "2025-01-16T00:00:00Z"},
    ]
    arn = local.sagemaker.start_pipeline_execution(
        PipelineName=PREFIX + "fg-b-baseline", PipelineParameters=parameters, ClientRequestToken=uuid.uuid4().hex
    )["PipelineExecutionArn"]
    assert local.wait_pipeline(arn)["PipelineExecutionStatus"] == "Failed"
    bad_key = {"s3_key": "not/a/batch.json.gz", "timestamp": "2025-01-16T10:20:05Z"}
    rejected = local.run_machine("live-inference", bad_key)
    status = runner.invoke(cli, ["local", "status", "--workspace", str(local.root)])
    assert status.exit_code == 0, status.output
    line = next(line for line in status.output.splitlines() if arn.rsplit("/", 1)[-1] in line)
    assert line.split()[:3] == ["Failed", "pipeline", "ndr-local-fg-b-baseline"]
    assert "ResolveSpecs" in status.output and "reason: Step failure" in status.output
    line = next(line for line in status.output.splitlines() if rejected["executionArn"].rsplit(":", 1)[-1] in line)
    assert line.split()[:4] == ["FAILED", "state", "machine", "ndr-local-live-inference"]


def test_an_extractor_failure_reaches_the_backfill_through_send_task_failure(local: Local) -> None:
    # The state machine accepts any ordered dates; the extractor refuses ranges over 3,660 days and reports
    # it through SendTaskFailure with the token it reads by callback key.
    result = local.run_machine(
        "backfill", {"project_name": "ndr-prod", "start_date": "2000-01-01", "end_date": "2025-01-15"}
    )
    assert result["status"] == "FAILED"
    assert result["error"] == "ExtractorFailed" and "RuntimeJobError" in result["cause"], result
    failed = [s for s in local.executions("backfill-extractor") if s["PipelineExecutionStatus"] == "Failed"]
    assert any("longer than 3660 days" in s["PipelineExecutionFailureReason"] for s in failed)


@pytest.mark.usefixtures("spec_check_only_15m")
def test_the_run_report_reads_back_each_live_batch_its_pipeline_steps_and_the_duplicates(local: Local) -> None:
    from compiler.cli.options import open_environment
    from compiler.deploy.aws import Aws
    from compiler.local.run_collect import live_batches
    from compiler.orchestration.names import Orchestration

    event = {
        "s3_key": "paloalto/globex/hq/ndr-prod/2025/01/18/reportbatch1/part-00000.json.gz",
        "timestamp": "2025-01-18T10:20:05Z",
    }
    assert local.run_machine("live-inference", event)["status"] == "SUCCEEDED"
    assert local.run_machine("live-inference", event)["status"] == "SUCCEEDED"
    [started] = [
        s
        for s in local.executions("feature-15m")
        if local.parameters(s["PipelineExecutionArn"]).get("MiniBatchId") == "reportbatch1"
    ]
    local.wait_pipeline(started["PipelineExecutionArn"])

    _, environment = open_environment(local.root, "local")
    batches, steps = live_batches(Aws(environment), Orchestration(environment))
    mine = [b for b in batches if b.batch_id == "reportbatch1"]
    assert [(b.project, b.status) for b in mine] == [("ndr-prod", "Succeeded")]
    assert mine[0].finished is not None and mine[0].finished >= mine[0].delivered
    duplicate = batches[batches.index(mine[0]) + 1]  # the second delivery, started right after the first
    assert duplicate.status == "Duplicate"
    assert "ResolveSpecs" in {s.step for s in steps} and all(s.seconds > 0 for s in steps)
