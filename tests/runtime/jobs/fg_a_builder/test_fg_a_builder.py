"""FG-A on multi-day delta data: every output column recomputed independently by DuckDB and compared exactly.

The delta input is written by DuckDB in delta_builder's layout (feature_spec_version=/dt=/mini_batch_id=),
with batches on both sides of the trailing-window edges, across a day boundary, hosts absent from some
windows, another feature_spec_version and a future batch that must be left out.
"""

from __future__ import annotations

import ipaddress
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from runtime.batch import BatchContext
from runtime.features.fg_a import OUTPUT_IDENTITY_COLUMNS
from runtime.jobs.fg_a_builder.builder import metric_names, run_fg_a_builder
from runtime.jobs.fg_a_builder.spec import HORIZON_MINUTES, FgAJobSpec
from runtime.storage import LocalStorage

pytestmark = pytest.mark.spark

DELTA = "s3://features/delta/"
OUT = "s3://features/fg_a/"
CONTEXT = "s3://features/pair_context/"
SEGMENTS = [
    {"name": "pci", "cidrs": ["10.40.0.0/16"]},
    {"name": "servers", "cidrs": ["10.10.0.0/16"]},
    {"name": "clients", "cidrs": ["10.1.0.0/24"]},
]
PAYLOAD: dict[str, Any] = {
    "delta_input": {"s3_prefix": DELTA, "format": "parquet"},
    "fg_a_output": {"s3_prefix": OUT, "partition_keys": ["feature_spec_version", "dt"]},
    "pair_context_output": {"s3_prefix": CONTEXT},
    "roles": ["outbound", "inbound"],
    "port_sets": ["web", "db"],
    "segment_mapping": {"segments": SEGMENTS},
    "high_risk_segments": ["pci"],
}
HOSTS = ["10.1.0.5", "10.1.0.6", "10.1.0.7", "10.1.0.8", "192.168.9.9", "2001:db8::5"]
PEERS = ["10.10.0.1", "10.10.0.2", "10.40.0.9", "10.40.3.3", "8.8.8.8", "52.1.2.3", "10.1.0.6", "fe80::1"]
PORTS = [22, 53, 80, 443, 1433, 5432, 50000]
PORT_SETS = {80: "web", 443: "web", 1433: "db", 5432: "db", 22: "admin"}
W1 = datetime(2025, 1, 15, 0, 8, tzinfo=UTC)  # trailing 24h reaches into dt=2025-01-14
W2 = datetime(2025, 1, 15, 10, 8, tzinfo=UTC)
# batch window starts, as minutes before W1: both sides of every horizon edge, and one after W1
OFFSETS = [0, 15, 30, 45, 60, 120, 465, 480, 600, 1425, 1440, 1500, -15, -585, -600]


def segment(ip: str) -> str | None:
    address = ipaddress.ip_address(ip)
    for entry in SEGMENTS:
        if any(address in ipaddress.ip_network(cidr) for cidr in entry["cidrs"] if address.version == 4):
            return str(entry["name"])
    return None


def internal(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return address.version == 4 and address.is_private


def delta_rows(seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for index, offset in enumerate(OFFSETS):
        start = W1 - timedelta(minutes=offset)
        for version in ("v1", "v0") if index % 4 == 0 else ("v1",):
            for host in HOSTS:
                if (rng.random() < 0.35 and offset != 0) or (offset == 0 and host == "10.1.0.8"):
                    continue  # hosts absent from some windows; 10.1.0.8 is absent from W1 itself
                for _ in range(rng.randint(1, 6)):
                    peer, port = rng.choice(PEERS), rng.choice(PORTS)
                    rows.append(
                        {
                            "feature_spec_version": version,
                            "dt": f"{start:%Y-%m-%d}",
                            "mini_batch_id": f"b{index:02d}",
                            "batch_start_ts": start,
                            "host_ip": host,
                            "peer_ip": peer,
                            "peer_port": port,
                            "role": rng.choice(["outbound", "inbound", "lateral"]),
                            "bytes_sent": rng.choice([0, rng.randint(1, 10**6), 2**53 + rng.randint(1, 99)]),
                            "bytes_recv": rng.choice([None, rng.randint(1, 10**9)]),
                            "duration_s": rng.choice([None, round(rng.uniform(0, 500), 3), rng.random() / 3]),
                            "host_is_vdi": host == "10.1.0.7",
                            "peer_port_set": PORT_SETS.get(port),
                            "peer_is_internal": internal(peer),
                            "app": "ssl",
                        }
                    )
    return rows


def write_delta(root: Path, rows: list[dict[str, Any]]) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        "CREATE TABLE d (feature_spec_version VARCHAR, dt VARCHAR, mini_batch_id VARCHAR, batch_start_ts TIMESTAMPTZ,"
        " host_ip VARCHAR, peer_ip VARCHAR, peer_port INTEGER, role VARCHAR, bytes_sent BIGINT, bytes_recv BIGINT,"
        " duration_s DOUBLE, host_is_vdi BOOLEAN, peer_port_set VARCHAR, peer_is_internal BOOLEAN, app VARCHAR)"
    )
    columns = [
        "feature_spec_version",
        "dt",
        "mini_batch_id",
        "batch_start_ts",
        "host_ip",
        "peer_ip",
        "peer_port",
        "role",
        "bytes_sent",
        "bytes_recv",
        "duration_s",
        "host_is_vdi",
        "peer_port_set",
        "peer_is_internal",
        "app",
    ]
    con.executemany(f"INSERT INTO d VALUES ({', '.join('?' * len(columns))})", [[r[c] for c in columns] for r in rows])
    target = root / "features" / "delta"
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY d TO '{target}' (FORMAT PARQUET, PARTITION_BY (feature_spec_version, dt, mini_batch_id))")


def expected_fg_a(rows_glob: str, window: datetime, spec: FgAJobSpec) -> dict[str, dict[str, Any]]:
    """The FG-A rows of one window, straight from the FG-A definition, in DuckDB SQL."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    peers = [(p, segment(p) == "pci") for p in PEERS]
    con.execute("CREATE TABLE peer_risk (peer_ip VARCHAR, high_risk BOOLEAN)")
    con.executemany("INSERT INTO peer_risk VALUES (?, ?)", peers)
    w = f"TIMESTAMPTZ '{window:%Y-%m-%d %H:%M:%S}+00'"
    selects = []
    for h, minutes in HORIZON_MINUTES.items():
        inside = f"batch_start_ts > {w} - INTERVAL {minutes} MINUTE"
        parts = {
            "sessions_cnt": f"count(*) FILTER (WHERE {inside})",
            "bytes_src_sum": f"coalesce(sum(bytes_sent) FILTER (WHERE {inside}), 0)",
            "bytes_dst_sum": f"coalesce(sum(bytes_recv) FILTER (WHERE {inside}), 0)",
            "distinct_peers_cnt": f"count(DISTINCT peer_ip) FILTER (WHERE {inside})",
            "distinct_peer_ports_cnt": f"count(DISTINCT peer_port) FILTER (WHERE {inside})",
            "distinct_peer_port_sets_cnt": f"count(DISTINCT peer_port_set) FILTER (WHERE {inside})",
            "internal_peers_cnt": f"count(DISTINCT peer_ip) FILTER (WHERE {inside} AND peer_is_internal)",
            "external_peers_cnt": f"count(DISTINCT peer_ip) FILTER (WHERE {inside} AND NOT peer_is_internal)",
            "duration_max": f"coalesce(max(duration_s) FILTER (WHERE {inside}), 0)",
            "duration_mean": f"coalesce(avg(duration_s) FILTER (WHERE {inside}), 0)",
            "port_set_hits_cnt": f"count(*) FILTER (WHERE {inside} AND peer_port_set IS NOT NULL)",
            "port_set_web_hits_cnt": f"count(*) FILTER (WHERE {inside} AND peer_port_set = 'web')",
            "port_set_db_hits_cnt": f"count(*) FILTER (WHERE {inside} AND peer_port_set = 'db')",
            "high_risk_sessions_cnt": f"count(*) FILTER (WHERE {inside} AND high_risk)",
            "high_risk_peers_cnt": f"count(DISTINCT peer_ip) FILTER (WHERE {inside} AND high_risk)",
        }
        for role in ("outbound", "inbound"):
            cond = f"{inside} AND role = '{role}'"
            parts[f"{role}_sessions_cnt"] = f"count(*) FILTER (WHERE {cond})"
            parts[f"{role}_bytes_src_sum"] = f"coalesce(sum(bytes_sent) FILTER (WHERE {cond}), 0)"
            parts[f"{role}_bytes_dst_sum"] = f"coalesce(sum(bytes_recv) FILTER (WHERE {cond}), 0)"
            parts[f"{role}_distinct_peers_cnt"] = f"count(DISTINCT peer_ip) FILTER (WHERE {cond})"
        selects += [f"{sql} AS {name}_w_{h}" for name, sql in parts.items()]
    query = f"""
        WITH delta AS (
            SELECT * FROM read_parquet('{rows_glob}', hive_partitioning = true, hive_types_autocast = false)
            JOIN peer_risk USING (peer_ip)
            WHERE feature_spec_version = 'v1' AND batch_start_ts <= {w}
              AND batch_start_ts > {w} - INTERVAL 1440 MINUTE
        )
        SELECT host_ip, coalesce(bool_or(host_is_vdi) FILTER (WHERE batch_start_ts > {w} - INTERVAL 15 MINUTE), false)
               AS is_vdi, {", ".join(selects)}
        FROM delta GROUP BY host_ip
        HAVING count(*) FILTER (WHERE batch_start_ts > {w} - INTERVAL 15 MINUTE) > 0
    """
    result = con.execute(query)
    names = [d[0] for d in result.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


def read_output(root: Path, prefix: str) -> list[dict[str, Any]]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    folder = root / prefix.removeprefix("s3://")
    result = con.execute(
        f"SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
    )
    names = [d[0] for d in result.description]
    return [{k: utc(v) for k, v in zip(names, row, strict=True)} for row in result.fetchall()]


def utc(value: Any) -> Any:
    """Spark writes INT96 timestamps, which DuckDB reads as naive UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def same(got: Any, want: Any) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=0.0) or got == want
    return bool(got == want)


@pytest.fixture
def world(tmp_path: Path) -> tuple[LocalStorage, Path, list[dict[str, Any]]]:
    storage = LocalStorage(tmp_path / "s3")
    rows = delta_rows()
    write_delta(storage.root, rows)
    return storage, storage.root, rows


def spec_from(payload: dict[str, Any]) -> FgAJobSpec:
    return FgAJobSpec.from_payload(payload, "test", project_name="ndr-acme", job_name="fg_a_builder", version="v1")


def batch(window: datetime, batch_id: str) -> BatchContext:
    end = window + timedelta(minutes=13, seconds=41)
    return BatchContext("ndr-acme", "v1", batch_id, f"{window:%Y-%m-%dT%H:%M:%SZ}", f"{end:%Y-%m-%dT%H:%M:%SZ}")


def test_every_column_matches_duckdb(spark: Any, world: tuple[LocalStorage, Path, list[dict[str, Any]]]) -> None:
    storage, root, rows = world
    spec = spec_from(PAYLOAD)
    results = {w: run_fg_a_builder(spark, spec, batch(w, f"fga-{w:%H%M}"), storage) for w in (W1, W2)}
    output = read_output(root, OUT)
    glob = f"{root}/features/delta/**/*.parquet"
    metric_columns = [f"{m}_w_{h}" for m in metric_names(spec) for h in spec.horizons]
    assert set(output[0]) == {*OUTPUT_IDENTITY_COLUMNS, *metric_columns}
    assert [c for c in output[0] if "_w_" in c] == metric_columns
    for window in (W1, W2):
        expected = expected_fg_a(glob, window, spec)
        got = {row["host_ip"]: row for row in output if row["window_start_ts"] == window}
        assert sorted(got) == sorted(expected) and len(got) >= 3
        end = window + timedelta(minutes=13, seconds=41)
        for host, row in got.items():
            want = expected[host]
            assert (row["window_label"], row["window_end_ts"], row["dt"]) == (
                f"{window:%Y-%m-%dT%H:%M}Z",
                end,
                f"{window:%Y-%m-%d}",
            )
            assert (row["project_name"], row["feature_spec_version"], row["mini_batch_id"]) == (
                "ndr-acme",
                "v1",
                f"fga-{window:%H%M}",
            )
            assert row["segment"] == segment(host) and row["is_vdi"] == want["is_vdi"]
            wrong = {c: (row[c], want[c]) for c in metric_columns if not same(row[c], want[c])}
            assert wrong == {}, host
    assert "10.1.0.8" not in {r["host_ip"] for r in output if r["window_start_ts"] == W1}
    assert results[W1].metrics["dt_partitions_read"] == [
        DELTA + "feature_spec_version=v1/dt=2025-01-14/",
        DELTA + "feature_spec_version=v1/dt=2025-01-15/",
    ]
    assert results[W2].metrics["dt_partitions_read"] == [
        DELTA + "feature_spec_version=v1/dt=2025-01-14/",
        DELTA + "feature_spec_version=v1/dt=2025-01-15/",
    ]
    assert results[W1].metrics["hosts"] == len(expected_fg_a(glob, W1, spec))
    assert sum(1 for r in rows if r["batch_start_ts"] > W1) > 0  # the future batch exists and was left out


def test_pair_context_matches_duckdb(spark: Any, world: tuple[LocalStorage, Path, list[dict[str, Any]]]) -> None:
    storage, root, _ = world
    run_fg_a_builder(spark, spec_from(PAYLOAD), batch(W1, "ctx"), storage)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    want = con.execute(
        f"""SELECT host_ip, peer_ip, peer_port, count(*), coalesce(sum(bytes_sent), 0), coalesce(sum(bytes_recv), 0)
            FROM read_parquet('{root}/features/delta/**/*.parquet', hive_partitioning = true)
            WHERE feature_spec_version = 'v1' AND batch_start_ts = TIMESTAMPTZ '2025-01-15 00:08:00+00'
            GROUP BY ALL ORDER BY ALL"""
    ).fetchall()
    got = sorted(
        (r["host_ip"], r["peer_ip"], r["peer_port"], r["sessions_cnt"], r["bytes_src_sum"], r["bytes_dst_sum"])
        for r in read_output(root, CONTEXT)
    )
    assert got == [tuple(row) for row in want] and len(got) > 10
    assert {r["window_label"] for r in read_output(root, CONTEXT)} == {"2025-01-15T00:08Z"}


def test_flat_spellings_horizon_subset_and_no_segments(
    spark: Any, world: tuple[LocalStorage, Path, list[dict[str, Any]]]
) -> None:
    storage, root, _ = world
    payload = {"delta_s3_prefix": DELTA, "output_s3_prefix": OUT, "horizons": ["1h", "15m"]}
    spec = spec_from(payload)
    result = run_fg_a_builder(spark, spec, batch(W2, "flat"), storage)
    output = read_output(root, OUT)
    assert {c for c in output[0] if "_w_" in c} == {f"{m}_w_{h}" for m in metric_names(spec) for h in ("15m", "1h")}
    assert all(row["segment"] is None for row in output)
    assert result.metrics["dt_partitions_read"] == [DELTA + "feature_spec_version=v1/dt=2025-01-15/"]
    expected = expected_fg_a(f"{root}/features/delta/**/*.parquet", W2, spec_from(PAYLOAD))
    for row in output:
        assert row["sessions_cnt_w_1h"] == expected[row["host_ip"]]["sessions_cnt_w_1h"]


def test_rerun_with_no_delta_rows_leaves_no_rows(spark: Any, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "s3")
    write_delta(storage.root, delta_rows())
    spec = spec_from(PAYLOAD)
    run_fg_a_builder(spark, spec, batch(W1, "again"), storage)
    assert read_output(storage.root, OUT)
    storage.delete_prefix(DELTA)
    result = run_fg_a_builder(spark, spec, batch(W1, "again"), storage)
    assert result.metrics["hosts"] == 0 and not storage.list_objects(OUT + "feature_spec_version=v1/")
