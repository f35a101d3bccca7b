"""Deploying a compiled build onto a moto server and running executions: shared by tests and the benchmark."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from compiler.local.emulator import running_emulator

REGION = "us-east-1"
TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
TABLE_KEYS = {
    "parameters": [("project_name", "HASH"), ("job_name", "RANGE")],
    "routing": [("org_key", "HASH")],
    "lock": [("lock_key", "HASH")],
}


def moto_server(cwd: Path) -> AbstractContextManager[str]:
    """A moto server process on 127.0.0.1 of its own (the shared one is session-wide)."""
    return running_emulator(cwd)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@dataclass
class Deployment:
    endpoint: str
    build: Path
    manifest: dict[str, Any]
    tables: dict[str, str]
    state_machines: dict[str, str] = field(default_factory=dict)  # role -> ARN
    pipelines: dict[str, str] = field(default_factory=dict)  # name -> ARN

    def client(self, service: str) -> Any:
        return client(service, self.endpoint)

    def pipeline(self, suffix: str) -> str:
        return next(name for name in self.pipelines if name.endswith(suffix))


def deploy(endpoint: str, build: Path, tables: dict[str, str], role_arn: str) -> Deployment:
    """Provision the tables, load the compiled items, create the compiled pipelines and state machines."""
    manifest = json.loads((build / "manifest.json").read_text())
    deployment = Deployment(endpoint, build, manifest, tables)
    ddb, sagemaker, sfn = (client(s, endpoint) for s in ("dynamodb", "sagemaker", "stepfunctions"))
    for purpose, keys in TABLE_KEYS.items():
        ddb.create_table(
            TableName=tables[purpose],
            KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )
    ddb.update_time_to_live(
        TableName=tables["lock"], TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    for entry in manifest["artifacts"]:
        text = (build / entry["path"]).read_text() if entry["kind"] != "runtime_bundle" else ""
        if entry["kind"] == "dynamodb_items":
            for line in text.splitlines():
                ddb.put_item(TableName=entry["name"], Item=json.loads(line)["Item"])
        elif entry["kind"] == "sagemaker_pipeline":
            deployment.pipelines[entry["name"]] = sagemaker.create_pipeline(
                PipelineName=entry["name"], PipelineDefinition=text, RoleArn=role_arn, ClientRequestToken="t" * 32
            )["PipelineArn"]
        elif entry["kind"] == "state_machine":
            deployment.state_machines[entry["role"]] = sfn.create_state_machine(
                name=entry["name"], definition=text, roleArn=role_arn
            )["stateMachineArn"]
    return deployment


@dataclass(frozen=True)
class Run:
    arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]

    @property
    def transitions(self) -> int:
        """Billed state transitions: every state entered (what AWS counts for Standard workflows)."""
        return sum(1 for event in self.events if event["type"].endswith("StateEntered"))

    @property
    def states(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.events if e["type"].endswith("StateEntered")]


def start(sfn: Any, machine: str, payload: Any) -> str:
    # moto names an unnamed execution "None" (AWS would generate a UUID): name every one.
    name = uuid.uuid4().hex
    return str(sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))["executionArn"])


def _machine(execution_arn: str) -> str:
    prefix, _, rest = execution_arn.partition(":execution:")
    return f"{prefix}:stateMachine:{rest.rsplit(':', 1)[0]}"


def _running(sfn: Any, machines: set[str]) -> set[str]:
    running: set[str] = set()
    for machine in machines:
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine, statusFilter="RUNNING"):
            running.update(e["executionArn"] for e in page["executions"])
    return running


def wait_all(sfn: Any, arns: list[str], timeout: float = 90.0) -> list[Run]:
    """Poll until every execution ended: one ListExecutions(RUNNING) per state machine per round."""
    pending, delay = set(arns), 0.05
    machines = {_machine(arn) for arn in arns}
    deadline = time.monotonic() + timeout
    while pending:
        pending &= _running(sfn, machines)
        if not pending:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(pending)} execution(s) still running after {timeout}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    return [_run(sfn, arn, sfn.describe_execution(executionArn=arn)) for arn in arns]


def _run(sfn: Any, arn: str, described: dict[str, Any]) -> Run:
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    output = json.loads(described["output"]) if described.get("output") else None
    return Run(arn, described["status"], output, described.get("error"), described.get("cause"), events)


def execute(sfn: Any, machine: str, payloads: list[Any], timeout: float = 60.0) -> list[Run]:
    return wait_all(sfn, [start(sfn, machine, payload) for payload in payloads], timeout)


def pipeline_parameters(sagemaker: Any, execution_arn: str) -> dict[str, str]:
    response = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)
    return {p["Name"]: p["Value"] for p in response["PipelineParameters"]}


def pipeline_executions(sagemaker: Any, pipeline: str) -> list[str]:
    summaries = sagemaker.list_pipeline_executions(PipelineName=pipeline)["PipelineExecutionSummaries"]
    return [s["PipelineExecutionArn"] for s in summaries]
