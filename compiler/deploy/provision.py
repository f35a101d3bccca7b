"""`ndrc provision`: create the parameters, routing and lock tables if missing; idempotent.

Tables are PAY_PER_REQUEST with deletion protection; the parameters and routing tables get point-in-time
recovery, the lock table (key `lock_key`) a TTL on `expires_at`: the names the state machines'
conditional lock write uses (`compiler.orchestration.names`). A second run changes nothing and says so. On an emulator
environment the artifacts bucket is created too (on AWS, buckets belong to the account's infrastructure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from compiler.deploy.aws import Aws, error_code, is_emulator, translated
from compiler.deploy.publish import Deployment, PublishResult, open_deployment, publish
from compiler.errors import UsageError
from compiler.load.workspace import Workspace
from runtime.contract import LOCK_KEY_ATTRIBUTE, LOCK_TTL_ATTRIBUTE

MANAGED_TAG = {"Key": "managed-by", "Value": "ndrc"}


@dataclass(frozen=True)
class TableSpec:
    name: str
    keys: tuple[tuple[str, str], ...]  # (attribute, HASH|RANGE), all strings
    ttl_attribute: str | None = None
    recovery: bool = True


@dataclass
class ProvisionReport:
    environment: str
    actions: list[tuple[str, str]] = field(default_factory=list)  # (resource, what happened)
    seeded: PublishResult | None = None

    @property
    def changed(self) -> bool:
        return any(what != "unchanged" for _, what in self.actions)


def table_specs(target: Deployment) -> list[TableSpec]:
    env = target.environment
    return [
        TableSpec(env.parameters_table, (("project_name", "HASH"), ("job_name", "RANGE"))),
        TableSpec(env.routing_table, (("org_key", "HASH"),)),
        TableSpec(env.lock_table, ((LOCK_KEY_ATTRIBUTE, "HASH"),), ttl_attribute=LOCK_TTL_ATTRIBUTE, recovery=False),
    ]


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return dict(client.describe_table(TableName=name)["Table"])
    except ClientError as problem:
        if error_code(problem) == "ResourceNotFoundException":
            return None
        raise


def ensure_table(aws: Aws, spec: TableSpec, report: ProvisionReport) -> None:
    client = aws.client("dynamodb")
    table = _describe(client, spec.name)
    if table is None:
        client.create_table(
            TableName=spec.name,
            BillingMode="PAY_PER_REQUEST",
            DeletionProtectionEnabled=True,
            Tags=[MANAGED_TAG],
            KeySchema=[{"AttributeName": a, "KeyType": t} for a, t in spec.keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in spec.keys],
        )
        report.actions.append((f"table {spec.name}", "created"))
    else:
        found = tuple((k["AttributeName"], k["KeyType"]) for k in table["KeySchema"])
        if found != spec.keys:
            raise UsageError(
                f"table {spec.name} exists with key schema {found}, expected {spec.keys}; "
                "it is not the table ndrc expects"
            )
        report.actions.append((f"table {spec.name}", "unchanged"))
    delay = 1 if is_emulator(aws.environment) else 5
    client.get_waiter("table_exists").wait(TableName=spec.name, WaiterConfig={"Delay": delay, "MaxAttempts": 120})
    if spec.ttl_attribute:
        _ensure_ttl(client, spec, report)
    if spec.recovery:
        _ensure_recovery(client, spec, report)


def _ensure_ttl(client: Any, spec: TableSpec, report: ProvisionReport) -> None:
    ttl = client.describe_time_to_live(TableName=spec.name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        if ttl.get("AttributeName") != spec.ttl_attribute:
            raise UsageError(
                f"table {spec.name} has TTL on {ttl.get('AttributeName')!r}, expected {spec.ttl_attribute!r}"
            )
        report.actions.append((f"TTL {spec.name}.{spec.ttl_attribute}", "unchanged"))
        return
    client.update_time_to_live(
        TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
    )
    report.actions.append((f"TTL {spec.name}.{spec.ttl_attribute}", "enabled"))


def _ensure_recovery(client: Any, spec: TableSpec, report: ProvisionReport) -> None:
    for attempt in range(10):  # right after CreateTable, AWS may briefly answer "unavailable"
        try:
            backups = client.describe_continuous_backups(TableName=spec.name)["ContinuousBackupsDescription"]
            status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
            if status == "ENABLED":
                report.actions.append((f"point-in-time recovery {spec.name}", "unchanged"))
                return
            client.update_continuous_backups(
                TableName=spec.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            report.actions.append((f"point-in-time recovery {spec.name}", "enabled"))
            return
        except ClientError as problem:
            if error_code(problem) != "ContinuousBackupsUnavailableException" or attempt == 9:
                raise
            time.sleep(2)


def ensure_bucket(aws: Aws, bucket: str, report: ProvisionReport) -> None:
    client = aws.client("s3")
    try:
        client.head_bucket(Bucket=bucket)
        report.actions.append((f"bucket {bucket}", "unchanged"))
        return
    except ClientError as problem:
        if error_code(problem) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    region = aws.environment.region
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    client.create_bucket(Bucket=bucket, **extra)
    report.actions.append((f"bucket {bucket}", "created"))


def provision(
    workspace: Workspace, env_name: str | None = None, *, seed_routing: bool = False, aws: Aws | None = None
) -> ProvisionReport:
    target = open_deployment(workspace, env_name, aws)
    report = ProvisionReport(target.environment.name)
    with translated("provision the tables"):
        for spec in table_specs(target):
            ensure_table(target.aws, spec, report)
        bucket = target.environment.get("buckets.artifacts")
        if is_emulator(target.environment) and bucket:
            ensure_bucket(target.aws, str(bucket), report)
    if seed_routing:
        report.seeded = publish(workspace, aws=target.aws, only_table=target.environment.routing_table)
    return report
