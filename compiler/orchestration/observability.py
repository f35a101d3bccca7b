"""The state machines' logging and X-Ray tracing: the `loggingConfiguration` and `tracingConfiguration` that
`CreateStateMachine`/`UpdateStateMachine` take, from `orchestration.logging` in ndrc.yaml.

Tracing is always on. Logging goes to the CloudWatch Logs group `orchestration.logging.log_group_arn`
(optional: without it the machines log nothing, `level: OFF`), at `level` (default `ERROR`: every failed
state and execution, not every transition of the ~100 live executions an hour) with the execution data
(`include_execution_data`, default true: a failure's input is what an operator replays from; the machines
carry S3 keys and windows, no secrets — the backfill's task token is stored in DynamoDB and referenced by key).
"""

from __future__ import annotations

from typing import Any

from compiler.errors import NdrcError
from compiler.model import EnvironmentConfig

LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
DEFAULT_LEVEL = "ERROR"
OFF: dict[str, Any] = {"level": "OFF", "includeExecutionData": False}
TRACING: dict[str, Any] = {"enabled": True}
# The role's permissions for log delivery and tracing (Step Functions Developer Guide, "IAM policies for logging
# to CloudWatch Logs" and "IAM policies for X-Ray"): these APIs take no resource ARN, hence "*".
LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]
XRAY_ACTIONS = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]


class ObservabilityError(NdrcError):
    exit_code = 2


def log_group_arn(environment: EnvironmentConfig) -> str | None:
    """The group's ARN as Step Functions takes it: ending in `:*` (CreateStateMachine, `LogDestination`)."""
    arn = environment.get("orchestration.logging.log_group_arn")
    if not arn:
        return None
    arn = str(arn)
    if ":log-group:" not in arn or not arn.startswith("arn:"):
        raise ObservabilityError(
            f"environment {environment.name!r}: orchestration.logging.log_group_arn {arn!r} is not a CloudWatch "
            "Logs log group ARN (arn:<partition>:logs:<region>:<account>:log-group:<name>)"
        )
    return arn if arn.endswith(":*") else f"{arn}:*"


def logging_configuration(environment: EnvironmentConfig) -> dict[str, Any]:
    arn = log_group_arn(environment)
    level = str(environment.get("orchestration.logging.level", DEFAULT_LEVEL))
    if level not in LEVELS:
        raise ObservabilityError(
            f"environment {environment.name!r}: orchestration.logging.level {level!r} is not one of {', '.join(LEVELS)}"
        )
    if arn is None or level == "OFF":
        return dict(OFF)
    return {
        "level": level,
        "includeExecutionData": bool(environment.get("orchestration.logging.include_execution_data", True)),
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
    }


def settings(environment: EnvironmentConfig) -> dict[str, Any]:
    """What publish sends with every state machine and plan compares with the deployed machine."""
    return {"loggingConfiguration": logging_configuration(environment), "tracingConfiguration": dict(TRACING)}


def deployed_settings(reply: dict[str, Any]) -> dict[str, Any]:
    """DescribeStateMachine's settings in the form of `settings` (an unset logging is `OFF`, AWS's default)."""
    logging = reply.get("loggingConfiguration") or {}
    level = logging.get("level", "OFF")
    normalized: dict[str, Any] = (
        dict(OFF)
        if level == "OFF"
        else {
            "level": level,
            "includeExecutionData": bool(logging.get("includeExecutionData", False)),
            "destinations": logging.get("destinations", []),
        }
    )
    tracing = {"enabled": bool((reply.get("tracingConfiguration") or {}).get("enabled", False))}
    return {"loggingConfiguration": normalized, "tracingConfiguration": tracing}
