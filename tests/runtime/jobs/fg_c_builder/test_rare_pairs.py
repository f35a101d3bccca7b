"""FG-B's pair baseline (`pair_counts`) and FG-C's rare-pair metrics against DuckDB, plus hand-checked pairs.

Pair counts are written in the pair counts builder's layout with batches on both sides of the 7d/30d
history edges and the safety gap, another feature_spec_version, null ports and repeated pairs. DuckDB
recomputes FG-B's `pair/` rows and FG-C's columns straight from the pair counts (not from FG-B's output).
"""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devtools.fg_a_frames import FgAWorld, batch_id_of, write_fg_a
from runtime.batch import BatchContext
from runtime.errors import SpecError
from runtime.jobs.fg_b_builder.builder import run_fg_b_builder
from runtime.jobs.fg_b_builder.spec import FgBJobSpec
from runtime.jobs.fg_c_builder.builder import run_fg_c_builder
from runtime.jobs.fg_c_builder.spec import FgCJobSpec
from runtime.storage import LocalStorage

pytestmark = pytest.mark.spark

FG_A = "s3://features/fg_a/"
FG_B = "s3://features/fg_b/"
FG_C = "s3://features/fg_c/"
PAIRS = "s3://features/pair_counts/"
CONTEXT = "s3://features/pair_context/"
HORIZONS = ("7d", "30d")
GAPS = {"7d": timedelta(days=1), "30d": timedelta(0)}
WORLD = FgAWorld(hosts=4, days=12, windows_per_day=2, start_day="2025-01-01")
REFERENCE = datetime(2025, 1, 12, 0, 30, tzinfo=UTC)
BATCH_START = WORLD.window_start(11, 1)  # 2025-01-12T12:08Z, after the reference
HAND = WORLD.host_ip(0)
DESTS = ["10.10.0.1", "10.10.0.2", "8.8.8.8", "52.1.2.3", "10.40.0.9"]
PORTS = [53, 443, 445, None]
PAIR_SCHEMA = pa.schema(
    [
        ("source_ip", pa.string()),
        ("destination_ip", pa.string()),
        ("destination_port", pa.int32()),
        ("batch_start_ts", pa.timestamp("us", tz="UTC")),
        ("event_count", pa.int64()),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_seen", pa.timestamp("us", tz="UTC")),
    ]
)


def horizon_bounds() -> dict[str, tuple[datetime, datetime]]:
    days = {"7d": 7, "30d": 30}
    return {h: (REFERENCE - GAPS[h] - timedelta(days=days[h]), REFERENCE - GAPS[h]) for h in HORIZONS}


def write_pair_batch(storage: LocalStorage, version: str, start: datetime, rows: list[tuple[Any, ...]]) -> None:
    leaf = storage.local_path(
        PAIRS + f"feature_spec_version={version}/dt={start:%Y-%m-%d}/mini_batch_id={batch_id_of(start)}/"
    )
    leaf.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "source_ip": src,
            "destination_ip": dst,
            "destination_port": port,
            "batch_start_ts": start,
            "event_count": events,
            "first_seen": start - timedelta(minutes=3),
            "last_seen": start + timedelta(minutes=events % 14),
        }
        for src, dst, port, events in rows
    ]
    pq.write_table(pa.Table.from_pylist(records, schema=PAIR_SCHEMA), leaf / "part-00000.parquet")


def write_pair_history(storage: LocalStorage) -> None:
    rng = random.Random(3)
    bounds = horizon_bounds()
    edges = [bounds["30d"][0], bounds["30d"][0] - timedelta(minutes=15), bounds["7d"][0], bounds["7d"][1]]
    edges += [bounds["7d"][1] - timedelta(minutes=15), REFERENCE - timedelta(minutes=15), REFERENCE]
    starts = edges + [REFERENCE - timedelta(days=rng.uniform(0, 33)) for _ in range(25)]
    hosts = [WORLD.host_ip(i) for i in range(1, WORLD.hosts)] + ["10.99.0.1"]
    for start in starts:
        rows = [(h, rng.choice(DESTS), rng.choice(PORTS), rng.randint(1, 40)) for h in hosts for _ in range(3)]
        write_pair_batch(storage, "v1", start, rows)
    write_pair_batch(storage, "v0", REFERENCE - timedelta(days=2), [(h, "1.1.1.1", 1, 9) for h in hosts])
    # the hand-checked host: known pairs (10.10.0.1, 443) and (10.10.0.2, 53), inside both horizons
    write_pair_batch(storage, "v1", REFERENCE - timedelta(days=3, minutes=2), [(HAND, "10.10.0.1", 443, 5)])
    write_pair_batch(storage, "v1", REFERENCE - timedelta(days=4, minutes=2), [(HAND, "10.10.0.2", 53, 6)])
    # ... and one seen only 20 days ago (30d knows it, 7d does not)
    write_pair_batch(storage, "v1", REFERENCE - timedelta(days=20, minutes=2), [(HAND, "10.40.0.9", 445, 2)])
    # the FG-C batch: every host's pairs, plus the hand-checked ones
    now = [(h, rng.choice(DESTS), rng.choice(PORTS), rng.randint(1, 40)) for h in hosts for _ in range(4)]
    now += [
        (HAND, "10.10.0.1", 443, 7),  # known pair
        (HAND, "10.10.0.1", 8443, 11),  # new pair, known peer, new port
        (HAND, "10.99.9.9", 443, 13),  # new pair, new peer, known port
        (HAND, "10.10.0.2", None, 17),  # new pair (null port), known peer
        (HAND, "10.40.0.9", 445, 19),  # known for 30d only
    ]
    write_pair_batch(storage, "v1", BATCH_START, now)


def write_context(storage: LocalStorage) -> None:
    leaf = storage.local_path(
        CONTEXT + f"feature_spec_version=v1/dt={BATCH_START:%Y-%m-%d}/mini_batch_id={batch().mini_batch_id}/"
    )
    leaf.mkdir(parents=True, exist_ok=True)
    rows = [
        (HAND, "10.10.0.1", 443, 3, 100, 4),
        (HAND, "10.99.9.9", 443, 2, 5000, 0),
        (HAND, "10.10.0.2", None, 1, 70, 0),
        (WORLD.host_ip(1), "8.8.8.8", 53, 9, 900, 12),
        (WORLD.host_ip(2), "52.1.2.3", 443, 4, 2**40, 0),
    ]
    names = ["host_ip", "peer_ip", "peer_port", "sessions_cnt", "bytes_src_sum", "pair_windows_30d"]
    types = [pa.string(), pa.string(), pa.int32(), pa.int64(), pa.int64(), pa.int64()]
    table = pa.table({n: pa.array([r[i] for r in rows], t) for i, (n, t) in enumerate(zip(names, types, strict=True))})
    pq.write_table(table, leaf / "part-00000.parquet")


def batch() -> BatchContext:
    end = BATCH_START + timedelta(minutes=14, seconds=41)
    return BatchContext(
        "ndr-test", "v1", batch_id_of(BATCH_START), f"{BATCH_START:%Y-%m-%dT%H:%M:%SZ}", f"{end:%Y-%m-%dT%H:%M:%SZ}"
    )


def fg_c_spec(**overrides: Any) -> FgCJobSpec:
    payload: dict[str, Any] = {
        "fg_a_input": {"s3_prefix": FG_A},
        "fg_b_input": {"s3_prefix": FG_B + "host/"},
        "fg_c_output": {"s3_prefix": FG_C},
        "horizons": list(HORIZONS),
        "metrics": ["sessions_cnt_w_15m"],
        "pair_counts": {"s3_prefix": PAIRS},
        "pair_context_input": {"s3_prefix": CONTEXT},
    }
    payload.update(overrides)
    payload = {k: v for k, v in payload.items() if v is not None}
    return FgCJobSpec.from_payload(payload, "test", project_name="ndr-test", job_name="fg_c_builder", version="v1")


def duck() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


@pytest.fixture(scope="module")
def world(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> LocalStorage:
    storage = LocalStorage(tmp_path_factory.mktemp("rare_pairs") / "s3")
    write_fg_a(WORLD, storage.local_path(FG_A))
    write_pair_history(storage)
    write_context(storage)
    fg_b = FgBJobSpec.from_payload(
        {
            "fg_a_input": {"s3_prefix": FG_A},
            "fg_b_output": {"s3_prefix": FG_B},
            "horizons": list(HORIZONS),
            "safety_gaps": {"7d": "1d"},
            "baseline_metrics": ["sessions_cnt_w_15m"],
            "pair_counts": {"s3_prefix": PAIRS},
        },
        "test",
        project_name="ndr-test",
        job_name="fg_b_builder",
        version="v1",
    )
    result = run_fg_b_builder(spark, fg_b, storage, reference=REFERENCE, feature_spec_version="v1")
    assert result.metrics["pair_counts_partitions_read"] > 0
    run_fg_c_builder(spark, fg_c_spec(), batch(), storage)
    return storage


def pair_history_sql(root: str) -> str:
    bounds = horizon_bounds()
    horizons = " UNION ALL ".join(
        f"SELECT '{h}' AS baseline_horizon, TIMESTAMPTZ '{s:%Y-%m-%d %H:%M:%S}+00' AS s, "
        f"TIMESTAMPTZ '{e:%Y-%m-%d %H:%M:%S}+00' AS e"
        for h, (s, e) in bounds.items()
    )
    return f"""
        WITH p AS (SELECT * FROM read_parquet('{root}/features/pair_counts/**/*.parquet', hive_partitioning = true,
                                             hive_types_autocast = false) WHERE feature_spec_version = 'v1'),
             h AS ({horizons})
        SELECT source_ip, destination_ip, destination_port, baseline_horizon, sum(event_count) AS event_count,
               count(DISTINCT mini_batch_id) AS batches_seen, count(DISTINCT CAST(batch_start_ts AS DATE)) AS days_seen,
               min(first_seen) AS first_seen, max(last_seen) AS last_seen
        FROM p JOIN h ON p.batch_start_ts >= h.s AND p.batch_start_ts < h.e
        GROUP BY ALL"""


def test_fg_b_pair_baseline_matches_duckdb(world: LocalStorage) -> None:
    root = str(world.root)
    want = sorted(
        (tuple(utc(v) for v in row) for row in duck().execute(pair_history_sql(root)).fetchall()),
        key=lambda r: tuple((v is not None, v) for v in r),
    )
    table = pq.read_table(world.local_path(FG_B + "pair"), partitioning="hive").to_pylist()
    columns = ["source_ip", "destination_ip", "destination_port", "baseline_horizon", "event_count", "batches_seen"]
    columns += ["days_seen", "first_seen", "last_seen"]
    got = sorted((tuple(utc(r[c]) for c in columns) for r in table), key=lambda r: tuple((v is not None, v) for v in r))
    assert got == want and len(got) > 50
    assert {r["mini_batch_id"] for r in table} == {"baseline-2025-01-12"}
    assert {r["baseline_horizon"] for r in table} == set(HORIZONS)


def expected_rare_pairs(root: str) -> dict[str, dict[str, Any]]:
    con = duck()
    con.execute(f"CREATE TABLE base AS {pair_history_sql(root)}")
    con.execute(
        f"""CREATE TABLE cur AS SELECT source_ip AS host_ip, destination_ip, destination_port, sum(event_count) AS ev
            FROM read_parquet('{root}/features/pair_counts/**/*.parquet', hive_partitioning = true,
                              hive_types_autocast = false)
            WHERE feature_spec_version = 'v1' AND mini_batch_id = '{batch().mini_batch_id}' GROUP BY ALL"""
    )
    selects = []
    for h in HORIZONS:
        known = f"FROM base b WHERE b.baseline_horizon = '{h}' AND b.source_ip = c.host_ip"
        same_port = "b.destination_port IS NOT DISTINCT FROM c.destination_port"
        pair = f"NOT EXISTS (SELECT 1 {known} AND b.destination_ip = c.destination_ip AND {same_port})"
        peer = f"NOT EXISTS (SELECT 1 {known} AND b.destination_ip = c.destination_ip)"
        port = "c.destination_port IS NOT NULL AND "
        port += f"NOT EXISTS (SELECT 1 {known} AND b.destination_port = c.destination_port)"
        mine = "FROM cur c WHERE c.host_ip = a.host_ip AND"
        selects += [
            f"(SELECT count(*) {mine} {pair}) AS new_pair_cnt_{h}",
            f"(SELECT coalesce(sum(ev), 0) {mine} {pair}) AS new_pair_events_{h}",
            f"(SELECT count(DISTINCT destination_ip) {mine} {peer}) AS new_peer_cnt_{h}",
            f"(SELECT count(DISTINCT destination_port) {mine} {port}) AS new_port_cnt_{h}",
        ]
    context = (
        f"read_parquet('{root}/features/pair_context/**/*.parquet', hive_partitioning = true,"
        " hive_types_autocast = false)"
    )
    new = f"FROM {context} x WHERE x.host_ip = a.host_ip AND x.pair_windows_30d = 0"
    selects += [
        f"(SELECT count(*) {new}) AS ctx_new_pair_cnt",
        f"(SELECT coalesce(sum(sessions_cnt), 0) {new}) AS ctx_new_pair_sessions",
        f"(SELECT coalesce(sum(bytes_src_sum), 0) {new}) AS ctx_new_pair_bytes_src",
    ]
    hosts = ", ".join(f"('{WORLD.host_ip(i)}')" for i in range(WORLD.hosts))
    result = con.execute(f"SELECT host_ip, {', '.join(selects)} FROM (VALUES {hosts}) a(host_ip)")
    names = [d[0] for d in result.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}


def test_fg_c_rare_pair_columns_match_duckdb_and_hand_counts(world: LocalStorage) -> None:
    rows = {r["host_ip"]: r for r in pq.read_table(world.local_path(FG_C), partitioning="hive").to_pylist()}
    want = expected_rare_pairs(str(world.root))
    assert sorted(rows) == sorted(want)
    names = ("new_pair_cnt", "new_pair_events", "new_peer_cnt", "new_port_cnt")
    columns = [f"{n}_{h}" for n in names for h in HORIZONS]
    columns += ["ctx_new_pair_cnt", "ctx_new_pair_sessions", "ctx_new_pair_bytes_src"]
    assert [c for c in next(iter(rows.values())) if c in columns] == columns  # the documented order
    assert {h: {c: rows[h][c] for c in columns} for h in rows} == {h: {c: want[h][c] for c in columns} for h in want}
    hand = rows[HAND]
    # 7d knows (10.10.0.1, 443) and (10.10.0.2, 53): 8443, 10.99.9.9:443, 10.10.0.2:null and 10.40.0.9:445 are new
    assert (hand["new_pair_cnt_7d"], hand["new_pair_events_7d"]) == (4, 11 + 13 + 17 + 19)
    assert (hand["new_peer_cnt_7d"], hand["new_port_cnt_7d"]) == (2, 2)  # 10.99.9.9, 10.40.0.9; 8443, 445
    assert (hand["new_pair_cnt_30d"], hand["new_pair_events_30d"]) == (3, 11 + 13 + 17)
    assert (hand["new_peer_cnt_30d"], hand["new_port_cnt_30d"]) == (1, 1)
    assert (hand["ctx_new_pair_cnt"], hand["ctx_new_pair_sessions"], hand["ctx_new_pair_bytes_src"]) == (2, 3, 5070)
    assert rows[WORLD.host_ip(3)]["ctx_new_pair_cnt"] == 0  # no context rows: 0, not null


def test_no_pair_baseline_gives_null_pair_count_metrics(spark: Any, world: LocalStorage, tmp_path: Any) -> None:
    shutil.copytree(world.root, tmp_path / "copy")
    copy = LocalStorage(tmp_path / "copy")
    shutil.rmtree(copy.local_path(FG_B + "pair"))
    shutil.rmtree(copy.local_path(FG_C))
    run_fg_c_builder(spark, fg_c_spec(rare_pair_metrics=["new_pair_cnt", "ctx_new_pair_cnt"]), batch(), copy)
    rows = pq.read_table(copy.local_path(FG_C), partitioning="hive").to_pylist()
    assert all(r["new_pair_cnt_7d"] is None and r["new_pair_cnt_30d"] is None for r in rows)
    assert "new_peer_cnt_7d" not in rows[0] and {r["ctx_new_pair_cnt"] for r in rows} == {0, 2, 1}


def test_rare_pair_metrics_spec_rules() -> None:
    assert fg_c_spec().rare_pair_metrics == (
        "new_pair_cnt",
        "new_pair_events",
        "new_peer_cnt",
        "new_port_cnt",
        "ctx_new_pair_cnt",
        "ctx_new_pair_sessions",
        "ctx_new_pair_bytes_src",
    )
    assert fg_c_spec(pair_counts=None, pair_context_input=None).rare_pair_metrics == ()
    with pytest.raises(SpecError, match="unknown metric 'rare_peer'"):
        fg_c_spec(rare_pair_metrics=["rare_peer"])
    with pytest.raises(SpecError, match="needs pair_counts"):
        fg_c_spec(pair_counts=None, rare_pair_metrics=["new_peer_cnt"])
