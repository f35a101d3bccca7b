"""FG-A's 30-day memory (`lookback30d` rare values, `pair_context_input` new pairs) against DuckDB.

FG-A runs window after window over a month of delta batches; it keeps its own history (the lookback
dataset and the pair context) and reads it back. DuckDB computes the same columns straight from the
delta: for each current (host, value) the number of distinct earlier batch windows in [W - 30d, W)
that hold it. Windows sit on both sides of the 30-day edge (exactly 30 days before W is inside).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from runtime.batch import BatchContext
from runtime.errors import RuntimeJobError, SpecError
from runtime.jobs.fg_a_builder.builder import run_fg_a_builder
from runtime.jobs.fg_a_builder.history import PAIR_COLUMNS, rare_columns
from runtime.jobs.fg_a_builder.spec import FgAJobSpec
from runtime.storage import LocalStorage

pytestmark = pytest.mark.spark

DELTA = "s3://features/delta/"
OUT = "s3://features/fg_a/"
CONTEXT = "s3://features/pair_context/"
LOOKBACK = "s3://features/lookback30d/"
THRESHOLDS = {"peer_ip": 1, "destination_port": 2, "app": 0}
COLUMNS = {"peer_ip": "peer_ip", "destination_port": "peer_port", "app": "app"}
PAYLOAD: dict[str, Any] = {
    "delta_input": {"s3_prefix": DELTA},
    "fg_a_output": {"s3_prefix": OUT},
    "horizons": ["15m"],
    "pair_context_input": {"s3_prefix": CONTEXT},
    "pair_context_output": {"s3_prefix": CONTEXT},
    "lookback30d": {"s3_prefix": LOOKBACK, "rare_thresholds": THRESHOLDS},
}
LAST = datetime(2025, 2, 1, 10, 8, tzinfo=UTC)
# minutes before LAST: 30 days + 15 min (outside), exactly 30 days (inside), then closer, then LAST itself
OFFSETS = [43215, 43200, 30000, 15, 0]
HOSTS = ["10.1.0.5", "10.1.0.6", "10.1.0.7"]
PEERS = ["10.10.0.1", "8.8.8.8", "52.1.2.3", "10.40.0.9"]
PORTS = [53, 443, 445, 8443, None]
APPS = ["ssl", "dns", "smb", None]


def delta_rows(seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for index, offset in enumerate(OFFSETS):
        start = LAST - timedelta(minutes=offset)
        for version in ("v1", "v0") if index == 3 else ("v1",):
            for host in HOSTS:
                for _ in range(rng.randint(2, 7)):
                    rows.append(
                        {
                            "feature_spec_version": version,
                            "dt": f"{start:%Y-%m-%d}",
                            "mini_batch_id": f"b{index}",
                            "batch_start_ts": start,
                            "host_ip": host,
                            "peer_ip": rng.choice(PEERS),
                            "peer_port": rng.choice(PORTS),
                            "role": "outbound",
                            "bytes_sent": rng.randint(0, 10**6),
                            "bytes_recv": rng.randint(0, 10**6),
                            "duration_s": 1.5,
                            "host_is_vdi": False,
                            "peer_port_set": None,
                            "app": rng.choice(APPS),
                        }
                    )
    return rows


def write_delta(root: Path, rows: list[dict[str, Any]]) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    columns = list(rows[0])
    types = {"peer_port": "INTEGER", "bytes_sent": "BIGINT", "bytes_recv": "BIGINT", "duration_s": "DOUBLE"}
    types |= {"batch_start_ts": "TIMESTAMPTZ", "host_is_vdi": "BOOLEAN"}
    declared = ", ".join(f"{c} {types.get(c, 'VARCHAR')}" for c in columns)
    con.execute(f"CREATE TABLE d ({declared})")
    con.executemany(f"INSERT INTO d VALUES ({', '.join('?' * len(columns))})", [[r[c] for c in columns] for r in rows])
    target = root / "features" / "delta"
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY d TO '{target}' (FORMAT PARQUET, PARTITION_BY (feature_spec_version, dt, mini_batch_id))")


def batch(index: int) -> BatchContext:
    start = LAST - timedelta(minutes=OFFSETS[index])
    end = start + timedelta(minutes=14, seconds=41)
    return BatchContext("ndr-acme", "v1", f"b{index}", f"{start:%Y-%m-%dT%H:%M:%SZ}", f"{end:%Y-%m-%dT%H:%M:%SZ}")


def spec_from(payload: dict[str, Any]) -> FgAJobSpec:
    return FgAJobSpec.from_payload(payload, "test", project_name="ndr-acme", job_name="fg_a_builder", version="v1")


def expected(root: Path, window: datetime) -> tuple[dict[str, dict[str, Any]], list[tuple[Any, ...]]]:
    """Per host the rare/new columns and the pair context rows with their history, from the delta alone."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    w = f"TIMESTAMPTZ '{window:%Y-%m-%d %H:%M:%S}+00'"
    con.execute(
        f"""CREATE VIEW delta AS SELECT * FROM read_parquet('{root}/features/delta/**/*.parquet',
            hive_partitioning = true, hive_types_autocast = false) WHERE feature_spec_version = 'v1'"""
    )
    history = f"batch_start_ts >= {w} - INTERVAL 30 DAY AND batch_start_ts < {w}"
    selects = []
    for name, column in COLUMNS.items():
        con.execute(
            f"""CREATE VIEW v_{name} AS
                WITH cur AS (SELECT host_ip, CAST({column} AS VARCHAR) AS value, count(*) AS sessions FROM delta
                             WHERE batch_start_ts = {w} AND {column} IS NOT NULL GROUP BY ALL),
                     past AS (SELECT host_ip, CAST({column} AS VARCHAR) AS value,
                                     count(DISTINCT batch_start_ts) AS windows
                              FROM delta WHERE {history} AND {column} IS NOT NULL GROUP BY ALL)
                SELECT cur.host_ip, cur.value, cur.sessions, coalesce(past.windows, 0) AS windows
                FROM cur LEFT JOIN past USING (host_ip, value)"""
        )
        t = THRESHOLDS[name]
        selects += [
            f"(SELECT count(*) FROM v_{name} v WHERE v.host_ip = h.host_ip AND windows <= {t})"
            f" AS rare_{name}_cnt_w_15m",
            f"(SELECT coalesce(sum(sessions), 0) FROM v_{name} v WHERE v.host_ip = h.host_ip AND windows <= {t})"
            f" AS rare_{name}_sessions_cnt_w_15m",
            f"(SELECT count(*) FROM v_{name} v WHERE v.host_ip = h.host_ip AND windows = 0) AS new_{name}_cnt_w_15m",
        ]
    pairs = con.execute(
        f"""WITH cur AS (SELECT host_ip, peer_ip, peer_port, count(*) AS sessions, sum(bytes_sent) AS src,
                                sum(bytes_recv) AS dst FROM delta WHERE batch_start_ts = {w} GROUP BY ALL),
                 past AS (SELECT host_ip, peer_ip, peer_port, count(DISTINCT batch_start_ts) AS windows,
                                 count(*) AS sessions FROM delta WHERE {history} GROUP BY ALL)
            SELECT cur.host_ip, cur.peer_ip, cur.peer_port, cur.sessions, cur.src, cur.dst,
                   coalesce(past.windows, 0), coalesce(past.sessions, 0)
            FROM cur LEFT JOIN past ON cur.host_ip = past.host_ip AND cur.peer_ip = past.peer_ip
                                   AND cur.peer_port IS NOT DISTINCT FROM past.peer_port
            ORDER BY ALL"""
    ).fetchall()
    con.execute("CREATE TABLE pairs (host_ip VARCHAR, windows BIGINT, sessions BIGINT)")
    con.executemany("INSERT INTO pairs VALUES (?, ?, ?)", [(p[0], p[6], p[3]) for p in pairs])
    selects += [
        "(SELECT count(*) FROM pairs p WHERE p.host_ip = h.host_ip AND windows = 0) AS new_pairs_cnt_w_15m",
        "(SELECT coalesce(sum(sessions), 0) FROM pairs p WHERE p.host_ip = h.host_ip AND windows = 0)"
        " AS new_pair_sessions_cnt_w_15m",
    ]
    result = con.execute(
        f"SELECT host_ip, {', '.join(selects)} FROM (SELECT DISTINCT host_ip FROM delta WHERE batch_start_ts = {w}) h"
    )
    names = [d[0] for d in result.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}, pairs


def read(root: Path, prefix: str, where: str = "true") -> list[dict[str, Any]]:
    folder = root / prefix.removeprefix("s3://")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    result = con.execute(
        f"SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
        f" WHERE {where}"
    )
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def none_first(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is not None, value) for value in row)


@pytest.fixture(scope="module")
def month(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStorage, Path, dict[int, Any]]:
    storage = LocalStorage(tmp_path_factory.mktemp("history") / "s3")
    write_delta(storage.root, delta_rows())
    spec = spec_from(PAYLOAD)
    results = {i: run_fg_a_builder(spark, spec, batch(i), storage) for i in range(len(OFFSETS))}
    return storage, storage.root, results


@pytest.mark.parametrize("index", [1, 3, 4])
def test_rare_and_new_pair_columns_match_duckdb(month: tuple[LocalStorage, Path, dict[int, Any]], index: int) -> None:
    _, root, _ = month
    window = LAST - timedelta(minutes=OFFSETS[index])
    want, pairs = expected(root, window)
    columns = [*rare_columns(spec_from(PAYLOAD).lookback30d.dimensions), *PAIR_COLUMNS]  # type: ignore[union-attr]
    got = {r["host_ip"]: r for r in read(root, OUT, f"mini_batch_id = 'b{index}'")}
    assert sorted(got) == sorted(want) == HOSTS
    for host in HOSTS:
        assert {c: got[host][c] for c in columns} == {c: want[host][c] for c in columns}, host
    context = sorted(
        [
            (
                r["host_ip"],
                r["peer_ip"],
                r["peer_port"],
                r["sessions_cnt"],
                r["bytes_src_sum"],
                r["bytes_dst_sum"],
                r["pair_windows_30d"],
                r["pair_sessions_30d"],
            )
            for r in read(root, CONTEXT, f"mini_batch_id = 'b{index}'")
        ],
        key=none_first,
    )
    assert context == sorted((tuple(p) for p in pairs), key=none_first)


def test_history_edges_and_hand_checked_values(month: tuple[LocalStorage, Path, dict[int, Any]]) -> None:
    _, root, results = month
    first = {r["host_ip"]: r for r in read(root, OUT, "mini_batch_id = 'b0'")}
    # the first window has no history: every value is new and rare, every pair new
    for host, row in first.items():
        values = {r[COLUMNS["peer_ip"]] for r in delta_rows() if r["mini_batch_id"] == "b0" and r["host_ip"] == host}
        assert row["new_peer_ip_cnt_w_15m"] == row["rare_peer_ip_cnt_w_15m"] == len(values)
        assert row["new_pairs_cnt_w_15m"] > 0
    # four earlier batch folders are listed for LAST (b0's dt is in range; its window, 30d + 15m before, is not)
    assert results[4].metrics["history_partitions_read"] == {"lookback30d": 4, "pair_context_input": 4}
    assert results[0].metrics["history_partitions_read"] == {"lookback30d": 0, "pair_context_input": 0}
    lookback = read(root, LOOKBACK, "mini_batch_id = 'b4'")
    assert {r["dimension"] for r in lookback} == set(THRESHOLDS)
    assert {r["window_label"] for r in lookback} == {"2025-02-01T10:08Z"}


def test_rerun_of_an_earlier_window_sees_the_same_history(
    spark: Any, month: tuple[LocalStorage, Path, dict[int, Any]]
) -> None:
    storage, root, _ = month
    before = sorted(map(str, read(root, OUT, "mini_batch_id = 'b3'")))
    run_fg_a_builder(spark, spec_from(PAYLOAD), batch(3), storage)
    assert sorted(map(str, read(root, OUT, "mini_batch_id = 'b3'"))) == before


def test_lookback_spec_errors() -> None:
    with pytest.raises(SpecError, match=r"lookback30d\.s3_prefix"):
        spec_from({**PAYLOAD, "lookback30d": {"rare_thresholds": {"peer_ip": 1}}})
    with pytest.raises(SpecError, match="at least 0"):
        spec_from({**PAYLOAD, "lookback30d": {"s3_prefix": LOOKBACK, "rare_thresholds": {"peer_ip": -1}}})
    with pytest.raises(SpecError, match="same delta column twice"):
        twice = {"peer_port": 1, "destination_port": 2}
        spec_from({**PAYLOAD, "lookback30d": {"s3_prefix": LOOKBACK, "rare_thresholds": twice}})
    spec = spec_from(PAYLOAD)
    assert spec.lookback30d is not None
    assert [(d.name, d.column, d.threshold) for d in spec.lookback30d.dimensions] == [
        ("peer_ip", "peer_ip", 1.0),
        ("destination_port", "peer_port", 2.0),
        ("app", "app", 0.0),
    ]


def test_unknown_dimension_column_fails_naming_it(spark: Any, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "s3")
    write_delta(storage.root, delta_rows())
    payload = {**PAYLOAD, "lookback30d": {"s3_prefix": LOOKBACK, "rare_thresholds": {"source_zone": 1}}}
    with pytest.raises(RuntimeJobError, match="source_zone"):
        run_fg_a_builder(spark, spec_from(payload), batch(4), storage)
