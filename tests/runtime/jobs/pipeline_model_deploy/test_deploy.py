"""pipeline_model_deploy: the create path and reruns against the moto server; the update path (moto has no
UpdateEndpoint) through botocore's Stubber, which checks every request against the SageMaker API model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from runtime.entrypoint import main
from runtime.errors import RuntimeJobError
from runtime.jobs.pipeline_model_deploy.deploy import deploy, deployment_config
from runtime.jobs.pipeline_model_deploy.spec import DeploySpec
from runtime.jobs.pipeline_model_publish.publish import publish_model
from runtime.jobs.pipeline_model_publish.spec import PublishSpec
from runtime.storage import LocalStorage
from tests.runtime.conftest import job_argv, put_item
from tests.runtime.modelops.artifact_fixture import write_artifact

ARTIFACTS = "s3://models/ndr-prod/v1/if_training/"
ROLE = "arn:aws:iam::123456789012:role/ndr-sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ndr-model-server:1"


def deploy_payload(endpoint: str, group: str, **deployment: Any) -> dict[str, Any]:
    return {
        "endpoint_name": endpoint,
        "model": {"model_package_group_name": group},
        "production_variant": {"instance_type": "ml.c5.xlarge", "initial_instance_count": 2},
        "execution_role_arn": ROLE,
        "deployment": {"strategy": "all_at_once", **deployment},
    }


def publish(sm: Any, storage: LocalStorage, group: str, version: str, status: str = "Approved") -> str:
    write_artifact(storage, ARTIFACTS, "ndr-prod", version)
    spec = PublishSpec.from_payload(
        {
            "artifacts_s3_prefix": ARTIFACTS,
            "model_package_group_name": group,
            "inference_image_uri": IMAGE,
            "approval_status": status,
        },
        "t",
    )
    return str(publish_model(spec, "ndr-prod", version, storage, sm)["model_package_arn"])


def test_first_deploy_creates_model_config_and_endpoint_and_a_rerun_changes_nothing(
    sm: Any, storage: LocalStorage, names: tuple[str, str]
) -> None:
    endpoint, group = names
    arn = publish(sm, storage, group, "if-1")
    spec = DeploySpec.from_payload(deploy_payload(endpoint, group), "t")
    summary = deploy(spec, sm, sleep=lambda s: None)
    assert summary["deployed"] and summary["model_package_arn"] == arn
    assert summary["model_name"] == f"{endpoint}-v1" and summary["endpoint_config_name"] == f"{endpoint}-v1"
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == f"{endpoint}-v1"
    config = sm.describe_endpoint_config(EndpointConfigName=f"{endpoint}-v1")
    assert config["ProductionVariants"][0]["ModelName"] == f"{endpoint}-v1"
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2
    assert sm.describe_model(ModelName=f"{endpoint}-v1")["PrimaryContainer"]["ModelPackageName"] == arn
    again = deploy(spec, sm, sleep=lambda s: None)
    assert again["actions"] == [f"endpoint {endpoint} already serves {endpoint}-v1"]


def test_only_approved_packages_are_deployed(sm: Any, storage: LocalStorage, names: tuple[str, str]) -> None:
    endpoint, group = names
    publish(sm, storage, group, "if-1", status="PendingManualApproval")
    summary = deploy(DeploySpec.from_payload(deploy_payload(endpoint, group), "t"), sm)
    assert not summary["deployed"] and "no Approved model package" in summary["reason"]


class _Sequence:
    """Stubber responses for the update path: what SageMaker answers to each call, in order."""

    def __init__(self, endpoint: str, group: str) -> None:
        self.endpoint, self.group = endpoint, group
        self.arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/2"

    def prepare(
        self,
        stub: Stubber,
        spec: DeploySpec,
        after_update_config: str,
        before_update: Callable[[Stubber], None] = lambda stub: None,
    ) -> None:
        e, new = self.endpoint, f"{self.endpoint}-v2"
        stub.add_response(
            "list_model_packages",
            {
                "ModelPackageSummaryList": [
                    {
                        "ModelPackageArn": self.arn,
                        "ModelPackageGroupName": self.group,
                        "ModelPackageVersion": 2,
                        "CreationTime": "2025-01-01T00:00:00Z",
                        "ModelPackageStatus": "Completed",
                        "ModelApprovalStatus": "Approved",
                        "ModelPackageName": self.group,
                    }
                ]
            },
            {
                "ModelPackageGroupName": self.group,
                "ModelApprovalStatus": "Approved",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
        )
        stub.add_response(
            "describe_model_package",
            {
                "ModelPackageName": self.group,
                "ModelPackageArn": self.arn,
                "ModelPackageVersion": 2,
                "CreationTime": "2025-01-01T00:00:00Z",
                "ModelPackageStatus": "Completed",
                "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            },
            {"ModelPackageName": self.arn},
        )
        stub.add_client_error("describe_model", "ValidationException", "Could not find model", 400)
        stub.add_response(
            "create_model",
            {"ModelArn": f"arn:aws:sagemaker:us-east-1:1:model/{new}"},
            {"ModelName": new, "ExecutionRoleArn": ROLE, "PrimaryContainer": {"ModelPackageName": self.arn}},
        )
        stub.add_client_error("describe_endpoint_config", "ValidationException", "Could not find config", 400)
        stub.add_response(
            "create_endpoint_config",
            {"EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:1:ec/{new}"},
            {
                "EndpointConfigName": new,
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": new,
                        "InstanceType": spec.instance_type,
                        "InitialInstanceCount": 2,
                    }
                ],
            },
        )
        stub.add_response("describe_endpoint", self.endpoint_doc(f"{e}-v1", "InService"), {"EndpointName": e})
        before_update(stub)
        stub.add_response(
            "update_endpoint",
            {"EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{e}"},
            {"EndpointName": e, "EndpointConfigName": new, "DeploymentConfig": deployment_config(spec.rollout)},
        )
        stub.add_response("describe_endpoint", self.endpoint_doc(new, "Updating"), {"EndpointName": e})
        stub.add_response("describe_endpoint", self.endpoint_doc(after_update_config, "InService"), {"EndpointName": e})

    def endpoint_doc(self, config: str, status: str) -> dict[str, Any]:
        return {
            "EndpointName": self.endpoint,
            "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{self.endpoint}",
            "EndpointConfigName": config,
            "EndpointStatus": status,
            "CreationTime": "2025-01-01T00:00:00Z",
            "LastModifiedTime": "2025-01-01T00:00:00Z",
        }


def stubbed_client() -> Any:
    return boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def test_canary_update_sends_a_blue_green_policy_with_rollback_alarms(names: tuple[str, str]) -> None:
    endpoint, group = names
    spec = DeploySpec.from_payload(
        deploy_payload(
            endpoint,
            group,
            strategy="canary",
            canary_size_percent=10,
            wait_interval_seconds=600,
            termination_wait_seconds=300,
            auto_rollback_alarms=["ep-5xx"],
            poll_seconds=0,
        ),
        "t",
    )
    assert deployment_config(spec.rollout) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 600,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            },
            "TerminationWaitInSeconds": 300,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "ep-5xx"}]},
    }
    client = stubbed_client()
    slept: list[float] = []
    with Stubber(client) as stub:
        _Sequence(endpoint, group).prepare(stub, spec, after_update_config=f"{endpoint}-v2")
        summary = deploy(spec, client, sleep=slept.append)
        stub.assert_no_pending_responses()
    assert summary["previous_endpoint_config_name"] == f"{endpoint}-v1" and summary["strategy"] == "canary"
    assert slept == [0.0]


def test_an_update_sagemaker_rolled_back_fails_the_step(names: tuple[str, str]) -> None:
    endpoint, group = names
    spec = DeploySpec.from_payload(
        deploy_payload(endpoint, group, strategy="linear", linear_step_percent=25, poll_seconds=0), "t"
    )
    client = stubbed_client()
    with Stubber(client) as stub:
        _Sequence(endpoint, group).prepare(stub, spec, after_update_config=f"{endpoint}-v1")
        with pytest.raises(RuntimeJobError, match=f"rolled back to {endpoint}-v1"):
            deploy(spec, client, sleep=lambda s: None)


def run_deploy_job(params_table: str, storage: LocalStorage, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """`pipeline_model_deploy` for ndr-prod v1 through the entry point; its one-line JSON summary."""
    assert main(job_argv("pipeline_model_deploy", params_table, storage.root)) == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return summary


def test_deploy_on_success_false_does_nothing_and_says_so(
    aws_env: str,
    ddb: Any,
    params_table: str,
    storage: LocalStorage,
    names: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, group = names
    put_item(
        ddb,
        params_table,
        {"project_name": "ndr-prod", "job_name": "pipeline_model_deploy#v1", "spec": deploy_payload(endpoint, group)},
    )
    put_item(
        ddb,
        params_table,
        {
            "project_name": "ndr-prod",
            "job_name": "if_training#v1",
            "spec": {"model": {"version": "if-1"}, "deployment": {"deploy_on_success": False}},
        },
    )
    summary = run_deploy_job(params_table, storage, capsys)
    assert summary["deployed"] is False and "deploy_on_success is not true in if_training#v1" in summary["reason"]
    with pytest.raises(Exception, match="Could not find endpoint"):
        boto3.client("sagemaker").describe_endpoint(EndpointName=endpoint)


def test_deploy_job_deploys_when_asked(
    aws_env: str,
    ddb: Any,
    params_table: str,
    storage: LocalStorage,
    names: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint, group = names
    publish(boto3.client("sagemaker"), storage, group, "if-1")
    put_item(
        ddb,
        params_table,
        {"project_name": "ndr-prod", "job_name": "pipeline_model_deploy#v1", "spec": deploy_payload(endpoint, group)},
    )
    put_item(
        ddb,
        params_table,
        {
            "project_name": "ndr-prod",
            "job_name": "if_training#v1",
            "spec": {"deployment": {"deploy_on_success": True, "endpoint_config_name": f"{endpoint}-cfg"}},
        },
    )
    summary = run_deploy_job(params_table, storage, capsys)
    assert summary["deployed"] is True and summary["endpoint_config_name"] == f"{endpoint}-cfg-v1"
