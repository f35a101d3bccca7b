"""UNLOAD through the Redshift Data API: ExecuteStatement, then DescribeStatement until a final status.

Authentication is one of the two the Data API documents for a provisioned cluster
(https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html): Secrets
Manager (`SecretArn`) or temporary credentials (`DbUser`). A request carries one of them, never both:
with both in the spec the secret is used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from runtime.errors import RuntimeJobError
from runtime.jobs.machine_inventory_unload.spec import RedshiftTarget

FINAL_STATUSES = ("FINISHED", "FAILED", "ABORTED")
STATEMENT_NAME = "ndrc-machine-inventory-unload"


@dataclass(frozen=True)
class PollPolicy:
    """Bounded exponential backoff between DescribeStatement calls, and a deadline for the whole wait."""

    first_delay_seconds: float = 1.0
    factor: float = 2.0
    max_delay_seconds: float = 30.0
    max_wait_seconds: float = 3600.0

    def delays(self) -> Iterator[float]:
        delay = self.first_delay_seconds
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_delay_seconds)


@dataclass(frozen=True)
class StatementOutcome:
    statement_id: str
    status: str
    result_rows: int | None
    polls: int
    duration_ns: int | None


def execute_request(target: RedshiftTarget, sql: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ClusterIdentifier": target.cluster_identifier,
        "Database": target.database,
        "Sql": sql,
        "StatementName": STATEMENT_NAME,
    }
    if target.secret_arn:
        request["SecretArn"] = target.secret_arn
    elif target.db_user:
        request["DbUser"] = target.db_user
    return request


def data_api_client(target: RedshiftTarget) -> Any:
    import boto3

    return boto3.client("redshift-data", region_name=target.region) if target.region else boto3.client("redshift-data")


def run_statement(
    client: Any,
    target: RedshiftTarget,
    sql: str,
    policy: PollPolicy = PollPolicy(),
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> StatementOutcome:
    """Run `sql` and wait for it; FAILED/ABORTED/timeout raise `RuntimeJobError` naming Redshift's error."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        statement_id = client.execute_statement(**execute_request(target, sql))["Id"]
    except ClientError as problem:
        error = problem.response.get("Error", {})
        raise RuntimeJobError(
            f"Redshift Data API ExecuteStatement on cluster {target.cluster_identifier!r} failed: "
            f"{error.get('Code', 'ClientError')}: {error.get('Message', problem)}"
        ) from None
    except BotoCoreError as problem:
        raise RuntimeJobError(f"Redshift Data API ExecuteStatement failed: {problem}") from None
    deadline = clock() + policy.max_wait_seconds
    for polls, delay in enumerate(policy.delays(), start=1):
        described = client.describe_statement(Id=statement_id)
        status = described.get("Status", "")
        if status in FINAL_STATUSES:
            return _outcome(statement_id, status, described, polls, target)
        if clock() + delay > deadline:
            client.cancel_statement(Id=statement_id)
            raise RuntimeJobError(
                f"Redshift statement {statement_id} still {status} after {policy.max_wait_seconds:g} s; "
                "cancelled (CancelStatement)"
            )
        sleep(delay)
    raise AssertionError("unreachable: delays() never ends")


def _outcome(
    statement_id: str, status: str, described: dict[str, Any], polls: int, target: RedshiftTarget
) -> StatementOutcome:
    if status == "FAILED":
        raise RuntimeJobError(
            f"Redshift statement {statement_id} on cluster {target.cluster_identifier!r} FAILED: "
            f"{described.get('Error') or 'no error text returned'}"
        )
    if status == "ABORTED":
        raise RuntimeJobError(
            f"Redshift statement {statement_id} on cluster {target.cluster_identifier!r} was ABORTED "
            "(cancelled before it finished)"
        )
    rows = described.get("ResultRows")
    return StatementOutcome(
        statement_id,
        status,
        int(rows) if isinstance(rows, int) and rows >= 0 else None,
        polls,
        described.get("Duration"),
    )
