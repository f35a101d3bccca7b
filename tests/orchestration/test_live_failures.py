"""Events the live state machine must refuse, each in a named Fail state with a readable cause."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from orchestration_harness import Deployment, execute, pipeline_executions

pytestmark = pytest.mark.emulator
DAY = "2025/01/15"
GOOD_TS = "2025-01-15T10:27:41Z"


def key(org: str = "globex/hq", project: str = "ndr-prod", day: str = DAY, name: str = "part-0.json.gz") -> str:
    return f"paloalto/{org}/{project}/{day}/mb-{uuid.uuid4().hex[:8]}/{name}"


# (event, expected error, a fragment of the expected cause)
CASES: list[tuple[dict[str, Any], str, str]] = [
    (
        {"s3_key": "globex/hq/ndr-prod/2025/01/15/p.json.gz", "timestamp": GOOD_TS},
        "InvalidBatchKey",
        "expected at least 8 path segments, found 7",
    ),
    ({"s3_key": "", "timestamp": GOOD_TS}, "InvalidBatchKey", "must be a non-empty string"),
    ({"s3_key": 42, "timestamp": GOOD_TS}, "InvalidBatchKey", "must be a non-empty string"),
    ({"timestamp": GOOD_TS}, "InvalidBatchKey", "must be a non-empty string"),
    ({"s3_key": key(name="part-0.csv"), "timestamp": GOOD_TS}, "InvalidBatchKey", "must end in .json.gz"),
    ({"s3_key": key(name=".json.gz"), "timestamp": GOOD_TS}, "InvalidBatchKey", "must end in .json.gz"),
    ({"s3_key": key(day="2025/02/30"), "timestamp": GOOD_TS}, "InvalidBatchKey", "2025/02/30 is not a calendar date"),
    ({"s3_key": key(day="2023/02/29"), "timestamp": GOOD_TS}, "InvalidBatchKey", "2023/02/29 is not a calendar date"),
    ({"s3_key": key(day="2025/1/15"), "timestamp": GOOD_TS}, "InvalidBatchKey", "must be YYYY/MM/dd"),
    ({"s3_key": key(project="ndr prod"), "timestamp": GOOD_TS}, "InvalidBatchKey", "project_name segment ndr prod"),
    ({"s3_key": key(org="globex//hq"), "timestamp": GOOD_TS}, "InvalidBatchKey", "is empty or has unexpected"),
    ({"s3_key": key(), "timestamp": "yesterday"}, "InvalidTimestamp", "timestamp yesterday is neither ISO-8601"),
    ({"s3_key": key(), "timestamp": "2025-01-15 10:27:41Z"}, "InvalidTimestamp", "neither ISO-8601"),
    ({"s3_key": key(), "timestamp": "2025-13-01T00:00:00Z"}, "InvalidTimestamp", "neither ISO-8601"),
    ({"s3_key": key(), "timestamp": "2025-02-29T10:00:00Z"}, "InvalidTimestamp", "neither ISO-8601"),
    ({"s3_key": key(), "timestamp": "2025-01-15T24:00:00Z"}, "InvalidTimestamp", "neither ISO-8601"),
    ({"s3_key": key(), "timestamp": -5}, "InvalidTimestamp", "epoch seconds must be 0 to 253402300799"),
    ({"s3_key": key()}, "InvalidTimestamp", "neither ISO-8601"),
    # out of range: before the bounds, `$fromMillis` failed the execution (States.QueryEvaluationError)
    ({"s3_key": key(), "timestamp": "2025-01-15T10:27:41+24:00"}, "InvalidTimestamp", "offsets up to 14:59"),
    ({"s3_key": key(), "timestamp": "2025-01-15T10:27:41-15:00"}, "InvalidTimestamp", "neither ISO-8601"),
    ({"s3_key": key(), "timestamp": "2025-01-15T10:27:41+05:60"}, "InvalidTimestamp", "neither ISO-8601"),
    ({"s3_key": key(), "timestamp": 1e20}, "InvalidTimestamp", "epoch seconds must be 0 to 253402300799"),
    ({"s3_key": key(), "timestamp": 253402300800}, "InvalidTimestamp", "epoch seconds must be 0 to 253402300799"),
    # every field reaches the pipeline as a container argument (AWS: at most 256 characters each)
    (
        {"s3_key": f"paloalto/globex/hq/ndr-prod/{DAY}/{'m' * 220}/p.json.gz", "timestamp": GOOD_TS},
        "InvalidBatchKey",
        "pipeline arguments hold at most 256",
    ),
    (
        {"s3_key": key(org="nowhere/none", project="nobody"), "timestamp": GOOD_TS},
        "UnknownProject",
        "project nobody has no items in table ml_projects_parameters",
    ),
    (
        {"s3_key": key(org="globex/lab"), "timestamp": GOOD_TS},
        "RouteDisabled",
        "ingestion route globex#lab is disabled",
    ),
    (
        {"s3_key": key(project="ndr-acme-prod"), "timestamp": GOOD_TS},
        "RouteProjectMismatch",
        "ingestion route globex#hq belongs to project ndr-prod, but the key names project ndr-acme-prod",
    ),
    (
        {"s3_key": key(org="test/nodefaults", project="ndr-nodefaults"), "timestamp": GOOD_TS},
        "MissingProjectDefaults",
        "project ndr-nodefaults: no spec.defaults in project_parameters#v1",
    ),
    (
        {"s3_key": key(org="test/pinned", project="ndr-partial"), "timestamp": GOOD_TS},
        "MissingProjectDefaults",
        "project ndr-partial: no spec.defaults in project_parameters#v9",
    ),
    (
        {"s3_key": key(org="test/partial", project="ndr-partial"), "timestamp": GOOD_TS},
        "MissingJobSpecs",
        "project ndr-partial has no spec for fg_a_builder#v1, pair_counts_builder#v1, fg_c_builder#v1, "
        "inference_predictions#v1",
    ),
]


def _item(project: str, job: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"project_name": {"S": project}, "job_name": {"S": job}, "spec": {"M": spec}}


@pytest.fixture(scope="module")
def broken_projects(deployment: Deployment) -> None:
    """Projects that are half set up, next to the sample workspace's complete ones."""
    ddb, tables = deployment.client("dynamodb"), deployment.tables
    defaults = {"defaults": {"M": {"ProjectName": {"S": "ndr-partial"}}}}
    for item in (
        _item("ndr-nodefaults", "project_parameters#v1", {"ip_machine_mapping_s3_prefix": {"S": "s3://x/"}}),
        _item("ndr-partial", "project_parameters#v1", defaults),
        _item("ndr-partial", "delta_builder#v1", {}),
    ):
        ddb.put_item(TableName=tables["parameters"], Item=item)
    for org_key, version in (("test#partial", "v1"), ("test#pinned", "v9")):
        route = {
            "org_key": {"S": org_key},
            "project_name": {"S": "ndr-partial"},
            "feature_spec_version": {"S": version},
        }
        ddb.put_item(TableName=tables["routing"], Item=route)


def test_named_failures_start_nothing(deployment: Deployment, broken_projects: None) -> None:
    sagemaker = deployment.client("sagemaker")
    pipeline = deployment.pipeline("feature-15m")
    before = len(pipeline_executions(sagemaker, pipeline))
    runs = execute(deployment.client("stepfunctions"), deployment.state_machines["live"], [c[0] for c in CASES])
    for run, (event, error, cause) in zip(runs, CASES, strict=True):
        assert (run.status, run.error) == ("FAILED", error), (event, run.error, run.cause)
        assert cause in (run.cause or ""), (event, run.cause)
        assert "StartPipeline" not in run.states and "AcquireLock" not in run.states
    assert len(pipeline_executions(sagemaker, pipeline)) == before


def test_failed_start_releases_the_lock(deployment: Deployment) -> None:
    """A pipeline that cannot start: PipelineStartFailed, the lock is released, a retry can succeed."""
    sfn, ddb = deployment.client("stepfunctions"), deployment.client("dynamodb")
    live = deployment.state_machines["live"]
    definition = sfn.describe_state_machine(stateMachineArn=live)["definition"]
    pipeline = deployment.pipeline("feature-15m")
    assert json.dumps(pipeline) in definition
    broken = sfn.create_state_machine(
        name="live-with-missing-pipeline",
        definition=definition.replace(json.dumps(pipeline), json.dumps("no-such-pipeline")),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    event = {"s3_key": key(), "timestamp": "2025-09-09T09:09:09Z"}
    [failed] = execute(sfn, broken, [event])
    assert failed.error == "PipelineStartFailed", failed.cause
    cause = failed.cause or ""
    assert "for ndr-prod#v1#2025-09-09T09:08:00Z#2025-09-09T09:09:09Z (lock released)" in cause
    assert "no-such-pipeline" in cause  # SageMaker's own message follows
    # a direct execution has no message to redeliver: Redeliver -> Failed -> the named failure
    assert failed.states[-5:] == ["StartPipeline", "ReleaseLock", "Redeliver", "Failed", "PipelineStartFailed"]
    lock_key = "ndr-prod#v1#2025-09-09T09:08:00Z#2025-09-09T09:09:09Z"
    assert "Item" not in ddb.get_item(TableName=deployment.tables["lock"], Key={"lock_key": {"S": lock_key}})
    [retried] = execute(sfn, live, [event])
    assert retried.output["status"] == "started"
