"""FG-B on Spark against an independent DuckDB recomputation, plus hand-computed corner cases."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devtools.fg_a_frames import METRICS, FgAWorld, write_fg_a
from devtools.fgb_reference import Capping, Horizon, fg_b_sql, records
from runtime.errors import RuntimeJobError
from runtime.jobs.fg_b_builder.builder import plan_run, run_fg_b_builder
from runtime.jobs.fg_b_builder.spec import FgBJobSpec
from runtime.storage import LocalStorage

pytestmark = pytest.mark.spark

FG_A = "s3://features/fg_a/"
FG_B = "s3://features/fg_b/"
INVENTORY = "s3://features/reference/machine_inventory/"
REFERENCE = datetime(2025, 1, 11, 0, 30, tzinfo=UTC)
HOST_KEY = ("host_ip", "baseline_horizon", "metric")
SEGMENT_KEY = ("segment", "baseline_horizon", "metric")


def make_spec(**overrides: Any) -> FgBJobSpec:
    payload: dict[str, Any] = {"fg_a_input": {"s3_prefix": FG_A}, "fg_b_output": {"s3_prefix": FG_B}}
    payload.update(overrides)
    return FgBJobSpec.from_payload(payload, "test", project_name="ndr-test", job_name="fg_b_builder", version="v1")


def read_output(storage: LocalStorage, dataset: str) -> list[dict[str, Any]]:
    table = pq.read_table(storage.local_path(FG_B + dataset), partitioning="hive")
    return table.to_pylist()


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def assert_rows_match(spark_rows: list[dict[str, Any]], reference: list[dict[str, Any]], key: tuple[str, ...]) -> None:
    ours = {tuple(r[k] for k in key): r for r in spark_rows}
    theirs = {tuple(r[k] for k in key): r for r in reference}
    assert len(ours) == len(spark_rows), "duplicate output keys"
    assert ours.keys() == theirs.keys()
    columns = [c for c in reference[0] if c not in key]
    mismatches = [
        (k, c, ours[k][c], theirs[k][c])
        for k in sorted(theirs, key=str)
        for c in columns
        if not same(ours[k][c], theirs[k][c])
    ]
    assert mismatches == []


def write_snapshot(storage: LocalStorage, month: str, pairs: list[tuple[str, str]]) -> None:
    path = storage.local_path(INVENTORY + f"snapshot_month={month}/") / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"ip_address": [p[0] for p in pairs], "machine_name": [p[1] for p in pairs]}), path)


def test_matches_duckdb_on_a_multi_host_multi_day_world(spark: Any, storage: LocalStorage) -> None:
    world = FgAWorld(hosts=14, days=12, windows_per_day=4, start_day="2024-12-31", vdi_every=7)
    write_fg_a(world, storage.local_path(FG_A))
    ip = world.host_ip
    # ip(0) and ip(1) are one machine across a DHCP change; ip(9) is a VDI pool machine by name; ip(5) is
    # listed under two names (ambiguous: left out); ip 10.99.0.1 is only in the inventory (same machine as ip(0)).
    pairs = [
        (ip(0), "WS-ALPHA"),
        (ip(1), "WS-ALPHA"),
        (ip(2), "WS-BRAVO"),
        (ip(9), "GLX-VDI-009"),
        (ip(5), "WS-ECHO"),
        (ip(5), "WS-FOX"),
        ("10.99.0.1", "WS-ALPHA"),
    ]
    write_snapshot(storage, "2025-01", pairs)
    write_snapshot(storage, "2025-02", [(ip(4), "FUTURE")])  # after the reference month: never read
    spec = make_spec(
        horizons=["7d", "30d"],
        safety_gaps={"7d": "1d"},
        baseline_metrics=list(METRICS),
        baseline_required_metrics=["sessions_cnt_w_15m"],
        support_min=30,
        anomaly_capping={
            "method": "quantile",
            "quantile": 0.9,
            "metrics": ["bytes_src_sum_w_15m", "sessions_cnt_w_15m"],
        },
        ip_machine_mapping={"s3_prefix": INVENTORY},
        non_persistent_machine_prefixes=["GLX-VDI-"],
    )
    run_fg_b_builder(
        spark, spec, storage, reference=REFERENCE, feature_spec_version="v1", machine_mapping_prefix=INVENTORY
    )
    plan = plan_run(spec, REFERENCE, "v1")
    horizons = [Horizon(w.name, w.start, w.end) for w in plan.windows]
    host_sql, segment_sql = fg_b_sql(
        str(storage.local_path(FG_A)) + "/**/*.parquet",
        METRICS,
        horizons,
        feature_spec_version="v1",
        required=["sessions_cnt_w_15m"],
        capping=Capping("quantile", 0.9, metrics=["bytes_src_sum_w_15m", "sessions_cnt_w_15m"]),
        support_min=30,
        snapshot_glob=str(storage.local_path(INVENTORY + "snapshot_month=2025-01/")) + "/*.parquet",
        non_persistent_prefixes=["GLX-VDI-"],
    )
    host = read_output(storage, "host")
    assert_rows_match(host, records(host_sql), HOST_KEY)
    assert_rows_match(read_output(storage, "segment"), records(segment_sql), SEGMENT_KEY)
    by_ip = {(r["host_ip"], r["baseline_horizon"]): r for r in host if r["metric"] == "sessions_cnt_w_15m"}
    # The features the fixture was built to exercise actually occur:
    assert by_ip[(ip(0), "7d")]["baseline_source"] == "machine" and by_ip[(ip(0), "7d")]["baseline_key"] == "WS-ALPHA"
    assert by_ip[("10.99.0.1", "30d")]["baseline_key"] == "WS-ALPHA"
    assert by_ip[(ip(9), "30d")]["baseline_source"] == "segment" and by_ip[(ip(9), "30d")]["non_persistent"]
    assert by_ip[(ip(6), "30d")]["non_persistent"]  # is_vdi in FG-A
    assert by_ip[(ip(2), "7d")]["support_fallback"] and by_ip[(ip(2), "7d")]["baseline_source"] == "segment"
    assert by_ip[(ip(2), "30d")]["baseline_source"] == "machine"
    assert by_ip[(ip(5), "30d")]["machine_name"] is None and by_ip[(ip(5), "30d")]["baseline_source"] == "host"
    assert (ip(4), "30d") in by_ip and by_ip[(ip(4), "30d")]["machine_name"] is None
    assert any(r["cap_high"] is not None for r in host) and {r["dt"] for r in host} == {"2025-01-11"}


def write_rows(storage: LocalStorage, rows: list[dict[str, Any]]) -> None:
    """Hand-made FG-A rows, one file per dt."""
    by_dt: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_dt.setdefault(f"{row['window_start_ts']:%Y-%m-%d}", []).append(row)
    for dt, items in by_dt.items():
        path = storage.local_path(FG_A + f"feature_spec_version=v1/dt={dt}/mini_batch_id=m/") / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(items, schema=HAND_SCHEMA), path)


HAND_SCHEMA = pa.schema(
    [
        ("host_ip", pa.string()),
        ("window_label", pa.string()),
        ("window_start_ts", pa.timestamp("us", tz="UTC")),
        ("window_end_ts", pa.timestamp("us", tz="UTC")),
        ("segment", pa.string()),
        ("x_w_15m", pa.int64()),
    ]
)


def hand_rows(host: str, segment: str | None, values: list[int], day: int = 5) -> list[dict[str, Any]]:
    out = []
    for i, value in enumerate(values):
        start = datetime(2025, 1, day, 0, 8, tzinfo=UTC).replace(hour=i)
        out.append(
            {
                "host_ip": host,
                "window_label": f"{start:%Y-%m-%dT%H:%MZ}",
                "window_start_ts": start,
                "window_end_ts": start,
                "segment": segment,
                "x_w_15m": value,
            }
        )
    return out


def stats_of(storage: LocalStorage, host: str) -> dict[str, Any]:
    rows = [r for r in read_output(storage, "host") if r["host_ip"] == host and r["baseline_horizon"] == "7d"]
    assert len(rows) == 1
    return rows[0]


def test_a_rerun_copy_of_a_window_replaces_the_first(spark: Any, storage: LocalStorage) -> None:
    """Two copies of one (host_ip, window_label) — a batch built again: only the later copy counts (the
    de-duplication runs when the key hashes show a repeated key, and is skipped otherwise)."""
    first = hand_rows("10.0.0.4", "corp", [1, 2, 3])
    rerun = dict(first[2], x_w_15m=30, window_end_ts=first[2]["window_end_ts"].replace(minute=23))
    write_rows(storage, first)
    path = storage.local_path(FG_A + "feature_spec_version=v1/dt=2025-01-05/mini_batch_id=n/") / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([rerun], schema=HAND_SCHEMA), path)
    run_fg_b_builder(spark, make_spec(horizons=["7d"]), storage, reference=REFERENCE, feature_spec_version="v1")
    stats = stats_of(storage, "10.0.0.4")
    # values 1, 2, 30 (the first copy's 3 is replaced): median 2, not the 2.5 of all four rows
    assert (stats["support_count"], stats["median"], stats["max"], stats["min"]) == (3, 2.0, 30.0, 1.0)


def test_hand_computed_corner_cases(spark: Any, storage: LocalStorage) -> None:
    write_rows(
        storage,
        hand_rows("10.0.0.1", "corp", [1, 2, 2, 3, 100])  # ties and an outlier
        + hand_rows("10.0.0.2", "corp", [5])  # one sample
        + hand_rows("10.0.0.3", "lab", [4, 4, 4]),
    )  # all equal
    run_fg_b_builder(spark, make_spec(horizons=["7d"]), storage, reference=REFERENCE, feature_spec_version="v1")
    ties = stats_of(storage, "10.0.0.1")
    # sorted 1 2 2 3 100: median 2; |x-2| = 1 0 0 1 98 -> sorted 0 0 1 1 98 -> MAD 1
    # p05: pos 0.2 -> 1 + 0.2*(2-1) = 1.2; p25: pos 1 -> 2; p75: pos 3 -> 3; p95: pos 3.8 -> 3 + 0.8*97 = 80.6
    assert (ties["median"], ties["mad"], ties["p05"], ties["p25"], ties["p75"]) == (2.0, 1.0, 1.2, 2.0, 3.0)
    assert ties["p95"] == pytest.approx(80.6, rel=1e-12) and ties["mean"] == pytest.approx(21.6, rel=1e-12)
    assert ties["std"] == pytest.approx(
        math.sqrt(((1 - 21.6) ** 2 + 2 * (2 - 21.6) ** 2 + (3 - 21.6) ** 2 + (100 - 21.6) ** 2) / 4), rel=1e-12
    )
    assert (ties["support_count"], ties["min"], ties["max"], ties["cap_low"]) == (5, 1.0, 100.0, None)
    one = stats_of(storage, "10.0.0.2")
    assert (one["median"], one["mad"], one["p05"], one["p95"], one["std"], one["support_count"]) == (
        5.0,
        0.0,
        5.0,
        5.0,
        None,
        1,
    )
    flat = stats_of(storage, "10.0.0.3")
    assert (flat["median"], flat["mad"], flat["std"], flat["baseline_source"]) == (4.0, 0.0, 0.0, "host")


def test_capping_bounds_by_method(spark: Any, storage: LocalStorage) -> None:
    write_rows(storage, hand_rows("10.0.0.1", "corp", [1, 2, 2, 3, 100]))
    # quantile 0.75: bounds [Q(0.25), Q(0.75)] = [2, 3] -> 2 2 2 3 3: median 2, mean 2.4, max 3
    run_fg_b_builder(
        spark,
        make_spec(horizons=["7d"], anomaly_capping={"method": "quantile", "quantile": 0.75}),
        storage,
        reference=REFERENCE,
        feature_spec_version="v1",
    )
    q = stats_of(storage, "10.0.0.1")
    assert (q["cap_low"], q["cap_high"], q["median"], q["max"], q["min"]) == (2.0, 3.0, 2.0, 3.0, 2.0)
    assert q["mean"] == pytest.approx(2.4, rel=1e-12)
    # mad, z_max 2: median 2, MAD 1 -> [2 - 2*1.4826, 2 + 2*1.4826] = [-0.9652, 4.9652]; 100 -> 4.9652
    run_fg_b_builder(
        spark,
        make_spec(horizons=["7d"], anomaly_capping={"method": "mad", "z_max": 2}),
        storage,
        reference=REFERENCE,
        feature_spec_version="v1",
    )
    m = stats_of(storage, "10.0.0.1")
    assert m["cap_low"] == pytest.approx(2 - 2 * 1.4826) and m["cap_high"] == pytest.approx(2 + 2 * 1.4826)
    assert m["max"] == pytest.approx(4.9652) and m["min"] == 1.0


def test_support_min_falls_back_to_the_segment_flagged(spark: Any, storage: LocalStorage) -> None:
    write_rows(storage, hand_rows("10.0.0.1", "corp", [1, 2, 3, 4]) + hand_rows("10.0.0.2", "corp", [10, 20]))
    run_fg_b_builder(
        spark, make_spec(horizons=["7d"], support_min=3), storage, reference=REFERENCE, feature_spec_version="v1"
    )
    rich, poor = stats_of(storage, "10.0.0.1"), stats_of(storage, "10.0.0.2")
    assert (rich["baseline_source"], rich["support_fallback"], rich["median"]) == ("host", False, 2.5)
    # the corp segment pools both hosts: 1 2 3 4 10 20 -> median 3.5
    assert (poor["baseline_source"], poor["baseline_key"], poor["support_fallback"]) == ("segment", "corp", True)
    assert (poor["own_support"], poor["baseline_support"], poor["median"]) == (2, 6, 3.5)


def test_safety_gap_excludes_the_most_recent_period(spark: Any, storage: LocalStorage) -> None:
    write_rows(storage, hand_rows("10.0.0.1", "corp", [1, 2, 3], day=5) + hand_rows("10.0.0.1", "corp", [500], day=10))
    run_fg_b_builder(
        spark,
        make_spec(horizons=["7d"], safety_gaps={"7d": "2d"}),
        storage,
        reference=REFERENCE,
        feature_spec_version="v1",
    )
    assert stats_of(storage, "10.0.0.1")["max"] == 3.0


def test_missing_required_metrics_are_named(spark: Any, storage: LocalStorage) -> None:
    write_rows(storage, hand_rows("10.0.0.1", "corp", [1, 2]))
    spec = make_spec(horizons=["7d"], baseline_required_metrics=["x_w_15m", "sessions_cnt_w_15m", "y_w_1h"])
    with pytest.raises(RuntimeJobError, match=r"baseline_required_metrics \['sessions_cnt_w_15m', 'y_w_1h'\]"):
        run_fg_b_builder(spark, spec, storage, reference=REFERENCE, feature_spec_version="v1")


def test_no_history_and_no_snapshot_are_clear_errors(spark: Any, storage: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(RuntimeJobError, match="no FG-A history"):
        run_fg_b_builder(spark, make_spec(), storage, reference=REFERENCE, feature_spec_version="v1")
    write_rows(storage, hand_rows("10.0.0.1", "corp", [1, 2]))
    write_snapshot(storage, "2025-03", [("10.0.0.1", "X")])
    spec = make_spec(ip_machine_mapping={"s3_prefix": INVENTORY})
    with pytest.raises(RuntimeJobError, match="snapshot_month <= 2025-01"):
        run_fg_b_builder(
            spark, spec, storage, reference=REFERENCE, feature_spec_version="v1", machine_mapping_prefix=INVENTORY
        )
