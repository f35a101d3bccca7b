"""The model server over real HTTP on loopback: the container contract, boto3 InvokeEndpoint, faults."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from devtools.fixture_model import IsolationForestModel
from runtime.serving.faults import FaultInjector, FaultPlan
from runtime.serving.server import SAGEMAKER_MAX_PAYLOAD_BYTES, ModelServer, ServerConfig

ROWS = [[10.0, 200.0, 3000.0], [1.5, None, 7.25], [1e6, 1e9, 0.0]]


def runtime_client(url: str, read_timeout: float = 10.0) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(read_timeout=read_timeout, retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def server(fixture_model: IsolationForestModel) -> Iterator[ModelServer]:
    with ModelServer(fixture_model) as running:
        yield running


def post(url: str, body: bytes, content_type: str, accept: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Content-Type": content_type, **({"Accept": accept} if accept else {})}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def csv_body(rows: list[list[float | None]]) -> bytes:
    return "".join(",".join("" if v is None else repr(v) for v in row) + "\n" for row in rows).encode()


def test_ping_answers_200(server: ModelServer) -> None:
    with urllib.request.urlopen(server.url + "/ping", timeout=5) as response:
        assert response.status == 200


def test_invocations_csv_and_json_score_like_the_model(
    server: ModelServer, fixture_model: IsolationForestModel
) -> None:
    expected = fixture_model.score(ROWS)
    status, body, _ = post(server.url + "/invocations", csv_body(ROWS), "text/csv")
    assert status == 200
    assert json.loads(body) == {"model_version": "fixture-1", "scores": expected}
    as_arrays = json.dumps({"instances": ROWS}).encode()
    assert json.loads(post(server.url + "/invocations", as_arrays, "application/json")[1])["scores"] == expected
    names = fixture_model.feature_names
    as_objects = [{n: v for n, v in zip(names, row, strict=True) if v is not None} for row in ROWS]
    body = json.dumps({"instances": as_objects}).encode()
    assert json.loads(post(server.url + "/invocations", body, "application/json")[1])["scores"] == expected


def test_csv_accept_returns_one_score_per_line(server: ModelServer, fixture_model: IsolationForestModel) -> None:
    status, body, headers = post(server.url + "/invocations", csv_body(ROWS), "text/csv", accept="text/csv")
    assert status == 200 and headers["Content-Type"] == "text/csv"
    assert [float(line) for line in body.decode().splitlines()] == fixture_model.score(ROWS)


def test_boto3_invoke_endpoint_route(server: ModelServer, fixture_model: IsolationForestModel) -> None:
    response = runtime_client(server.url).invoke_endpoint(
        EndpointName="ndr-prod-if-v1", Body=csv_body(ROWS), ContentType="text/csv", Accept="application/json"
    )
    assert json.loads(response["Body"].read())["scores"] == fixture_model.score(ROWS)
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert [(r.endpoint_name, r.records, r.status) for r in server.requests] == [("ndr-prod-if-v1", 3, 200)]


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "needle"),
    [
        (b"1,2\n", "text/csv", None, 400, "line 1: 2 values, the model takes 3"),
        (b"1,x,3\n", "text/csv", None, 400, "expected a number"),
        (b'{"rows": []}', "application/json", None, 400, '{"instances": [...]}'),
        (b'{"instances": [{"nope": 1}]}', "application/json", None, 400, "unknown feature(s) ['nope']"),
        (b"1,2,3\n", "application/x-parquet", None, 415, "unsupported Content-Type"),
        (b"1,2,3\n", "text/csv", "application/xml", 406, "unsupported Accept"),
    ],
)
def test_bad_requests_are_answered_with_the_error_shape(
    server: ModelServer, body: bytes, content_type: str, accept: str | None, status: int, needle: str
) -> None:
    got_status, got_body, headers = post(server.url + "/invocations", body, content_type, accept)
    assert got_status == status
    document = json.loads(got_body)
    assert needle in document["message"] and headers["x-amzn-ErrorType"] == document["__type"]


def test_default_limit_is_sagemakers_6_mb(server: ModelServer) -> None:
    assert SAGEMAKER_MAX_PAYLOAD_BYTES == 6 * 1024 * 1024
    line = b"1." + b"0" * 65_000 + b",2.0,3.0\n"  # ~100 wide records: big in bytes, quick to score
    at_limit = line * (SAGEMAKER_MAX_PAYLOAD_BYTES // len(line))
    assert post(server.url + "/invocations", at_limit, "text/csv")[0] == 200
    over = at_limit + line * (1 + (SAGEMAKER_MAX_PAYLOAD_BYTES - len(at_limit)) // len(line))
    assert len(over) > SAGEMAKER_MAX_PAYLOAD_BYTES
    status, body, _ = post(server.url + "/invocations", over, "text/csv")
    assert status == 413 and json.loads(body)["__type"] == "ValidationError"


def test_oversized_payload_rejected_through_boto3(fixture_model: IsolationForestModel) -> None:
    with ModelServer(fixture_model, ServerConfig(max_payload_bytes=20)) as small:
        client = runtime_client(small.url)
        with pytest.raises(ClientError) as raised:
            client.invoke_endpoint(EndpointName="e", Body=csv_body(ROWS), ContentType="text/csv")
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        assert [r.action for r in small.requests] == ["too-large"]


def test_injected_faults_have_sagemakers_error_shapes(fixture_model: IsolationForestModel) -> None:
    plan = FaultPlan(script=("throttle", "error", "unavailable", "ok"))
    with ModelServer(fixture_model, ServerConfig(faults=plan)) as faulty:
        client = runtime_client(faulty.url)
        outcomes = []
        for _ in range(4):
            try:
                client.invoke_endpoint(EndpointName="e", Body=csv_body(ROWS), ContentType="text/csv")
                outcomes.append(("ok", 200))
            except ClientError as err:
                outcomes.append((err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]))
    assert outcomes == [
        ("ThrottlingException", 429),
        ("InternalFailure", 500),
        ("ServiceUnavailable", 503),
        ("ok", 200),
    ]


def test_slow_response_trips_the_client_read_timeout(fixture_model: IsolationForestModel) -> None:
    plan = FaultPlan(script=("slow",), slow_seconds=1.0)
    with ModelServer(fixture_model, ServerConfig(faults=plan)) as slow:
        client = runtime_client(slow.url, read_timeout=0.2)
        with pytest.raises(ReadTimeoutError):
            client.invoke_endpoint(EndpointName="e", Body=csv_body(ROWS), ContentType="text/csv")
        response = client.invoke_endpoint(EndpointName="e", Body=csv_body(ROWS), ContentType="text/csv")
        assert len(json.loads(response["Body"].read())["scores"]) == 3


def test_unknown_endpoint_name_is_a_validation_error(fixture_model: IsolationForestModel) -> None:
    config = ServerConfig(endpoint_names=frozenset({"known"}))
    with ModelServer(fixture_model, config) as named, pytest.raises(ClientError) as raised:
        runtime_client(named.url).invoke_endpoint(EndpointName="other", Body=b"1,2,3\n", ContentType="text/csv")
    assert raised.value.response["Error"]["Code"] == "ValidationError"


def test_fault_plan_parsing_and_seeded_rates() -> None:
    plan = FaultPlan.parse("throttle=0.25,error=0.25,slow_rate=0.1,slow=0.5,seed=3,script=error+ok")
    assert plan == FaultPlan(("error", "ok"), 0.25, 0.25, 0.1, 0.5, 3)
    first = [FaultInjector(plan).next_action() for _ in range(1)]
    one, two = FaultInjector(plan), FaultInjector(plan)
    assert [one.next_action() for _ in range(200)] == [two.next_action() for _ in range(200)]
    assert first == ["error"]
    counts = {a: 0 for a in ("ok", "throttle", "error", "slow")}
    for _ in range(2000):
        counts[one.next_action()] += 1
    assert 400 < counts["throttle"] < 600 and 400 < counts["error"] < 600 and 100 < counts["slow"] < 300
    with pytest.raises(ValueError, match="unknown fault setting"):
        FaultPlan.parse("boom=1")
    with pytest.raises(ValueError, match="add up to at most 1"):
        FaultPlan(throttle_rate=0.8, error_rate=0.5)
