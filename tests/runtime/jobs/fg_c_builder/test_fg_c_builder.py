"""FG-C on Spark against an independent DuckDB recomputation; the injected anomaly tops its window."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devtools.fg_a_frames import METRICS, FgAWorld, batch_id_of, write_fg_a
from devtools.fgb_reference import fg_c_long_sql, records
from runtime.batch import BatchContext
from runtime.jobs.fg_b_builder.builder import run_fg_b_builder
from runtime.jobs.fg_b_builder.spec import FgBJobSpec
from runtime.jobs.fg_c_builder.builder import run_fg_c_builder
from runtime.jobs.fg_c_builder.spec import FgCJobSpec
from runtime.storage import LocalStorage

pytestmark = pytest.mark.spark

FG_A = "s3://features/fg_a/"
FG_B = "s3://features/fg_b/"
FG_C = "s3://features/fg_c/"
IDENTITY = (
    "host_ip",
    "window_label",
    "window_start_ts",
    "window_end_ts",
    "project_name",
    "feature_spec_version",
    "mini_batch_id",
    "dt",
)
HORIZONS = ("7d", "30d")
WORLD = FgAWorld(
    hosts=10, days=9, windows_per_day=4, start_day="2025-01-01", anomaly_host=3, anomaly_windows=(8 * 4 + 2,)
)
BATCH_START = WORLD.window_start(8, 2)


def fg_c_spec(**overrides: Any) -> FgCJobSpec:
    payload: dict[str, Any] = {
        "fg_a_input": {"s3_prefix": FG_A},
        "fg_b_input": {"s3_prefix": FG_B + "host/"},
        "fg_c_output": {"s3_prefix": FG_C},
        "horizons": list(HORIZONS),
        "metrics": list(METRICS),
        "eps": Decimal("1e-6"),
        "z_max": Decimal("6.0"),
    }
    payload.update(overrides)
    return FgCJobSpec.from_payload(payload, "test", project_name="ndr-test", job_name="fg_c_builder", version="v1")


def batch() -> BatchContext:
    return BatchContext(
        "ndr-test",
        "v1",
        batch_id_of(BATCH_START),
        f"{BATCH_START:%Y-%m-%dT%H:%M:%SZ}",
        f"{BATCH_START:%Y-%m-%dT%H:%M}:41Z",
    )


def add_rows(storage: LocalStorage, rows: list[dict[str, Any]]) -> None:
    leaf = storage.local_path(
        FG_A + f"feature_spec_version=v1/dt={BATCH_START:%Y-%m-%d}/mini_batch_id={batch().mini_batch_id}/"
    )
    schema = pq.read_schema(leaf / "part-00000.parquet")
    template = pq.read_table(leaf / "part-00000.parquet").to_pylist()[0]
    pq.write_table(
        pa.Table.from_pylist([{**template, **row} for row in rows], schema=schema), leaf / "part-00001.parquet"
    )


def output_rows(storage: LocalStorage) -> list[dict[str, Any]]:
    return pq.read_table(storage.local_path(FG_C), partitioning="hive").to_pylist()


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def expected_wide(long: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    wide: dict[str, dict[str, Any]] = {}
    for row in long:
        out = wide.setdefault(row["host_ip"], {})
        h, m = row["baseline_horizon"], row["metric"]
        for suffix in ("z", "logratio", "pctl"):
            out[f"{m}_{suffix}_{h}"] = row[suffix]
        out.setdefault(f"baseline_source_{h}", None)
        out[f"baseline_source_{h}"] = out[f"baseline_source_{h}"] or row["source"]
        zs = out.setdefault(f"_z_{h}", [])
        if row["z"] is not None:
            zs.append(row["z"])
    for out in wide.values():
        for h in HORIZONS:
            zs = out.pop(f"_z_{h}")
            out[f"suspicion_score_{h}"] = max(0.0, max(zs)) if zs else None
    return wide


@pytest.fixture
def world(spark: Any, storage: LocalStorage) -> LocalStorage:
    write_fg_a(WORLD, storage.local_path(FG_A))
    add_rows(storage, [{"host_ip": "10.77.0.1", "segment": None}, {"host_ip": "10.77.0.2", "segment": "pci"}])
    fg_b = FgBJobSpec.from_payload(
        {"fg_a_input": {"s3_prefix": FG_A}, "fg_b_output": {"s3_prefix": FG_B}, "horizons": list(HORIZONS)},
        "test",
        project_name="ndr-test",
        job_name="fg_b_builder",
        version="v1",
    )
    run_fg_b_builder(spark, fg_b, storage, reference=datetime(2025, 1, 9, 0, 30, tzinfo=UTC), feature_spec_version="v1")
    return storage


def test_matches_duckdb_and_the_anomaly_tops_its_window(spark: Any, world: LocalStorage) -> None:
    # z_max high enough that no ordinary deviation is clipped, so "highest z" is a real ranking
    # (clipping itself is checked by hand below).
    spec = fg_c_spec(z_max=Decimal("1000"))
    assert float(spec.eps) == 1e-6 and spec.eps == Decimal("1e-6")
    run_fg_c_builder(spark, spec, batch(), world)
    rows = output_rows(world)
    sql = fg_c_long_sql(
        str(world.local_path(FG_A)) + "/**/*.parquet",
        str(world.local_path(FG_B + "host")) + "/**/*.parquet",
        str(world.local_path(FG_B + "segment")) + "/**/*.parquet",
        batch().mini_batch_id,
        METRICS,
        HORIZONS,
        host_dt="2025-01-09",
        segment_dt="2025-01-09",
        eps="1e-6",
        z_max="1000",
        keys=["host_ip", "window_label"],
    )
    expected = expected_wide(records(sql))
    features = sorted(next(iter(expected.values())))
    assert sorted(set(rows[0]) - set(IDENTITY) - {"window_label"}) == features
    assert {r["host_ip"] for r in rows} == set(expected)
    mismatches = [
        (r["host_ip"], c, r[c], expected[r["host_ip"]][c])
        for r in rows
        for c in features
        if not same(r[c], expected[r["host_ip"]][c])
    ]
    assert mismatches == []
    by_host = {r["host_ip"]: r for r in rows}
    assert all(r["mini_batch_id"] == batch().mini_batch_id and r["dt"] == "2025-01-09" for r in rows)
    # A host with no baseline at all: null features and source, never inf/NaN; a new host in a known segment
    # gets the segment's baseline.
    assert (
        by_host["10.77.0.1"]["baseline_source_30d"] is None and by_host["10.77.0.1"]["sessions_cnt_w_15m_z_30d"] is None
    )
    assert by_host["10.77.0.2"]["baseline_source_30d"] == "segment"
    for value in (v for r in rows for v in r.values() if isinstance(v, float)):
        assert math.isfinite(value)
    anomalous = WORLD.host_ip(3)
    for metric in ("sessions_cnt_w_15m", "bytes_src_sum_w_15m", "bytes_dst_sum_w_15m", "distinct_peers_cnt_w_1h"):
        for h in HORIZONS:
            column = f"{metric}_z_{h}"
            others = [r[column] for r in rows if r["host_ip"] != anomalous and r[column] is not None]
            assert by_host[anomalous][column] > max(others), column
    assert by_host[anomalous]["suspicion_score_30d"] == max(r["suspicion_score_30d"] or 0 for r in rows)


def test_hand_computed_z_clip_logratio_and_percentile(spark: Any, storage: LocalStorage) -> None:
    """History 4 4 4 (MAD 0): x = 5 -> z = 1/1e-6 clipped to 3; x = 4 -> z 0, pctl 0.5 (all knots equal)."""
    schema = pa.schema(
        [
            ("host_ip", pa.string()),
            ("window_label", pa.string()),
            ("window_start_ts", pa.timestamp("us", tz="UTC")),
            ("window_end_ts", pa.timestamp("us", tz="UTC")),
            ("project_name", pa.string()),
            ("segment", pa.string()),
            ("x_w_15m", pa.int64()),
        ]
    )

    def write(dt: str, batch_id: str, rows: list[tuple[str, int, datetime]]) -> None:
        leaf = storage.local_path(FG_A + f"feature_spec_version=v1/dt={dt}/mini_batch_id={batch_id}/")
        leaf.mkdir(parents=True, exist_ok=True)
        items = [
            {
                "host_ip": ip,
                "window_label": f"{ts:%Y-%m-%dT%H:%MZ}",
                "window_start_ts": ts,
                "window_end_ts": ts,
                "project_name": "ndr-test",
                "segment": None,
                "x_w_15m": x,
            }
            for ip, x, ts in rows
        ]
        pq.write_table(pa.Table.from_pylist(items, schema=schema), leaf / "part-0.parquet")

    write(
        "2025-01-05",
        "h",
        [(ip, 4, datetime(2025, 1, 5, hour, 8, tzinfo=UTC)) for ip in ("10.0.0.1", "10.0.0.2") for hour in (1, 2, 3)],
    )
    start = datetime(2025, 1, 9, 10, 8, tzinfo=UTC)
    write("2025-01-09", "now", [("10.0.0.1", 5, start), ("10.0.0.2", 4, start)])
    fg_b = FgBJobSpec.from_payload(
        {"fg_a_input": {"s3_prefix": FG_A}, "fg_b_output": {"s3_prefix": FG_B}, "horizons": ["7d"]},
        "t",
        project_name="ndr-test",
        job_name="fg_b_builder",
        version="v1",
    )
    run_fg_b_builder(spark, fg_b, storage, reference=datetime(2025, 1, 9, tzinfo=UTC), feature_spec_version="v1")
    spec = fg_c_spec(
        horizons=["7d"],
        metrics=["x_w_15m"],
        z_max=3,
        eps=1e-6,
        fg_b_input={"s3_prefix": FG_B},
        transforms=["robust_z", "log_ratio", "percentile", "ratio_to_baseline", "log1p"],
    )
    run_fg_c_builder(
        spark, spec, BatchContext("ndr-test", "v1", "now", "2025-01-09T10:08:00Z", "2025-01-09T10:22:41Z"), storage
    )
    by_host = {r["host_ip"]: r for r in output_rows(storage)}
    up, flat = by_host["10.0.0.1"], by_host["10.0.0.2"]
    assert (up["x_w_15m_z_7d"], up["x_w_15m_pctl_7d"], flat["x_w_15m_z_7d"], flat["x_w_15m_pctl_7d"]) == (
        3.0,
        1.0,
        0.0,
        0.5,
    )
    assert up["x_w_15m_logratio_7d"] == pytest.approx(math.log(6 / 5), rel=1e-12) and flat["x_w_15m_logratio_7d"] == 0.0
    assert up["x_w_15m_ratio_7d"] == pytest.approx(5 / (4 + 1e-6), rel=1e-12)
    assert up["x_w_15m_log1p"] == pytest.approx(math.log(6), rel=1e-12)
    assert (up["baseline_source_7d"], up["suspicion_score_7d"], flat["suspicion_score_7d"]) == ("host", 3.0, 0.0)
