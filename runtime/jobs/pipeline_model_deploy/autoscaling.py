"""Target-tracking autoscaling of the endpoint's variant through Application Auto Scaling.

The variant (`endpoint/<endpoint>/variant/<variant>`, dimension `sagemaker:variant:DesiredInstanceCount`) is
registered as a scalable target with `min_capacity`..`max_capacity`, and one target-tracking policy keeps
`SageMakerVariantInvocationsPerInstance` at `target_invocations_per_instance` (SageMaker Developer Guide,
"Automatic scaling of Amazon SageMaker AI models"). Both calls are upserts in AWS; the job describes first and
calls only when something differs, so a rerun reports "already" and changes nothing.

An update that changes the instance type of a variant registered for autoscaling fails in AWS ("Update
endpoints that use auto scaling": delete the policies and deregister the target first, register again after);
`release_for_update` does that before UpdateEndpoint, and `apply` registers again once the endpoint is in
service. A model change alone is allowed with autoscaling on, and nothing is deregistered for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.payload import PayloadReader
from runtime.errors import RuntimeJobError
from runtime.inference.spec_parts import integer

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC = "SageMakerVariantInvocationsPerInstance"


@dataclass(frozen=True)
class AutoscalingSpec:
    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: int

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], where: str, initial_instance_count: int) -> AutoscalingSpec:
        """`autoscaling.*`; capacities default to the variant's initial instance count. RegisterScalableTarget
        refuses MinCapacity > MaxCapacity (ValidationException); moto accepts it, so it is checked here."""
        r = PayloadReader(payload, where)
        low = integer(r, "autoscaling.min_capacity", initial_instance_count, minimum=1)
        high = integer(r, "autoscaling.max_capacity", max(low, initial_instance_count), minimum=1)
        if low > high:
            raise r.fail("autoscaling.max_capacity", f"must be at least min_capacity {low} (got {high})")
        if not r.has("autoscaling.target_invocations_per_instance"):
            raise r.fail("autoscaling.target_invocations_per_instance", "is required to scale on invocations")
        target = integer(r, "autoscaling.target_invocations_per_instance", 1, minimum=1)
        return cls(low, high, target)


def resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


def policy_name(endpoint_name: str, variant_name: str) -> str:
    return f"{endpoint_name}-{variant_name}-invocations-per-instance"


def _target(client: Any, rid: str) -> dict[str, Any] | None:
    found = client.describe_scalable_targets(ServiceNamespace=NAMESPACE, ResourceIds=[rid], ScalableDimension=DIMENSION)
    targets = found.get("ScalableTargets", [])
    return dict(targets[0]) if targets else None


def _policy(client: Any, rid: str, name: str) -> dict[str, Any] | None:
    found = client.describe_scaling_policies(
        ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION, PolicyNames=[name]
    )
    policies = found.get("ScalingPolicies", [])
    return dict(policies[0]) if policies else None


def tracking_configuration(spec: AutoscalingSpec) -> dict[str, Any]:
    return {
        "TargetValue": float(spec.target_invocations_per_instance),
        "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
    }


def apply(client: Any, spec: AutoscalingSpec, endpoint_name: str, variant_name: str) -> list[str]:
    """Register the variant and put the policy where they differ from the spec; the actions taken."""
    rid, name = resource_id(endpoint_name, variant_name), policy_name(endpoint_name, variant_name)
    actions = []
    target = _target(client, rid)
    if target is None or (target.get("MinCapacity"), target.get("MaxCapacity")) != (
        spec.min_capacity,
        spec.max_capacity,
    ):
        client.register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=rid,
            ScalableDimension=DIMENSION,
            MinCapacity=spec.min_capacity,
            MaxCapacity=spec.max_capacity,
        )
        actions.append(f"registered {rid} for autoscaling ({spec.min_capacity}..{spec.max_capacity} instances)")
    else:
        actions.append(f"{rid} already scales {spec.min_capacity}..{spec.max_capacity} instances")
    wanted = tracking_configuration(spec)
    policy = _policy(client, rid, name)
    current = (policy or {}).get("TargetTrackingScalingPolicyConfiguration", {})
    same = (
        policy is not None
        and policy.get("PolicyType") == "TargetTrackingScaling"
        and float(current.get("TargetValue", -1)) == wanted["TargetValue"]
        and current.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType") == METRIC
    )
    if same:
        actions.append(f"scaling policy {name} already targets {spec.target_invocations_per_instance} {METRIC}")
    else:
        client.put_scaling_policy(
            PolicyName=name,
            ServiceNamespace=NAMESPACE,
            ResourceId=rid,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=wanted,
        )
        actions.append(f"put scaling policy {name} ({METRIC} = {spec.target_invocations_per_instance})")
    return actions


def release_for_update(client: Any, endpoint_name: str, variant_name: str) -> list[str]:
    """Delete the variant's scaling policies and deregister it (before an instance-type change)."""
    rid = resource_id(endpoint_name, variant_name)
    if _target(client, rid) is None:
        return []
    actions = []
    found = client.describe_scaling_policies(ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION)
    for policy in found.get("ScalingPolicies", []):
        client.delete_scaling_policy(
            PolicyName=policy["PolicyName"], ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION
        )
        actions.append(f"deleted scaling policy {policy['PolicyName']}")
    client.deregister_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=rid, ScalableDimension=DIMENSION)
    actions.append(f"deregistered {rid} (the update changes its instance type)")
    return actions


def require_client(client: Any | None) -> Any:
    if client is None:
        raise RuntimeJobError("autoscaling is set but no application-autoscaling client was given")
    return client
