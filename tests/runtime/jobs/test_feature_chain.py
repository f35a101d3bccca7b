"""The synthetic world through delta -> pair counts -> FG-A -> FG-B -> FG-C on Spark local[2].

World (`devtools.world`, stated size): 30 days x 1 batch a day (00:08 UTC), 24 machines (stable workstations,
DHCP churn, a VDI pool with a new address every day), 150 sessions per batch, one injected anomaly (400
sessions to never-seen external peers on random ports) in the batch of day 28. One batch a day keeps the
chain at 30 x 3 batch jobs; the FG-B history is still 30 days (28 daily windows before the anomaly per host).

Proof: in the anomaly's window the injected host has the highest z of every count/bytes metric in both
horizons, the top suspicion score and the most new pairs; its FG-A row and the FG-C z-scores of the window
are recomputed by DuckDB (FG-A from the delta, z from FG-B's baselines with `fg_c_long_sql`).
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from devtools.fgb_reference import fg_c_long_sql, records
from devtools.traffic import PALOALTO_FIELD_MAPPING, TrafficOptions
from devtools.world import WorldOptions, WorldRun, generate_world
from runtime.batch import BatchContext
from runtime.jobs.delta_builder.builder import run_delta_builder
from runtime.jobs.delta_builder.spec import DeltaJobSpec
from runtime.jobs.fg_a_builder.builder import run_fg_a_builder
from runtime.jobs.fg_a_builder.spec import FgAJobSpec
from runtime.jobs.fg_b_builder.builder import run_fg_b_builder
from runtime.jobs.fg_b_builder.spec import FgBJobSpec
from runtime.jobs.fg_c_builder.builder import run_fg_c_builder
from runtime.jobs.fg_c_builder.spec import FgCJobSpec
from runtime.jobs.pair_counts_builder.builder import run_pair_counts_builder
from runtime.jobs.pair_counts_builder.spec import PairCountsJobSpec
from runtime.orchestration.window import batch_window
from runtime.storage import LocalStorage

pytestmark = pytest.mark.spark

PROJECT = "ndr-world"
DELTA, PAIRS = "s3://features/delta/", "s3://features/pair_counts/"
FG_A, FG_B, FG_C = "s3://features/fg_a/", "s3://features/fg_b/", "s3://features/fg_c/"
CONTEXT, LOOKBACK = "s3://features/pair_context/", "s3://features/lookback30d/"
HORIZONS = ("7d", "30d")
METRICS = (
    "sessions_cnt_w_15m",
    "bytes_src_sum_w_15m",
    "distinct_peers_cnt_w_15m",
    "distinct_peer_ports_cnt_w_15m",
    "external_peers_cnt_w_15m",
)
DAYS = int(os.environ.get("NDRC_CHAIN_DAYS", "30"))  # a shorter world for a quick local run
OPTIONS = WorldOptions(
    traffic=TrafficOptions(org1="globex", org2="hq", project_name=PROJECT, hosts=24, malformed_ratio=0.0, seed=9),
    days=DAYS,
    batches_per_day=1,
    rows_per_batch=150,
)
SEGMENTS = {"segments": [{"name": "clients", "cidrs": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}]}


def specs() -> tuple[DeltaJobSpec, PairCountsJobSpec, FgAJobSpec, FgBJobSpec, FgCJobSpec]:
    def make(kind: Any, job: str, payload: dict[str, Any]) -> Any:
        return kind.from_payload(payload, "test", project_name=PROJECT, job_name=job, version="v1")

    delta = DeltaJobSpec.from_payload(
        {
            "project_name": PROJECT,
            "job_name": "delta_builder",
            "feature_spec_version": "v1",
            "input": {
                "s3_prefix": "s3://unused/",
                "format": "json",
                "compression": "gzip",
                "schema_projection": [*PALOALTO_FIELD_MAPPING.values(), "app"],
                "field_mapping": {**PALOALTO_FIELD_MAPPING, "application": "app"},
            },
            "enrichment": {"vdi_hostname_prefixes": ["vdi-"]},
            "operators": [{"type": "drop_self_traffic"}, {"type": "ip_scope"}],
            "output": {"s3_prefix": DELTA},
        },
        "test",
    )
    pairs = make(
        PairCountsJobSpec,
        "pair_counts_builder",
        {
            "traffic_input": {
                "s3_prefix": "s3://unused/",
                "layout": "mini_batch_prefix",
                "field_mapping": PALOALTO_FIELD_MAPPING,
            },
            "pair_counts_output": {"s3_prefix": PAIRS},
        },
    )
    fg_a = make(
        FgAJobSpec,
        "fg_a_builder",
        {
            "delta_input": {"s3_prefix": DELTA},
            "fg_a_output": {"s3_prefix": FG_A},
            "horizons": ["15m"],  # one batch a day: longer trailing windows would hold the same rows
            "segment_mapping": SEGMENTS,
            "pair_context_input": {"s3_prefix": CONTEXT},
            "pair_context_output": {"s3_prefix": CONTEXT},
            "lookback30d": {"s3_prefix": LOOKBACK, "rare_thresholds": {"peer_ip": 1, "application": 1}},
        },
    )
    fg_b = make(
        FgBJobSpec,
        "fg_b_builder",
        {
            "fg_a_input": {"s3_prefix": FG_A},
            "fg_b_output": {"s3_prefix": FG_B},
            "horizons": list(HORIZONS),
            "baseline_metrics": list(METRICS),
            "anomaly_capping": {"method": "quantile", "quantile": 0.995},
            "pair_counts": {"s3_prefix": PAIRS},
        },
    )
    fg_c = make(
        FgCJobSpec,
        "fg_c_builder",
        {
            "fg_a_input": {"s3_prefix": FG_A},
            "fg_b_input": {"s3_prefix": FG_B},
            "fg_c_output": {"s3_prefix": FG_C},
            "horizons": list(HORIZONS),
            "metrics": list(METRICS),
            "eps": Decimal("1e-6"),
            "z_max": Decimal("1000"),  # no clipping, so "highest z" is a real ranking
            "pair_counts": {"s3_prefix": PAIRS},
            "pair_context_input": {"s3_prefix": CONTEXT},
        },
    )
    return delta, pairs, fg_a, fg_b, fg_c


def batch_context(generated: Any) -> BatchContext:
    start, end = batch_window(generated.batch_end_ts_iso)
    return BatchContext(PROJECT, "v1", generated.mini_batch_id, start, end, generated.mini_batch_s3_prefix)


@pytest.fixture(scope="module")
def chain(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStorage, WorldRun, BatchContext]:
    storage = LocalStorage(tmp_path_factory.mktemp("world") / "s3")
    world = generate_world("s3://ingest", OPTIONS, storage=storage)
    delta, pairs, fg_a, fg_b, fg_c = specs()
    anomaly = world.world.anomaly
    contexts = [batch_context(b) for b in world.batches]
    for context in contexts[: anomaly.batch_index + 1]:
        run_delta_builder(spark, delta, context, storage)
        run_pair_counts_builder(spark, pairs, context, storage)
        run_fg_a_builder(spark, fg_a, context, storage)
    target = contexts[anomaly.batch_index]
    reference = datetime.fromisoformat(target.batch_start_ts_iso.replace("Z", "+00:00")).replace(
        hour=0, minute=0, second=0
    )
    run_fg_b_builder(spark, fg_b, storage, reference=reference, feature_spec_version="v1")
    run_fg_c_builder(spark, fg_c, target, storage)
    return storage, world, target


def degenerate_baselines(storage: LocalStorage, dt: str) -> set[tuple[str, str, str]]:
    """(host_ip, metric, horizon) whose FG-B baseline has MAD 0: there robust z divides by eps, so a deviation of
    one session is already clipped at z_max. In this world they are the servers and public peers, which appear as
    hosts through the inbound role with one session in every batch."""
    rows = pq.read_table(storage.local_path(FG_B + "host"), partitioning="hive").to_pylist()
    return {(r["host_ip"], r["metric"], r["baseline_horizon"]) for r in rows if r["dt"] == dt and r["mad"] == 0}


def test_injected_host_tops_its_window(chain: tuple[LocalStorage, WorldRun, BatchContext]) -> None:
    storage, world, target = chain
    rows = [
        r
        for r in pq.read_table(storage.local_path(FG_C), partitioning="hive").to_pylist()
        if r["mini_batch_id"] == target.mini_batch_id
    ]
    by_host = {r["host_ip"]: r for r in rows}
    injected = world.world.anomaly.ip
    assert injected in by_host and len(rows) >= 15
    degenerate = degenerate_baselines(storage, target.batch_start_ts_iso[:10])
    for metric in METRICS:
        for h in HORIZONS:
            column = f"{metric}_z_{h}"
            assert (injected, metric, h) not in degenerate
            others = [r for r in rows if r["host_ip"] != injected and r[column] is not None]
            regular = [r[column] for r in others if (r["host_ip"], metric, h) not in degenerate]
            assert regular and by_host[injected][column] > max(regular), column
            # only a degenerate baseline (MAD 0) can reach the injected host's level
            assert all(r[column] < by_host[injected][column] or r[column] == 1000.0 for r in others), column
    counts = [f"new_{kind}_cnt_{h}" for kind in ("pair", "peer", "port") for h in HORIZONS] + ["ctx_new_pair_cnt"]
    for column in counts:
        others = [r[column] or 0 for r in rows if r["host_ip"] != injected]
        assert by_host[injected][column] > max(others), column
    for h in HORIZONS:
        assert by_host[injected][f"baseline_source_{h}"] == "host"
    for value in (v for r in rows for v in r.values() if isinstance(v, float)):
        assert math.isfinite(value)


def test_chain_outputs_match_duckdb(chain: tuple[LocalStorage, WorldRun, BatchContext]) -> None:
    storage, _, target = chain
    root = storage.root / "features"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    delta = f"read_parquet('{root}/delta/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
    fg_a = f"read_parquet('{root}/fg_a/**/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
    want = con.execute(
        f"""SELECT host_ip, count(*), coalesce(sum(bytes_sent), 0), count(DISTINCT peer_ip),
                   count(DISTINCT peer_port), count(DISTINCT peer_ip) FILTER (WHERE NOT peer_is_internal)
            FROM {delta} WHERE mini_batch_id = '{target.mini_batch_id}' GROUP BY host_ip ORDER BY host_ip"""
    ).fetchall()
    got = con.execute(
        f"SELECT host_ip, {', '.join(METRICS)} FROM {fg_a} WHERE mini_batch_id = '{target.mini_batch_id}'"
        " ORDER BY host_ip"
    ).fetchall()
    assert got == want
    start = datetime.fromisoformat(target.batch_start_ts_iso.replace("Z", "+00:00"))
    dt = f"{start:%Y-%m-%d}"
    long = records(
        fg_c_long_sql(
            f"{root}/fg_a/**/*.parquet",
            f"{root}/fg_b/host/**/*.parquet",
            f"{root}/fg_b/segment/**/*.parquet",
            target.mini_batch_id,
            METRICS,
            HORIZONS,
            host_dt=dt,
            segment_dt=dt,
            eps="1e-6",
            z_max="1000",
            keys=["host_ip", "window_label"],
        )
    )
    rows = {
        r["host_ip"]: r
        for r in pq.read_table(storage.local_path(FG_C), partitioning="hive").to_pylist()
        if r["mini_batch_id"] == target.mini_batch_id
    }
    assert len(long) == len(rows) * len(METRICS) * len(HORIZONS)
    for item in long:
        got_z = rows[item["host_ip"]][f"{item['metric']}_z_{item['baseline_horizon']}"]
        if item["z"] is None:
            assert got_z is None
        else:
            assert math.isclose(got_z, item["z"], rel_tol=1e-9, abs_tol=1e-12), item
    assert start - timedelta(days=DAYS - 2) >= datetime(2025, 1, 1, tzinfo=UTC)  # the baselines span the world
