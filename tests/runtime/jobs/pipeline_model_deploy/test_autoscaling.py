"""pipeline_model_deploy applies the spec's `autoscaling` through Application Auto Scaling (moto over HTTP):
a scalable target and a target-tracking policy, idempotent on rerun, released around an instance-type update."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from runtime.errors import SpecError
from runtime.jobs.pipeline_model_deploy import autoscaling
from runtime.jobs.pipeline_model_deploy.deploy import deploy
from runtime.jobs.pipeline_model_deploy.spec import DeploySpec
from runtime.storage import LocalStorage
from tests.runtime.jobs.pipeline_model_deploy.test_deploy import (
    _Sequence,
    deploy_payload,
    publish,
    stubbed_client,
)

pytestmark = pytest.mark.emulator

SCALING = {"min_capacity": 2, "max_capacity": 6, "target_invocations_per_instance": 1200}


def scaled_payload(endpoint: str, group: str, **scaling: Any) -> dict[str, Any]:
    return {**deploy_payload(endpoint, group), "autoscaling": {**SCALING, **scaling}}


@pytest.fixture
def aas(aws_env: str) -> Any:
    return boto3.client("application-autoscaling")


def described(aas: Any, endpoint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rid = autoscaling.resource_id(endpoint, "AllTraffic")
    targets = aas.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[rid], ScalableDimension=autoscaling.DIMENSION
    )["ScalableTargets"]
    policies = aas.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=autoscaling.DIMENSION
    )["ScalingPolicies"]
    return targets, policies


def test_the_spec_reads_capacities_and_refuses_what_aws_refuses() -> None:
    spec = DeploySpec.from_payload(scaled_payload("e", "g"), "t")
    assert spec.autoscaling == autoscaling.AutoscalingSpec(2, 6, 1200)
    defaults = DeploySpec.from_payload(
        {**deploy_payload("e", "g"), "autoscaling": {"target_invocations_per_instance": 50}}, "t"
    )
    assert defaults.autoscaling == autoscaling.AutoscalingSpec(2, 2, 50)  # the initial instance count
    assert DeploySpec.from_payload(deploy_payload("e", "g"), "t").autoscaling is None
    with pytest.raises(SpecError, match=r"spec\.autoscaling\.max_capacity must be at least min_capacity 4"):
        DeploySpec.from_payload(scaled_payload("e", "g", min_capacity=4, max_capacity=3), "t")
    with pytest.raises(SpecError, match="target_invocations_per_instance is required"):
        DeploySpec.from_payload({**deploy_payload("e", "g"), "autoscaling": {"max_capacity": 3}}, "t")


def test_deploy_registers_the_variant_and_a_target_tracking_policy_once(
    sm: Any,
    aas: Any,
    storage: LocalStorage,
    names: tuple[str, str],
) -> None:
    endpoint, group = names
    publish(sm, storage, group, "if-1")
    spec = DeploySpec.from_payload(scaled_payload(endpoint, group), "t")
    summary = deploy(spec, sm, sleep=lambda s: None, scaling=aas)
    rid = f"endpoint/{endpoint}/variant/AllTraffic"
    assert summary["autoscaling"] == {
        "resource_id": rid,
        "min_capacity": 2,
        "max_capacity": 6,
        "target_invocations_per_instance": 1200,
    }
    targets, policies = described(aas, endpoint)
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [(rid, 2, 6)]
    assert [p["PolicyName"] for p in policies] == [f"{endpoint}-AllTraffic-invocations-per-instance"]
    assert policies[0]["PolicyType"] == "TargetTrackingScaling"
    assert policies[0]["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 1200.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
    }

    again = deploy(spec, sm, sleep=lambda s: None, scaling=aas)
    assert again["actions"] == [
        f"endpoint {endpoint} already serves {endpoint}-v1",
        f"{rid} already scales 2..6 instances",
        f"scaling policy {endpoint}-AllTraffic-invocations-per-instance already targets 1200 "
        "SageMakerVariantInvocationsPerInstance",
    ]
    wider = DeploySpec.from_payload(
        scaled_payload(endpoint, group, max_capacity=8, target_invocations_per_instance=900), "t"
    )
    changed = deploy(wider, sm, sleep=lambda s: None, scaling=aas)
    assert changed["actions"][1:] == [
        f"registered {rid} for autoscaling (2..8 instances)",
        f"put scaling policy {endpoint}-AllTraffic-invocations-per-instance "
        "(SageMakerVariantInvocationsPerInstance = 900)",
    ]
    targets, policies = described(aas, endpoint)
    assert (targets[0]["MaxCapacity"], policies[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]) == (
        8,
        900.0,
    )
    assert len(policies) == 1


def test_deploy_without_a_client_for_autoscaling_fails_clearly(
    sm: Any,
    storage: LocalStorage,
    names: tuple[str, str],
) -> None:
    endpoint, group = names
    publish(sm, storage, group, "if-1")
    with pytest.raises(Exception, match="no application-autoscaling client"):
        deploy(DeploySpec.from_payload(scaled_payload(endpoint, group), "t"), sm, sleep=lambda s: None)


def test_an_instance_type_change_deregisters_before_the_update_and_registers_after(
    aas: Any,
    names: tuple[str, str],
) -> None:
    """AWS fails UpdateEndpoint when it changes the instance type of a variant registered for autoscaling
    ("Update endpoints that use auto scaling"); moto does not, so the order is checked on the calls."""
    endpoint, group = names
    payload = scaled_payload(endpoint, group)
    payload["production_variant"]["instance_type"] = "ml.c5.2xlarge"  # v1 ran on ml.c5.xlarge
    payload["deployment"]["poll_seconds"] = 0
    spec = DeploySpec.from_payload(payload, "t")
    assert spec.autoscaling is not None
    autoscaling.apply(aas, spec.autoscaling, endpoint, "AllTraffic")  # v1's registration
    calls: list[str] = []
    aas.meta.events.register("before-call.application-autoscaling.*", lambda model, **_: calls.append(model.name))

    client = stubbed_client()
    with Stubber(client) as stub:
        _Sequence(endpoint, group).prepare(
            stub, spec, f"{endpoint}-v2", before_update=previous_config(endpoint, "ml.c5.xlarge")
        )
        summary = deploy(spec, client, sleep=lambda s: None, scaling=aas)
        stub.assert_no_pending_responses()
    rid = autoscaling.resource_id(endpoint, "AllTraffic")
    assert summary["actions"][2:4] == [
        f"deleted scaling policy {endpoint}-AllTraffic-invocations-per-instance",
        f"deregistered {rid} (the update changes its instance type)",
    ]
    assert summary["actions"][-2].startswith(f"registered {rid}")
    assert calls == [
        "DescribeScalableTargets", "DescribeScalingPolicies", "DeleteScalingPolicy", "DeregisterScalableTarget",
        "DescribeScalableTargets", "RegisterScalableTarget", "DescribeScalingPolicies", "PutScalingPolicy",
    ]  # fmt: skip
    targets, policies = described(aas, endpoint)
    assert len(targets) == 1 and len(policies) == 1


def previous_config(endpoint: str, instance_type: str) -> Callable[[Stubber], None]:
    """DescribeEndpointConfig of the config the endpoint runs, answered before the update."""

    def add(stub: Stubber) -> None:
        stub.add_response(
            "describe_endpoint_config",
            {
                "EndpointConfigName": f"{endpoint}-v1",
                "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:1:endpoint-config/{endpoint}-v1",
                "ProductionVariants": [
                    {"VariantName": "AllTraffic", "ModelName": f"{endpoint}-v1", "InstanceType": instance_type,
                     "InitialInstanceCount": 2}
                ],
                "CreationTime": "2025-01-01T00:00:00Z",
            },
            {"EndpointConfigName": f"{endpoint}-v1"},
        )  # fmt: skip

    return add
