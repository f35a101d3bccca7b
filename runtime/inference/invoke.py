"""Parallel `invoke_endpoint` calls with bounded retries, exponential backoff with full jitter, metrics.

Retried: throttling (HTTP 429 / ThrottlingException / ModelNotReadyException), 5xx, read timeouts and
dropped connections. Not retried: other 4xx (a bad or oversized payload will not get better). botocore's own
retries are switched off (`total_max_attempts=1`) so `max_retries` is the only retry budget.
Backoff before retry n (1-based) is uniform in [0, backoff_seconds * 2**(n-1)] ("full jitter"), drawn from
a generator seeded per payload, so the delays do not depend on thread scheduling.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from runtime.inference.payloads import Payload
from runtime.serving.codecs import decode_scores

RETRYABLE_CODES = frozenset({"ThrottlingException", "ModelNotReadyException", "ServiceUnavailable", "InternalFailure"})
MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class InvokeSettings:
    endpoint_name: str
    content_type: str
    accept: str
    max_workers: int = 4
    max_retries: int = 3
    backoff_seconds: float = 1.0
    seed: int | None = None
    """None: jitter from the system's entropy; an int: the same delays on every run (tests)."""


@dataclass(frozen=True)
class Attempt:
    payload: int
    attempt: int  # 0 = the first try
    outcome: str  # "ok" or the error code / kind
    status: int | None
    latency_seconds: float
    backoff_seconds: float = 0.0  # slept after this attempt (0 when it was the last)


@dataclass
class PayloadResult:
    payload: Payload
    scores: list[float] | None = None
    model_version: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class InvokeFailure:
    status: int | None
    code: str
    message: str
    retryable: bool


def classify(error: Exception) -> InvokeFailure:
    """A botocore error as (status, code, retryable)."""
    from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(error.response.get("Error", {}).get("Code") or "Unknown")
        message = str(error.response.get("Error", {}).get("Message") or error)
        retryable = code in RETRYABLE_CODES or status == 429 or (status is not None and status >= 500)
        return InvokeFailure(status, code, message, retryable)
    if isinstance(error, ReadTimeoutError):
        return InvokeFailure(None, "ReadTimeout", str(error), True)
    if isinstance(error, ConnectionClosedError | EndpointConnectionError):
        return InvokeFailure(None, type(error).__name__, str(error), True)
    return InvokeFailure(None, type(error).__name__, str(error), False)


def backoff_delay(base: float, retry: int, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(retry-1))], retry counted from 1."""
    return rng.uniform(0.0, min(MAX_BACKOFF_SECONDS, base * 2 ** (retry - 1)))


def invoke_all(
    client: Any,
    payloads: Sequence[Payload],
    settings: InvokeSettings,
    sleep: Callable[[float], None] = time.sleep,
) -> list[PayloadResult]:
    """Every payload through `client.invoke_endpoint`, `max_workers` at a time; results in payload order."""
    entropy = random.Random() if settings.seed is None else None
    lock = threading.Lock()

    def rng_for(payload: Payload) -> random.Random:
        if entropy is None:
            return random.Random(f"{settings.seed}:{payload.index}")
        with lock:
            return random.Random(entropy.getrandbits(64))

    def one(payload: Payload) -> PayloadResult:
        result = PayloadResult(payload)
        rng = rng_for(payload)
        for attempt in range(settings.max_retries + 1):
            started = time.perf_counter()
            try:
                response = client.invoke_endpoint(
                    EndpointName=settings.endpoint_name,
                    Body=payload.body,
                    ContentType=settings.content_type,
                    Accept=settings.accept,
                )
                body = response["Body"].read()
                scores, version = decode_scores(body, response.get("ContentType") or settings.accept)
            except Exception as error:  # classified below: every failure becomes data, none escapes a worker
                failure = classify(error)
                latency = time.perf_counter() - started
                last = attempt == settings.max_retries or not failure.retryable
                delay = 0.0 if last else backoff_delay(settings.backoff_seconds, attempt + 1, rng)
                result.attempts.append(Attempt(payload.index, attempt, failure.code, failure.status, latency, delay))
                if last:
                    result.error = f"{failure.code} (HTTP {failure.status}): {failure.message}"
                    return result
                sleep(delay)
                continue
            latency = time.perf_counter() - started
            result.attempts.append(Attempt(payload.index, attempt, "ok", 200, latency))
            if len(scores) != payload.records:
                result.error = f"the endpoint returned {len(scores)} scores for {payload.records} records"
                return result
            result.scores, result.model_version = scores, version
            return result
        raise AssertionError("unreachable: the last attempt returns")

    with ThreadPoolExecutor(max_workers=max(1, settings.max_workers), thread_name_prefix="invoke") as pool:
        return list(pool.map(one, payloads))


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method), q in [0, 100]."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def invoke_metrics(results: Sequence[PayloadResult]) -> dict[str, Any]:
    attempts = [a for r in results for a in r.attempts]
    ok = [a.latency_seconds * 1000 for a in attempts if a.outcome == "ok"]
    failed = [r for r in results if r.error is not None]
    by_outcome: dict[str, int] = {}
    for a in attempts:
        if a.outcome != "ok":
            by_outcome[a.outcome] = by_outcome.get(a.outcome, 0) + 1
    return {
        "records": sum(r.payload.records for r in results),
        "payloads": len(results),
        "requests": len(attempts),
        "retries": sum(len(r.attempts) - 1 for r in results),
        "errors_by_code": dict(sorted(by_outcome.items())),
        "failed_payloads": len(failed),
        "failed_records": sum(r.payload.records for r in failed),
        "payload_bytes_max": max((len(r.payload.body) for r in results), default=0),
        "records_per_payload_max": max((r.payload.records for r in results), default=0),
        "latency_ms": {name: percentile(ok, q) for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
        "failures": [
            {"payload": r.payload.index, "records": r.payload.records, "attempts": len(r.attempts), "error": r.error}
            for r in failed
        ],
    }


def sagemaker_runtime_client(
    region: str | None, timeout_seconds: float, max_workers: int, endpoint_url: str | None
) -> Any:
    """The real boto3 client; the endpoint comes from `endpoint_url`, else boto3's own configuration
    (`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` points it at the local model server)."""
    import boto3
    from botocore.config import Config

    config = Config(
        read_timeout=timeout_seconds,
        connect_timeout=min(timeout_seconds, 10.0),
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, max_workers),
    )
    return boto3.client("sagemaker-runtime", region_name=region, endpoint_url=endpoint_url, config=config)
