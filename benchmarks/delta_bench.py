"""Delta builder benchmark: Spark delta builder vs. the read floor and a DuckDB query with the same output.

    .venv/bin/python benchmarks/delta_bench.py                 # 1M and 5M rows
    .venv/bin/python benchmarks/delta_bench.py --rows 200000   # quick run

For each size it generates one mini-batch of synthetic Palo Alto traffic (cached under --workdir), then runs,
each in its own process so peak RSS is the process tree's (driver + JVM / DuckDB):
  spark_delta  run_delta_builder (runtime.jobs.delta_builder: DQ, enrichment, 2 roles, 2 operators, partitioned write)
  spark_floor  Spark reading the same files with the same schema into a no-op sink (decompress + parse)
  duckdb_delta a DuckDB SQL query computing the same output and writing the same partitioned Parquet
  duckdb_floor DuckDB reading the same files and columns (decompress + parse), nothing written
and prints rows/s, the ratios and peak RSS, and checks that both engines wrote the same row count and sums.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import harness  # noqa: E402
from devtools.traffic import PALOALTO_FIELD_MAPPING, TrafficOptions, generate_traffic  # noqa: E402

ROWS_PER_FILE = 250_000
BATCH_START, BATCH_END = "2025-01-15T10:08:00Z", "2025-01-15T10:08:41Z"
PORT_SETS = {"database": [1433, 1521, 3306, "5432"], "web": [80, 443, "8000-8099", 8080, 8443]}
SPEC: dict[str, Any] = {
    "project_name": "bench",
    "job_name": "delta_builder",
    "feature_spec_version": "v1",
    "input": {"s3_prefix": "s3://unused/", "field_mapping": PALOALTO_FIELD_MAPPING},
    "enrichment": {"vdi_hostname_prefixes": ["vdi-"], "port_sets_location": "s3://config/port_sets.json"},
    "operators": [{"type": "drop_self_traffic"}, {"type": "window_bucket", "params": {"minutes": 15}}],
    "output": {"s3_prefix": "s3://out/spark_delta/", "partition_keys": ["feature_spec_version", "dt"]},
}


# ----------------------------------------------------------------------------- data
def dataset(workdir: Path, rows: int, workers: int) -> tuple[Path, str, str]:
    """(storage root, mini_batch_s3_prefix, mini_batch_id), generated once per size and reused."""
    root = workdir / f"rows_{rows}" / "s3"
    marker = root.parent / "dataset.json"
    if marker.exists():
        meta = json.loads(marker.read_text())
        return root, meta["prefix"], meta["mini_batch_id"]
    from runtime.storage import LocalStorage

    storage = LocalStorage(root)
    files = max(2, rows // ROWS_PER_FILE)
    started = time.perf_counter()
    [batch] = generate_traffic(
        "s3://ingest",
        rows_per_batch=rows,
        files_per_batch=files,
        options=TrafficOptions(hosts=2000, seed=42),
        storage=storage,
        workers=workers,
    )
    storage.write_bytes("s3://config/port_sets.json", json.dumps({"port_sets": PORT_SETS}).encode())
    marker.write_text(
        json.dumps(
            {
                "prefix": batch.mini_batch_s3_prefix,
                "mini_batch_id": batch.mini_batch_id,
                "files": files,
                "malformed": dict(batch.malformed),
            }
        )
    )
    print(f"# generated {rows:,} rows in {files} files in {time.perf_counter() - started:.1f}s", flush=True)
    return root, batch.mini_batch_s3_prefix, batch.mini_batch_id


# ----------------------------------------------------------------------------- phases (child processes)
def phase_spark(root: Path, prefix: str, batch_id: str, floor: bool) -> dict[str, Any]:
    from runtime.batch import BatchContext
    from runtime.jobs.delta_builder.builder import run_delta_builder
    from runtime.jobs.delta_builder.spec import DeltaJobSpec
    from runtime.spark import build_spark_session
    from runtime.spark_io.readers import read_canonical
    from runtime.storage import LocalStorage

    spark = build_spark_session("delta-bench", master="local[2]", config={"spark.driver.memory": "4g"})
    storage = LocalStorage(root)
    spec = DeltaJobSpec.from_payload(SPEC, "bench")
    started = time.perf_counter()
    if floor:
        mapping = {name: spec.input.source_field(name) or name for name in PALOALTO_FIELD_MAPPING}
        frame = read_canonical(spark, storage, prefix, "json", "gzip", mapping)
        frame.write.format("noop").mode("overwrite").save()
        out: dict[str, Any] = {}
    else:
        batch = BatchContext("bench", "v1", batch_id, BATCH_START, BATCH_END, prefix)
        result = run_delta_builder(spark, spec, batch, storage)
        out = {"rows_out": result.metrics["rows_out"], "rows_valid": result.metrics["rows_valid"]}
    out["seconds"] = time.perf_counter() - started
    spark.stop()
    return out


DUCKDB_SQL = r"""
WITH raw AS (
  SELECT * FROM read_json({files}, format='newline_delimited', compression='gzip', columns={columns})
), typed AS (
  SELECT NULLIF(trim(src), '') AS source_ip, NULLIF(trim(dst), '') AS destination_ip,
    {port_sport} AS source_port, {port_dport} AS destination_port,
    {bytes_sent} AS source_bytes, {bytes_received} AS destination_bytes,
    TRY_CAST(trim(start) AS TIMESTAMPTZ)::TIMESTAMP AS event_start,
    TRY_CAST(trim(time_generated) AS TIMESTAMPTZ)::TIMESTAMP AS event_end,
    NULLIF(trim(src_host), '') AS source_hostname, NULLIF(trim(dst_host), '') AS destination_hostname
  FROM raw
), valid AS (
  SELECT *,
    coalesce(starts_with(lower(source_hostname), 'vdi-'), false) AS source_is_vdi,
    coalesce(starts_with(lower(destination_hostname), 'vdi-'), false) AS destination_is_vdi,
    {port_set_source} AS source_port_set, {port_set_destination} AS destination_port_set,
    (epoch_us(event_end) - epoch_us(event_start)) / 1e6 AS duration_s
  FROM typed
  WHERE {ip_ok_source} AND {ip_ok_destination}
    AND source_bytes IS NOT NULL AND destination_bytes IS NOT NULL
    AND source_port IS NOT NULL AND destination_port IS NOT NULL
    AND source_bytes >= 0 AND destination_bytes >= 0
    AND event_start IS NOT NULL AND event_end IS NOT NULL AND event_end >= event_start
), roles AS (
  SELECT 'bench' AS project_name, 'v1' AS feature_spec_version, '{batch_id}' AS mini_batch_id,
    TIMESTAMP '2025-01-15 10:08:00' AS batch_start_ts, TIMESTAMP '2025-01-15 10:08:41' AS batch_end_ts,
    '2025-01-15' AS dt, r.role,
    CASE WHEN r.out THEN source_ip ELSE destination_ip END AS host_ip,
    CASE WHEN r.out THEN source_port ELSE destination_port END AS host_port,
    CASE WHEN r.out THEN source_hostname ELSE destination_hostname END AS host_hostname,
    CASE WHEN r.out THEN source_is_vdi ELSE destination_is_vdi END AS host_is_vdi,
    CASE WHEN r.out THEN destination_ip ELSE source_ip END AS peer_ip,
    destination_port AS peer_port,
    CASE WHEN r.out THEN destination_hostname ELSE source_hostname END AS peer_hostname,
    CASE WHEN r.out THEN destination_is_vdi ELSE source_is_vdi END AS peer_is_vdi,
    destination_port_set AS peer_port_set,
    CASE WHEN r.out THEN source_bytes ELSE destination_bytes END AS bytes_sent,
    CASE WHEN r.out THEN destination_bytes ELSE source_bytes END AS bytes_recv,
    event_start, event_end, duration_s
  FROM valid CROSS JOIN (VALUES ('outbound', true), ('inbound', false)) AS r(role, out)
)
SELECT *, to_timestamp(floor(epoch(event_start) / 900) * 900)::TIMESTAMP AS window_start,
  to_timestamp(floor(epoch(event_start) / 900) * 900 + 900)::TIMESTAMP AS window_end,
  strftime(to_timestamp(floor(epoch(event_start) / 900) * 900)::TIMESTAMP, '%Y-%m-%dT%H:%M:%SZ') AS window_label
FROM roles WHERE host_ip <> peer_ip
"""
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"({_OCTET}\.){{3}}{_OCTET}"
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = rf"(({_H}:){{7}}{_H}|({_H}:){{0,6}}{_H}?::({_H}:){{0,6}}{_H}?|::)"


def _port(column: str) -> str:
    number = f"TRY_CAST(trim({column}) AS DOUBLE)"
    return f"CASE WHEN {number} BETWEEN 0 AND 65535 AND {number} = floor({number}) THEN {number}::INTEGER END"


def _bytes(column: str) -> str:
    number = f"TRY_CAST(trim({column}) AS DOUBLE)"
    return f"CASE WHEN {number} = floor({number}) THEN {number}::BIGINT END"


def _port_set(column: str) -> str:
    branches = []
    for name, ports in PORT_SETS.items():
        singles = [str(p) for p in ports if isinstance(p, int) or "-" not in str(p)]
        ranges = [str(p).split("-") for p in ports if isinstance(p, str) and "-" in p]
        tests = [f"{column} IN ({', '.join(singles)})"] + [f"{column} BETWEEN {lo} AND {hi}" for lo, hi in ranges]
        branches.append(f"WHEN {' OR '.join(tests)} THEN '{name}'")
    return f"CASE {' '.join(branches)} END"


def _ip_ok(column: str) -> str:
    return f"coalesce(regexp_full_match({column}, '{_IPV4}') OR regexp_full_match({column}, '{_IPV6}'), false)"


def phase_duckdb(root: Path, prefix: str, batch_id: str, floor: bool) -> dict[str, Any]:
    import duckdb

    from runtime.storage import LocalStorage

    folder = LocalStorage(root).local_path(prefix)
    files = sorted(str(p) for p in folder.glob("*.json.gz"))
    columns = {name: "VARCHAR" for name in PALOALTO_FIELD_MAPPING.values()}
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    started = time.perf_counter()
    read = f"read_json({files!r}, format='newline_delimited', compression='gzip', columns={columns!r})"
    if floor:
        checks = ", ".join(f"count({name})" for name in columns)
        con.execute(f"SELECT {checks} FROM {read}").fetchall()
        return {"seconds": time.perf_counter() - started}
    sql = DUCKDB_SQL.format(
        files=repr(files),
        columns=repr(columns),
        batch_id=batch_id,
        port_sport=_port("sport"),
        port_dport=_port("dport"),
        bytes_sent=_bytes("bytes_sent"),
        bytes_received=_bytes("bytes_received"),
        port_set_source=_port_set("source_port"),
        port_set_destination=_port_set("destination_port"),
        ip_ok_source=_ip_ok("source_ip"),
        ip_ok_destination=_ip_ok("destination_ip"),
    )
    out_dir = root / "out" / "duckdb_delta"
    shutil.rmtree(out_dir, ignore_errors=True)
    con.execute(
        f"COPY ({sql}) TO '{out_dir}' (FORMAT PARQUET, PARTITION_BY (feature_spec_version, dt, "
        "mini_batch_id), OVERWRITE_OR_IGNORE)"
    )
    seconds = time.perf_counter() - started
    return {"seconds": seconds}


# ----------------------------------------------------------------------------- parent: run, sample RSS, report
def run_phase(name: str, root: Path, prefix: str, batch_id: str) -> dict[str, Any]:
    return harness.run_phase(__file__, name, ["--root", str(root), "--prefix", prefix, "--batch-id", batch_id])


def compare_outputs(root: Path) -> dict[str, Any]:
    import duckdb

    query = (
        "SELECT count(*), sum(bytes_sent), sum(bytes_recv), count(DISTINCT window_label), "
        "sum(CASE WHEN host_is_vdi THEN 1 ELSE 0 END), count(peer_port_set) "
        "FROM read_parquet('{}/**/*.parquet', hive_partitioning = true)"
    )
    spark_out = tuple(duckdb.sql(query.format(root / "out" / "spark_delta")).fetchall()[0])
    duck_out = tuple(duckdb.sql(query.format(root / "out" / "duckdb_delta")).fetchall()[0])
    return {"spark": list(spark_out or ()), "duckdb": list(duck_out or ()), "same": spark_out == duck_out}


def benchmark(rows: int, workdir: Path, workers: int) -> dict[str, Any]:
    root, prefix, batch_id = dataset(workdir, rows, workers)
    shutil.rmtree(root / "out", ignore_errors=True)
    phases = {
        name: run_phase(name, root, prefix, batch_id)
        for name in ("spark_floor", "spark_delta", "duckdb_floor", "duckdb_delta")
    }
    delta = phases["spark_delta"]["seconds"]
    report = {
        "rows": rows,
        "input_mb": round(sum(p.stat().st_size for p in (root / "ingest").rglob("*.json.gz")) / 2**20),
        "rows_out": phases["spark_delta"]["rows_out"],
        **{f"{name}_s": round(p["seconds"], 2) for name, p in phases.items()},
        **{f"{name}_rows_per_s": round(rows / p["seconds"]) for name, p in phases.items()},
        "ratio_delta_vs_spark_floor": round(delta / phases["spark_floor"]["seconds"], 2),
        "ratio_delta_vs_duckdb_floor": round(delta / phases["duckdb_floor"]["seconds"], 2),
        "ratio_delta_vs_duckdb_delta": round(delta / phases["duckdb_delta"]["seconds"], 2),
        **{f"{name}_peak_rss_mb": p["peak_rss_mb"] for name, p in phases.items()},
        "outputs": compare_outputs(root),
    }
    return report


def print_report(report: dict[str, Any]) -> None:
    rows = report["rows"]
    print(f"\n== {rows:,} rows ({report['input_mb']} MB gzip JSON) -> {report['rows_out']:,} delta rows")
    for name in ("spark_delta", "spark_floor", "duckdb_delta", "duckdb_floor"):
        print(
            f"  {name:<13} {report[name + '_s']:>8.2f} s  {report[name + '_rows_per_s']:>11,} rows/s  "
            f"peak RSS {report[name + '_peak_rss_mb']:>6,} MB"
        )
    print(f"  delta / spark read floor : {report['ratio_delta_vs_spark_floor']:.2f}x")
    print(f"  delta / duckdb read floor: {report['ratio_delta_vs_duckdb_floor']:.2f}x")
    print(f"  delta / duckdb same query: {report['ratio_delta_vs_duckdb_delta']:.2f}x")
    outputs = report["outputs"]
    print(f"  same output (rows, sums, windows, vdi, port sets): {outputs['same']} {outputs['spark']}")
    if not outputs["same"]:
        print(f"  duckdb output differs: {outputs['duckdb']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="generator processes")
    parser.add_argument("--json", action="store_true", help="also print each report as one JSON line")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--batch-id", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        engine, _, kind = args.phase.partition("_")
        runner = phase_spark if engine == "spark" else phase_duckdb
        print(json.dumps(runner(args.root, args.prefix, args.batch_id, kind == "floor")))
        return 0
    for rows in args.rows:
        report = benchmark(rows, args.workdir, args.workers)
        print_report(report)
        if args.json:
            print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
