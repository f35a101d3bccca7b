"""FG-B benchmark: the Spark fg_b_builder vs. DuckDB computing the same baselines from the same FG-A Parquet.

    .venv/bin/python benchmarks/fg_b_bench.py                          # 2,000 hosts x 30 days (5.76M rows)
    .venv/bin/python benchmarks/fg_b_bench.py --hosts 200 --days 30    # quick run

It writes synthetic FG-A output in the contract layout (one Parquet file per 15-minute window, 96 a day,
cached under --workdir), then runs each engine in its own process, sampling the process tree's RSS
(driver + JVM, or DuckDB):
  spark_fgb   run_fg_b_builder: horizons 7d (1d safety gap) and 30d, quantile capping 0.995, support_min 96,
              5 metrics, host/ and segment/ datasets written as partitioned Parquet
  duckdb_fgb  devtools.fgb_reference's SQL (quantile_cont, mad, avg, stddev_samp) for the same two datasets,
              written with COPY ... (FORMAT PARQUET)
and prints the wall times, their ratio and peak RSS, and checks row by row (joined on the keys) that both wrote
the same values (doubles within 1e-9 relative).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import harness  # noqa: E402
from devtools.fg_a_frames import METRICS, FgAWorld, write_fg_a  # noqa: E402

SPEC: dict[str, Any] = {
    "fg_a_input": {"s3_prefix": "s3://features/fg_a/"},
    "fg_b_output": {"s3_prefix": "s3://out/spark_fgb/"},
    "horizons": ["7d", "30d"],
    "safety_gaps": {"7d": "1d"},
    "anomaly_capping": {"method": "quantile", "quantile": 0.995},
    "baseline_metrics": list(METRICS),
    "support_min": 96,
}


def world(hosts: int, days: int) -> FgAWorld:
    return FgAWorld(hosts=hosts, days=days, windows_per_day=96, start_day="2025-01-01", vdi_every=25)


def reference(days: int) -> datetime:
    return datetime(2025, 1, 1, 0, 30, tzinfo=UTC) + timedelta(days=days)


def dataset(workdir: Path, hosts: int, days: int) -> Path:
    root = workdir / f"fgb_{hosts}x{days}" / "s3"
    marker = root.parent / "dataset.json"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        rows = write_fg_a(world(hosts, days), root / "features" / "fg_a")
        marker.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
    return root


def phase_spark(root: Path, hosts: int, days: int) -> dict[str, Any]:
    from runtime.jobs.fg_b_builder.builder import run_fg_b_builder
    from runtime.jobs.fg_b_builder.spec import FgBJobSpec
    from runtime.spark import build_spark_session
    from runtime.storage import LocalStorage

    spark = build_spark_session("fgb-bench", master="local[2]", config={"spark.driver.memory": "4g"})
    spec = FgBJobSpec.from_payload(SPEC, "bench", project_name="bench", job_name="fg_b_builder", version="v1")
    started = time.perf_counter()
    result = run_fg_b_builder(spark, spec, LocalStorage(root), reference=reference(days), feature_spec_version="v1")
    seconds = time.perf_counter() - started
    spark.stop()
    return {"seconds": seconds, "history_rows": result.metrics["history_rows"]}


def phase_duckdb(root: Path, hosts: int, days: int) -> dict[str, Any]:
    import duckdb

    from devtools.fgb_reference import Capping, Horizon, fg_b_sql
    from runtime.jobs.fg_b_builder.builder import plan_run
    from runtime.jobs.fg_b_builder.spec import FgBJobSpec

    spec = FgBJobSpec.from_payload(SPEC, "bench", project_name="bench", job_name="fg_b_builder", version="v1")
    plan = plan_run(spec, reference(days), "v1")
    host_sql, segment_sql = fg_b_sql(
        f"{root}/features/fg_a/**/*.parquet",
        METRICS,
        [Horizon(w.name, w.start, w.end) for w in plan.windows],
        feature_spec_version="v1",
        capping=Capping("quantile", 0.995),
        support_min=96,
    )
    out = root / "out" / "duckdb_fgb"
    out.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    started = time.perf_counter()
    connection.execute(f"COPY ({host_sql}) TO '{out}/host.parquet' (FORMAT PARQUET)")
    connection.execute(f"COPY ({segment_sql}) TO '{out}/segment.parquet' (FORMAT PARQUET)")
    return {"seconds": time.perf_counter() - started}


def run_phase(name: str, root: Path, hosts: int, days: int) -> dict[str, Any]:
    return harness.run_phase(__file__, name, ["--root", str(root), "--hosts", str(hosts), "--days", str(days)])


RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12
DATASET_KEYS = {"host": ("host_ip", "baseline_horizon", "metric"), "segment": ("segment", "baseline_horizon", "metric")}
EXACT_COLUMNS = {
    "host": (
        "baseline_source",
        "baseline_key",
        "machine_name",
        "segment",
        "non_persistent",
        "support_fallback",
        "own_support",
        "baseline_support",
        "support_count",
    ),
    "segment": ("baseline_support", "support_count"),
}
FLOAT_COLUMNS = ("median", "mad", "p05", "p25", "p75", "p95", "mean", "std", "min", "max", "cap_low", "cap_high")


def compare_dataset(spark_glob: str, duckdb_file: str, dataset: str) -> dict[str, Any]:
    """Joins both engines' rows on the dataset's keys and counts rows missing on a side or differing: strings,
    flags and counts exactly, doubles within RELATIVE_TOLERANCE (ABSOLUTE_TOLERANCE near 0) — the engines sum
    in different orders, so the last bits of a mean or std may differ."""
    import duckdb

    keys = DATASET_KEYS[dataset]
    same = [f"s.{c} IS NOT DISTINCT FROM d.{c}" for c in EXACT_COLUMNS[dataset]]
    same += [
        f"(s.{c} IS NOT DISTINCT FROM d.{c} OR abs(s.{c} - d.{c}) <= "
        f"greatest({RELATIVE_TOLERANCE} * greatest(abs(s.{c}), abs(d.{c})), {ABSOLUTE_TOLERANCE}))"
        for c in FLOAT_COLUMNS
    ]
    query = f"""
        SELECT count(*) FILTER (WHERE s.{keys[0]} IS NOT NULL) AS spark_rows,
               count(*) FILTER (WHERE d.{keys[0]} IS NOT NULL) AS duckdb_rows,
               count(*) FILTER (WHERE s.{keys[0]} IS NULL OR d.{keys[0]} IS NULL) AS unmatched,
               count(*) FILTER (WHERE s.{keys[0]} IS NOT NULL AND d.{keys[0]} IS NOT NULL
                                AND NOT coalesce({" AND ".join(same)}, FALSE)) AS differing
        FROM read_parquet('{spark_glob}', hive_partitioning = true) s
        FULL OUTER JOIN read_parquet('{duckdb_file}') d ON {" AND ".join(f"s.{k} = d.{k}" for k in keys)}
    """
    cursor = duckdb.connect().execute(query)
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchall()[0], strict=True))


def compare_outputs(root: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"relative_tolerance": RELATIVE_TOLERANCE}
    for dataset in DATASET_KEYS:
        result[dataset] = compare_dataset(
            str(root / "out" / "spark_fgb" / dataset / "**" / "*.parquet"),
            str(root / "out" / "duckdb_fgb" / f"{dataset}.parquet"),
            dataset,
        )
    result["same"] = all(
        r["unmatched"] == 0 and r["differing"] == 0 and r["spark_rows"] > 0 for r in (result[d] for d in DATASET_KEYS)
    )
    return result


def benchmark(hosts: int, days: int, workdir: Path) -> dict[str, Any]:
    root = dataset(workdir, hosts, days)
    load_before = os.getloadavg()
    shutil.rmtree(root / "out", ignore_errors=True)
    phases = {name: run_phase(name, root, hosts, days) for name in ("spark_fgb", "duckdb_fgb")}
    meta = json.loads((root.parent / "dataset.json").read_text())
    return {
        "hosts": hosts,
        "days": days,
        "fg_a_rows": meta["rows"],
        "phases": phases,
        "time_ratio": round(phases["spark_fgb"]["seconds"] / phases["duckdb_fgb"]["seconds"], 2),
        "cpu_ratio": round(phases["spark_fgb"]["cpu_seconds"] / max(0.1, phases["duckdb_fgb"]["cpu_seconds"]), 2),
        "rss_ratio": round(phases["spark_fgb"]["peak_rss_mb"] / max(1, phases["duckdb_fgb"]["peak_rss_mb"]), 2),
        "outputs": compare_outputs(root),
        "load_average_before": load_before,
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        runner = phase_spark if args.phase == "spark_fgb" else phase_duckdb
        print(json.dumps(runner(args.root, args.hosts, args.days)))
        return 0
    print(json.dumps(benchmark(args.hosts, args.days, args.workdir), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
