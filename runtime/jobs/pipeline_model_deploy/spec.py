"""The typed `pipeline_model_deploy` spec (endpoint, model package, variant, rollout, data capture)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.payload import PayloadReader
from runtime.inference.spec_parts import integer, number
from runtime.jobs.pipeline_model_deploy.autoscaling import AutoscalingSpec

STRATEGIES = ("all_at_once", "canary", "linear")


@dataclass(frozen=True)
class RolloutSpec:
    strategy: str = "all_at_once"
    canary_size_percent: float = 10.0
    linear_step_percent: float = 20.0
    wait_interval_seconds: int = 300
    termination_wait_seconds: int = 0
    auto_rollback_alarms: tuple[str, ...] = ()
    wait_timeout_seconds: int = 3600
    poll_seconds: float = 30.0


@dataclass(frozen=True)
class DeploySpec:
    endpoint_name: str
    instance_type: str
    execution_role_arn: str
    endpoint_config_name_prefix: str | None = None
    model_package_arn: str | None = None
    model_package_group_name: str | None = None
    variant_name: str = "AllTraffic"
    initial_instance_count: int = 1
    rollout: RolloutSpec = RolloutSpec()
    capture_enabled: bool = False
    capture_sampling_percentage: int = 100
    capture_destination: str | None = None
    autoscaling: AutoscalingSpec | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], where: str) -> DeploySpec:
        r = PayloadReader(payload, where)
        strategy = r.string("deployment.strategy", "all_at_once")
        if strategy not in STRATEGIES:
            raise r.fail("deployment.strategy", f"must be one of {', '.join(STRATEGIES)} (got {strategy!r})")
        arn, group = r.string("model.model_package_arn", None), r.string("model.model_package_group_name", None)
        if not (arn or group):
            raise r.fail("model", "needs model_package_arn or model_package_group_name")
        rollout = RolloutSpec(
            strategy=strategy,
            canary_size_percent=number(r, "deployment.canary_size_percent", 10.0, maximum=100, exclusive_minimum=True),
            linear_step_percent=number(r, "deployment.linear_step_percent", 20.0, maximum=100, exclusive_minimum=True),
            wait_interval_seconds=integer(r, "deployment.wait_interval_seconds", 300),
            termination_wait_seconds=integer(r, "deployment.termination_wait_seconds", 0),
            auto_rollback_alarms=r.strings("deployment.auto_rollback_alarms", ()),
            wait_timeout_seconds=integer(r, "deployment.wait_timeout_seconds", 3600, minimum=1),
            poll_seconds=number(r, "deployment.poll_seconds", 30.0),
        )
        for path, value in (
            ("deployment.wait_interval_seconds", rollout.wait_interval_seconds),
            ("deployment.termination_wait_seconds", rollout.termination_wait_seconds),
        ):
            if value > 3600:  # BlueGreenUpdatePolicy limits (SageMaker API Reference)
                raise r.fail(path, f"must be at most 3600 (got {value})")
        initial = integer(r, "production_variant.initial_instance_count", 1, minimum=1)
        return cls(
            endpoint_name=r.string("endpoint_name"),
            instance_type=r.string("production_variant.instance_type"),
            execution_role_arn=r.string("execution_role_arn"),
            endpoint_config_name_prefix=r.string("endpoint_config_name_prefix", None),
            model_package_arn=arn,
            model_package_group_name=group,
            variant_name=r.string("production_variant.variant_name", "AllTraffic"),
            initial_instance_count=initial,
            rollout=rollout,
            capture_enabled=r.boolean("data_capture.enabled", False),
            capture_sampling_percentage=integer(r, "data_capture.sampling_percentage", 100),
            capture_destination=r.string("data_capture.destination_s3_prefix", None),
            autoscaling=AutoscalingSpec.from_payload(payload, where, initial) if r.has("autoscaling") else None,
        )
