"""UNLOAD through the Redshift Data API: the exact statement and call sequence.

moto 5.2.5's redshift-data keeps every statement STARTED (it never runs SQL) and only CancelStatement moves
it, to ABORTED. So moto proves the request (the SQL, cluster, database, secret) and the timeout/cancel and
ABORTED paths over real HTTP; FINISHED and FAILED are proven against a loopback HTTP server that speaks the
redshift-data JSON protocol (awsJson1_1, `X-Amz-Target: RedshiftData.<Operation>`) with scripted statuses.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from runtime.entrypoint import main
from runtime.errors import RuntimeJobError
from runtime.jobs.machine_inventory_unload.data_api import PollPolicy, run_statement
from runtime.jobs.machine_inventory_unload.spec import RedshiftTarget
from runtime.storage import STORAGE_ROOT_ENV

pytestmark = pytest.mark.emulator

PROJECT = "ndr-unload"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ndr/redshift/unload-Q7xK2p"
ROLE = "arn:aws:iam::123456789012:role/ndr-redshift-unload"
SPEC: dict[str, Any] = {
    "redshift": {
        "cluster_identifier": "globex-itam-prod",
        "database": "itam",
        "secret_arn": SECRET,
        "region": "us-east-1",
        "iam_role": ROLE,
        "db_user": "ndr_unload",
    },
    "query": {
        "schema": "itam",
        "table": "machine_inventory",
        "name_column": "hostname",
        "active_filter": "status = 'active'",
        "additional_filters": ["owner <> 'O''Brien'"],
    },
    "output": {"s3_prefix": "s3://features/ndr-prod/reference/machine_inventory/"},
}
EXPECTED_SQL = (
    'UNLOAD (\'SELECT "ip_address" AS "ip_address", "hostname" AS "machine_name" '
    "FROM \"itam\".\"machine_inventory\" WHERE status = ''active'' AND owner <> ''O\\\\''Brien''') "
    "TO 's3://features/ndr-prod/reference/machine_inventory/snapshot_month=2025-01/' "
    f"IAM_ROLE '{ROLE}' FORMAT PARQUET CLEANPATH"
)
TARGET = RedshiftTarget("globex-itam-prod", "itam", SECRET, "us-east-1", ROLE, "ndr_unload")


@pytest.fixture
def on_aws(params_table: str, ddb_put: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The spec in the emulator's table and no local storage root: the job picks the redshift engine."""
    monkeypatch.delenv(STORAGE_ROOT_ENV, raising=False)
    ddb_put(params_table, {"project_name": PROJECT, "job_name": "machine_inventory_unload", "spec": SPEC})
    return params_table


def run_job(table: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            *("machine_inventory_unload", "--project-name", PROJECT, "--table-name", table),
            *("--reference-ts-iso", "2025-01-31T23:30:00Z", *extra),
        ]
    )
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else json.loads(out.err.strip().splitlines()[-1])


def test_on_moto_the_statement_is_the_exact_unload_and_a_timeout_cancels_it(
    on_aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, failure = run_job(on_aws, capsys, "--max-wait-seconds", "0.5")
    assert code == 1 and failure["error"] == "RuntimeJobError"
    found = re.fullmatch(
        r"Redshift statement (\S+) still STARTED after 0\.5 s; cancelled \(CancelStatement\)", failure["cause"]
    )
    assert found, failure["cause"]
    described = boto3.client("redshift-data", region_name="us-east-1").describe_statement(Id=found.group(1))
    assert described["Status"] == "ABORTED"
    assert described["QueryString"] == EXPECTED_SQL
    assert (described["ClusterIdentifier"], described["Database"], described["SecretArn"]) == (
        "globex-itam-prod",
        "itam",
        SECRET,
    )
    # One authentication method per call (Secrets Manager here): db_user is not sent alongside the secret.
    assert not described.get("DbUser")


def test_on_moto_an_aborted_statement_fails_naming_it(aws_env: str) -> None:
    client = boto3.client("redshift-data", region_name="us-east-1")
    canceller = boto3.client("redshift-data", region_name="us-east-1")
    started: list[str] = []
    client.meta.events.register(
        "after-call.redshift-data.ExecuteStatement", lambda parsed, **_: started.append(parsed["Id"])
    )
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # someone cancels the query while the job waits
        sleeps.append(seconds)
        canceller.cancel_statement(Id=started[0])

    with pytest.raises(RuntimeJobError, match=r"was ABORTED \(cancelled before it finished\)") as raised:
        run_statement(client, TARGET, "UNLOAD ('SELECT 1') TO 's3://b/p/' IAM_ROLE 'r' FORMAT PARQUET", sleep=sleep)
    assert started[0] in str(raised.value) and sleeps == [1.0]


class DataApiStub(ThreadingHTTPServer):
    """redshift-data over loopback: records every call; DescribeStatement answers from `statuses`."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.statuses: list[dict[str, Any]] = []
        self.execute_error: tuple[int, dict[str, Any]] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append((operation, body))
        if operation == "ExecuteStatement":
            return self.execute_error or (200, {"Id": "2f4f3c1e-0000-4000-8000-000000000001"})
        if operation == "DescribeStatement":
            return 200, {"Id": body["Id"], **self.statuses.pop(0)}
        if operation == "CancelStatement":
            return 200, {"Status": True}
        return 400, {"__type": "UnknownOperationException", "message": operation}


class _Handler(BaseHTTPRequestHandler):
    server: DataApiStub

    def do_POST(self) -> None:
        operation = self.headers["X-Amz-Target"].removeprefix("RedshiftData.")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        status, payload = self.server.answer(operation, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture
def stub() -> Iterator[DataApiStub]:
    server = DataApiStub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def stub_client(stub: DataApiStub) -> Any:
    return boto3.client(
        "redshift-data",
        region_name="us-east-1",
        endpoint_url=stub.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_finished_through_the_job_with_the_exact_request(
    on_aws: str, stub: DataApiStub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_REDSHIFT_DATA", stub.url)  # DynamoDB stays on the emulator
    stub.statuses = [{"Status": "STARTED"}, {"Status": "FINISHED", "ResultRows": 44, "Duration": 1_200_000_000}]
    code, summary = run_job(on_aws, capsys)
    assert code == 0, summary
    assert [operation for operation, _ in stub.calls] == ["ExecuteStatement", "DescribeStatement", "DescribeStatement"]
    request = dict(stub.calls[0][1])
    assert re.fullmatch(r"[0-9a-f-]{36}", request.pop("ClientToken"))  # botocore's idempotency token
    assert request == {
        "ClusterIdentifier": "globex-itam-prod",
        "Database": "itam",
        "SecretArn": SECRET,
        "Sql": EXPECTED_SQL,
        "StatementName": "ndrc-machine-inventory-unload",
    }
    assert summary == {
        "job": "machine_inventory_unload",
        "status": "succeeded",
        "statement_status": "FINISHED",
        "engine": "redshift",
        "snapshot_month": "2025-01",
        "output_uri": "s3://features/ndr-prod/reference/machine_inventory/snapshot_month=2025-01/",
        "partitioning": ["snapshot_month"],
        "sql": EXPECTED_SQL,
        "statement_id": "2f4f3c1e-0000-4000-8000-000000000001",
        "rows": 44,
    }


def test_failed_names_redshifts_error_after_bounded_backoff(stub: DataApiStub) -> None:
    error = "ERROR: permission denied for relation machine_inventory"
    stub.statuses = [{"Status": s} for s in ("SUBMITTED", "PICKED", "STARTED", "STARTED", "STARTED")]
    stub.statuses.append({"Status": "FAILED", "Error": error})
    sleeps: list[float] = []
    policy = PollPolicy(first_delay_seconds=1, factor=2, max_delay_seconds=4, max_wait_seconds=600)
    with pytest.raises(RuntimeJobError) as raised:
        run_statement(
            stub_client(stub), TARGET, "UNLOAD ('SELECT 1') TO 's3://b/' IAM_ROLE 'r'", policy, sleep=sleeps.append
        )
    assert str(raised.value) == (
        f"Redshift statement 2f4f3c1e-0000-4000-8000-000000000001 on cluster 'globex-itam-prod' FAILED: {error}"
    )
    assert sleeps == [1, 2, 4, 4, 4]
    assert [operation for operation, _ in stub.calls] == ["ExecuteStatement"] + ["DescribeStatement"] * 6


def test_the_deadline_cancels_the_statement(stub: DataApiStub) -> None:
    stub.statuses = [{"Status": "STARTED"}] * 3
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    policy = PollPolicy(first_delay_seconds=10, factor=2, max_delay_seconds=60, max_wait_seconds=25)
    with pytest.raises(RuntimeJobError, match=r"still STARTED after 25 s; cancelled"):
        run_statement(stub_client(stub), TARGET, "UNLOAD ('SELECT 1')", policy, sleep=sleep, clock=lambda: now[0])
    assert [operation for operation, _ in stub.calls] == [
        "ExecuteStatement",
        "DescribeStatement",
        "DescribeStatement",
        "CancelStatement",
    ]
    assert now[0] == 10  # slept 10 s; the next 20 s would pass the 25 s deadline


def test_a_rejected_request_names_the_api_error(stub: DataApiStub) -> None:
    stub.execute_error = (400, {"__type": "ActiveStatementsExceededException", "message": "too many statements"})
    with pytest.raises(RuntimeJobError) as raised:
        run_statement(stub_client(stub), TARGET, "UNLOAD ('SELECT 1')", sleep=lambda s: None)
    assert str(raised.value) == (
        "Redshift Data API ExecuteStatement on cluster 'globex-itam-prod' failed: "
        "ActiveStatementsExceededException: too many statements"
    )


def test_temporary_credentials_send_db_user_instead_of_a_secret(stub: DataApiStub) -> None:
    stub.statuses = [{"Status": "FINISHED"}]
    target = RedshiftTarget("c1", "db", None, "us-east-1", ROLE, "ndr_unload")
    outcome = run_statement(stub_client(stub), target, "UNLOAD ('SELECT 1')", sleep=lambda s: None)
    assert outcome.status == "FINISHED" and outcome.result_rows is None and outcome.polls == 1
    assert "SecretArn" not in stub.calls[0][1] and stub.calls[0][1]["DbUser"] == "ndr_unload"


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (("--unload-engine", "spark"), "--unload-engine must be one of redshift, duckdb (got 'spark')"),
        (("--max-wait-seconds", "0"), "--max-wait-seconds must be a positive number (got '0')"),
        (("--max-wait-seconds", "soon"), "--max-wait-seconds must be a positive number (got 'soon')"),
    ],
)
def test_bad_options_are_usage_errors(extra: tuple[str, ...], problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["machine_inventory_unload", "--project-name", PROJECT, *extra]) == 2
    assert problem in capsys.readouterr().err
