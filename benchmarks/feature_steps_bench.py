"""The `feature-15m` Spark steps in ONE warm worker at demo size: wall time and Spark jobs/stages per step.

    .venv/bin/python -m benchmarks.feature_steps_bench --batches 6

Like `ndrc demo` (compiler/local/demo_world.py): one project (ndr-prod, its published `local` items from
tests/golden/dynamodb with the demo overlay's FG-B sizes), the synthetic world's 30-minute batches of a dozen
hosts and 150 sessions, `--history` batches before a UTC midnight, FG-B at that midnight, then the rest. Each
batch runs DeltaBuilder, PairCountsBuilder, FgABuilder and FgCBuilder as the warm worker runs pipeline steps
(`runtime.warm_worker.run_request`: `python -m runtime <job> ...` in-process, the session reset after each),
against a throwaway emulator holding the items. Per step and batch it prints the wall time, the CPU seconds
(this process and its Spark JVM; steadier than wall on a shared machine) and the Spark jobs and stages the step
launched (`statusTracker`); the summary gives each step's median over the batches after the first (the first
pays the JVM start and first-time code generation) and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "dynamodb" / "ml_projects_parameters.jsonl"
PROJECT = "ndr-prod"
ITEMS = (
    "project_parameters#v1",
    "machine_inventory_unload",
    "delta_builder#v1",
    "pair_counts_builder#v1",
    "fg_a_builder#v1",
    "fg_b_builder#v1",
    "fg_c_builder#v1",
)
# examples/demo/overlay.yaml: FG-B's support and safety gaps sized for a few hours of history
FG_B_OVERLAY = {"support_min": 2, "safety_gaps": {"7d": "1m", "30d": "1m"}}
STEPS = {
    "DeltaBuilder": "delta_builder",
    "PairCountsBuilder": "pair_counts_builder",
    "FgABuilder": "fg_a_builder",
    "FgCBuilder": "fg_c_builder",
}
MIDNIGHT = datetime(2025, 1, 15, tzinfo=UTC)
BATCH_MINUTES = 30


def published_items() -> list[dict[str, Any]]:
    decode, encode = TypeDeserializer(), TypeSerializer()
    items = []
    for line in GOLDEN.read_text().splitlines():
        raw = json.loads(line)["Item"]
        if raw["project_name"]["S"] != PROJECT or raw["job_name"]["S"] not in ITEMS:
            continue
        if raw["job_name"]["S"] == "fg_b_builder#v1":
            spec = decode.deserialize(raw["spec"])
            raw["spec"] = encode.serialize({**spec, **FG_B_OVERLAY})
        items.append(raw)
    return items


def cpu_seconds() -> float:
    """CPU time of this process and of its Spark JVM (driver and local executors), in seconds (Linux /proc)."""
    from pyspark.sql import SparkSession

    own = time.process_time()
    session = SparkSession.getActiveSession() if "pyspark" in sys.modules else None
    if session is None:
        return own
    jvm = session.sparkContext._jvm
    if jvm is None:
        return own
    pid = jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return own + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class SparkCounter:
    """Spark jobs and stages launched since the last call (the session exists once a job asked for it)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def new(self) -> tuple[int, int]:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is None:
            return 0, 0
        tracker = session.sparkContext.statusTracker()
        jobs = set(tracker.getJobIdsForGroup(None)) - self.seen
        self.seen |= jobs
        stages = sum(len(info.stageIds) for job in jobs if (info := tracker.getJobInfo(job)) is not None)
        return len(jobs), stages


def batch_args(batch_id: str, end_iso: str) -> list[str]:
    end = datetime.fromisoformat(end_iso.replace("Z", "+00:00"))
    return [
        "--feature-spec-version",
        "v1",
        "--mini-batch-id",
        batch_id,
        "--batch-start-ts-iso",
        f"{end.replace(second=0):%Y-%m-%dT%H:%M:%SZ}",
        "--batch-end-ts-iso",
        end_iso,
    ]


def run_bench(batches: int, history: int, hosts: int, rows: int) -> list[dict[str, Any]]:
    from compiler.local.emulator import running_emulator
    from devtools.traffic import TrafficOptions
    from devtools.world import WorldOptions, generate_world
    from runtime.storage import LocalStorage
    from runtime.warm_worker import run_request

    first_end = MIDNIGHT + timedelta(minutes=8 - BATCH_MINUTES * history)
    options = WorldOptions(
        traffic=TrafficOptions(
            org1="globex", org2="hq", project_name=PROJECT, hosts=hosts, malformed_ratio=0.0, seed=5
        ),
        start=first_end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        days=1,
        batches_per_day=24 * 60 // BATCH_MINUTES,
        rows_per_batch=rows,
        anomaly_day=0,
        anomaly_batch=batches - 1,
    )
    with tempfile.TemporaryDirectory(prefix="ndrc-steps-bench-") as folder, running_emulator(Path(folder)) as endpoint:
        root = Path(folder) / "s3"
        storage = LocalStorage(root)
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "ML_PROJECTS_PARAMETERS_TABLE_NAME": "bench_params",
            "NDRC_LOCAL_STORAGE_ROOT": str(root),
        }
        ddb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        ddb.create_table(
            TableName="bench_params",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "project_name", "KeyType": "HASH"},
                {"AttributeName": "job_name", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "project_name", "AttributeType": "S"},
                {"AttributeName": "job_name", "AttributeType": "S"},
            ],
        )
        for item in published_items():
            ddb.put_item(TableName="bench_params", Item=item)
        port_sets = REPO / "reference" / "port_sets" / "v1" / "port_sets.json"
        storage.write_bytes("s3://ndr-artifacts-local/reference/port_sets/v1/port_sets.json", port_sets.read_bytes())
        world = generate_world("s3://ndr-ingestion-local", options, storage=storage)
        log = str(Path(folder) / "steps.log")
        counter = SparkCounter()
        saved = dict(os.environ)

        def step(argv: list[str]) -> tuple[float, float, int, int]:
            cpu_before = cpu_seconds()
            answer = run_request(
                {"argv": [*argv[:1], "--project-name", PROJECT, *argv[1:]], "environment": environment, "log": log}
            )
            if answer["exit_code"]:
                raise SystemExit(
                    f"{argv[0]} failed (exit {answer['exit_code']}); see the tail of the log:\n"
                    + Path(log).read_text()[-3000:]
                )
            return (answer["seconds"], cpu_seconds() - cpu_before, *counter.new())

        try:
            step(["machine_inventory_unload", "--reference-ts-iso", iso(MIDNIGHT)])
            results = []
            for index, batch in enumerate(world.batches[:batches]):
                if index == history:
                    step(["fg_b_builder", "--feature-spec-version", "v1", "--reference-ts-iso", iso(MIDNIGHT)])
                args = batch_args(batch.mini_batch_id, batch.batch_end_ts_iso)
                run: dict[str, Any] = {"batch": index}
                for name, job in STEPS.items():
                    reads_raw = job in ("delta_builder", "pair_counts_builder")
                    extra = ["--mini-batch-s3-prefix", batch.mini_batch_s3_prefix] if reads_raw else []
                    seconds, cpu, jobs, stages = step([job, *args, *extra])
                    run[name] = {
                        "seconds": seconds,
                        "cpu_seconds": round(cpu, 2),
                        "spark_jobs": jobs,
                        "spark_stages": stages,
                    }
                print(json.dumps(run), flush=True)
                results.append(run)
            return results
        finally:
            os.environ.clear()
            os.environ.update(saved)


def iso(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def summarize(results: list[dict[str, Any]], load_before: tuple[float, ...]) -> dict[str, Any]:
    later = results[1:] or results
    return {
        "warm_median_seconds": {s: round(statistics.median(r[s]["seconds"] for r in later), 2) for s in STEPS},
        "warm_median_cpu_seconds": {s: round(statistics.median(r[s]["cpu_seconds"] for r in later), 2) for s in STEPS},
        "spark_jobs_median": {s: statistics.median(r[s]["spark_jobs"] for r in later) for s in STEPS},
        "spark_stages_median": {s: statistics.median(r[s]["spark_stages"] for r in later) for s in STEPS},
        "first_batch_seconds": {s: results[0][s]["seconds"] for s in STEPS},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, default=6, help="batches run (each: the four steps)")
    parser.add_argument("--history", type=int, default=2, help="batches before FG-B's midnight (>= 2: support_min)")
    parser.add_argument("--hosts", type=int, default=12, help="machines of the world (the demo's: 12)")
    parser.add_argument("--rows", type=int, default=150, help="sessions per batch (the demo's: 150)")
    args = parser.parse_args(argv)
    if not 2 <= args.history < args.batches:
        parser.error("need 2 <= --history < --batches")
    load_before = os.getloadavg()
    started = time.monotonic()
    results = run_bench(args.batches, args.history, args.hosts, args.rows)
    summary = summarize(results, load_before)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(summary, indent=2), file=sys.stdout)


if __name__ == "__main__":
    main()
