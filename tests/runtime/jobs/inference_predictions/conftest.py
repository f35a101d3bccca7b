"""Feature-bundle fixtures in the FG-A / FG-C layout, a fixture model and the model server in front of it."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devtools.fixture_model import IsolationForestModel, fit_fixture_model
from runtime.batch import BatchContext
from runtime.serving.server import ModelServer, ServerConfig
from runtime.storage import LocalStorage

PROJECT = "ndr-prod"
VERSION = "v1"
BATCH = BatchContext(PROJECT, VERSION, "batch-0001", "2025-01-15T10:08:00Z", "2025-01-15T10:23:00Z")
FG_A = "s3://features/ndr-prod/v1/fg_a/"
FG_C = "s3://features/ndr-prod/v1/fg_c/"
FG_A_METRICS = ("sessions_cnt_w_15m", "bytes_src_sum_w_15m", "distinct_peers_cnt_w_1h")
FG_C_METRICS = ("sessions_cnt_w_15m_z_7d", "bytes_src_sum_w_15m_pctl_30d")
FEATURES = FG_A_METRICS + FG_C_METRICS


@dataclass(frozen=True)
class Bundles:
    hosts: int
    fg_c_hosts: int


def _identity(hosts: list[str], batch: BatchContext) -> dict[str, pa.Array]:
    start = datetime.fromisoformat(batch.batch_start_ts_iso.replace("Z", "+00:00"))
    end = datetime.fromisoformat(batch.batch_end_ts_iso.replace("Z", "+00:00"))
    n = len(hosts)
    return {
        "host_ip": pa.array(hosts, pa.string()),
        "window_label": pa.array([f"{start:%Y-%m-%dT%H:%MZ}"] * n, pa.string()),
        "window_start_ts": pa.array([start] * n, pa.timestamp("us", tz="UTC")),
        "window_end_ts": pa.array([end] * n, pa.timestamp("us", tz="UTC")),
        "project_name": pa.array([batch.project_name] * n, pa.string()),
    }


def write_leaf(storage: LocalStorage, prefix: str, batch: BatchContext, table: pa.Table, name: str = "part-0") -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    leaf = (
        f"{prefix}feature_spec_version={batch.feature_spec_version}/dt={batch.dt}/mini_batch_id={batch.mini_batch_id}"
    )
    storage.write_bytes(f"{leaf}/{name}.parquet", sink.getvalue())


def write_bundles(
    storage: LocalStorage, hosts: int = 60, fg_c_hosts: int = 50, seed: int = 11, batch: BatchContext = BATCH
) -> Bundles:
    """FG-A for `hosts` hosts (one anomalous), FG-C for the first `fg_c_hosts` (nulls where no baseline)."""
    rng = random.Random(seed)
    names = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(hosts)]
    rng.shuffle(names)
    fg_a = {
        **_identity(names, batch),
        "sessions_cnt_w_15m": pa.array([rng.randint(1, 40) for _ in names], pa.int64()),
        "bytes_src_sum_w_15m": pa.array([rng.randint(10_000, 90_000) for _ in names], pa.int64()),
        "distinct_peers_cnt_w_1h": pa.array([rng.randint(1, 12) for _ in names], pa.int64()),
        "segment": pa.array([None] * hosts, pa.string()),
        "is_vdi": pa.array([False] * hosts, pa.bool_()),
    }
    fg_a["bytes_src_sum_w_15m"] = pa.array([5_000_000, *fg_a["bytes_src_sum_w_15m"].to_pylist()[1:]], pa.int64())
    write_leaf(storage, FG_A, batch, pa.table(fg_a))
    c_names = names[:fg_c_hosts]
    fg_c = {
        **_identity(c_names, batch),
        "sessions_cnt_w_15m_z_7d": pa.array(
            [None if i % 9 == 0 else round(rng.uniform(-6, 6), 6) for i in range(fg_c_hosts)], pa.float64()
        ),
        "bytes_src_sum_w_15m_pctl_30d": pa.array([rng.random() for _ in c_names], pa.float64()),
        "baseline_source_7d": pa.array(["host"] * fg_c_hosts, pa.string()),
    }
    write_leaf(storage, FG_C, batch, pa.table(fg_c))
    return Bundles(hosts, fg_c_hosts)


@pytest.fixture(scope="session")
def feature_model() -> IsolationForestModel:
    return fit_fixture_model(FEATURES, seed=5, model_version="if-test-1")


@pytest.fixture
def model_server(feature_model: IsolationForestModel) -> Iterator[ModelServer]:
    with ModelServer(feature_model, ServerConfig()) as server:
        yield server


def runtime_client(url: str, timeout: float = 10.0, workers: int = 4) -> Any:
    """The real boto3 sagemaker-runtime client, as the job builds it, pointed at the local server."""
    from runtime.inference.invoke import sagemaker_runtime_client

    return sagemaker_runtime_client("us-east-1", timeout, workers, url)


@pytest.fixture(autouse=True)
def throwaway_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 signs requests: give it throwaway credentials (never real ones)."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def later(batch: BatchContext, minutes: int) -> BatchContext:
    start = datetime.fromisoformat(batch.batch_start_ts_iso.replace("Z", "+00:00")).astimezone(UTC)
    shift = timedelta(minutes=minutes)
    return BatchContext(
        batch.project_name,
        batch.feature_spec_version,
        f"{batch.mini_batch_id}-{minutes}",
        f"{start + shift:%Y-%m-%dT%H:%M:%SZ}",
        f"{start + shift + timedelta(minutes=15):%Y-%m-%dT%H:%M:%SZ}",
    )


def batch_argv(job: str, table: str, storage: LocalStorage, *extra: str, batch: BatchContext = BATCH) -> list[str]:
    """The entry point's arguments for a per-batch job, as the compiled feature-15m step passes them."""
    return [
        job,
        "--project-name",
        batch.project_name,
        "--feature-spec-version",
        batch.feature_spec_version,
        "--mini-batch-id",
        batch.mini_batch_id,
        "--batch-start-ts-iso",
        batch.batch_start_ts_iso,
        "--batch-end-ts-iso",
        batch.batch_end_ts_iso,
        "--table-name",
        table,
        "--storage-root",
        str(storage.root),
        *extra,
    ]
