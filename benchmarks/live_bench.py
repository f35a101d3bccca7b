"""Live event -> predictions written, through the published wiring, with warm workers (issue #11 "Proof").

    .venv/bin/python -m benchmarks.live_bench              # 20 events (the issue's figure)
    .venv/bin/python -m benchmarks.live_bench --events 3   # a quick check

Setup is `ndrc demo`'s own stages for ndr-prod (`compiler.local.demo`): a throwaway emulator executing
pipelines in warm workers, the demo-sized workspace published, history backfill, FG-B, training backfill,
training + deploy, so a model is in service and the warm workers are warm. Then `--events` live batches, one
at a time: the batch object is written to the local ingestion bucket, and the clock starts when its S3
`ObjectCreated` notification is published to the producer topic; SNS delivers it to the `live-entry` queue;
the published pipe is applied as Pipes does (a long-poll receive, `compiler.local.entry_poller`); the live
state machine starts `feature-15m`; the clock stops when `InferencePredictions` has written the batch's
predictions Parquet to storage. The next event starts once that execution ended (one at a time).

Per event: total seconds; queue (publish -> the pipe started the live machine), machine (-> the pipeline
started), each step's duration, and predictions visible after the step ended. Printed as a table with
median and p95 (linear interpolation), the load average and the peak RSS of the emulator's process tree
(emulator, warm workers, their JVMs) and of this process; written as JSON to `--out`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROJECT = "ndr-prod"
PIPELINE_STEPS = (
    "ResolveSpecs",
    "DeltaBuilder",
    "PairCountsBuilder",
    "FgABuilder",
    "FgCBuilder",
    "InferencePredictions",
    "PredictionFeatureJoin",
)
MAX_EVENTS = 40  # the demo's traffic world is one day of 30-minute batches


@dataclass(frozen=True)
class Options:
    events: int
    out: Path
    state_dir: Path
    step_budget: int
    timeout: float


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="benchmarks.live_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20, help="live events, one at a time (default 20)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "live_bench.json")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("/tmp/ndrc-live-bench"),
        help="the throwaway environment's folder (replaced)",
    )
    parser.add_argument("--step-budget", type=int, default=2, help="pipeline steps at once (warm workers)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one event may take")
    args = parser.parse_args(argv)
    if not 1 <= args.events <= MAX_EVENTS:
        parser.error(f"--events must be between 1 and {MAX_EVENTS} (got {args.events})")
    if args.step_budget < 1:
        parser.error(f"--step-budget must be at least 1 (got {args.step_budget})")
    return Options(args.events, args.out, args.state_dir, args.step_budget, args.timeout)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(samples: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """For each measured part (in first-seen order): median, p95, min, max over the events that have it."""
    names = list(dict.fromkeys(name for sample in samples for name in sample))
    summary = {}
    for name in names:
        values = [sample[name] for sample in samples if name in sample]
        summary[name] = {
            "median": statistics.median(values),
            "p95": percentile(values, 95),
            "min": min(values),
            "max": max(values),
            "n": len(values),
        }
    return summary


@dataclass
class RssSampler:
    """Peak resident memory of a process tree, sampled every 0.2 s in a thread."""

    pid: int
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        from benchmarks.harness import tree_rss_bytes

        def sample() -> None:
            while not self._stop.wait(0.2):
                self.peak = max(self.peak, tree_rss_bytes(self.pid))

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _predictions_written(root: Path, batch_id: str) -> bool:
    return any(root.glob(f"**/mini_batch_id={batch_id}/*.parquet"))


def _utc_seconds(moment: datetime) -> float:
    return moment.timestamp()


def one_event(ctx: Any, pipe: dict[str, Any], batch: Any, timeout: float) -> dict[str, float]:
    """Deliver one live batch through the published wiring and measure it (wall clock, epoch seconds, so the
    emulator's step times compare)."""
    from compiler.local import entry_poller
    from compiler.local.demo import s3_event, wait_machine, wait_pipeline
    from compiler.local.demo_world import write_batch
    from runtime.storage import LocalStorage

    traffic = ctx.traffic[PROJECT]
    write_batch(LocalStorage(ctx.storage_root), traffic, batch)
    end = datetime.fromisoformat(batch.batch_end_ts_iso.replace("Z", "+00:00")) + timedelta(seconds=5)
    event = s3_event(ctx.bucket("ingestion"), traffic.key(batch), f"{end:%Y-%m-%dT%H:%M:%S.000Z}")
    predictions = ctx.storage_root / ctx.bucket("features") / PROJECT / "v1" / "predictions"
    deadline = time.time() + timeout
    published = time.time()
    ctx.aws.client("sns").publish(
        TopicArn=str(ctx.environment.settings["entry"]["topic_arn"]), Message=json.dumps(event)
    )
    deliveries: list[Any] = []
    while not deliveries:  # Pipes long-polls its source queue continuously
        deliveries = entry_poller.poll_once(ctx.aws, pipe, wait_seconds=1)
        if time.time() > deadline:
            raise RuntimeError(f"event {batch.mini_batch_id} was not delivered in {timeout:.0f} s")
    delivered = time.time()
    while not _predictions_written(predictions, batch.mini_batch_id):
        if time.time() > deadline:
            raise RuntimeError(f"no predictions for {batch.mini_batch_id} after {timeout:.0f} s")
        time.sleep(0.1)
    written = time.time()
    machine = wait_machine(ctx, deliveries[0].execution_arn)
    sagemaker = ctx.aws.client("sagemaker")
    arn = _pipeline_of(ctx, batch.mini_batch_id)
    described = wait_pipeline(ctx, arn)
    if described["PipelineExecutionStatus"] != "Succeeded" or machine["status"] != "SUCCEEDED":
        raise RuntimeError(f"event {batch.mini_batch_id}: {machine['status']} / {described}")
    steps = {
        s["StepName"]: s
        for s in sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")[
            "PipelineExecutionSteps"
        ]
    }
    sample = {"total": written - published, "queue": delivered - published}
    if "ResolveSpecs" in steps:  # the live machine: lock, StartPipelineExecution, the first step's start
        sample["machine"] = _utc_seconds(steps["ResolveSpecs"]["StartTime"]) - delivered
    for name in PIPELINE_STEPS:
        if name in steps and steps[name].get("EndTime"):
            sample[name] = (steps[name]["EndTime"] - steps[name]["StartTime"]).total_seconds()
    if "InferencePredictions" in steps:
        sample["visible"] = written - _utc_seconds(steps["InferencePredictions"]["EndTime"])
    return sample


def _pipeline_of(ctx: Any, batch_id: str) -> str:
    from compiler.local.demo import pipeline_runs
    from compiler.orchestration.names import FEATURE_15M

    found = [run["arn"] for run in pipeline_runs(ctx, FEATURE_15M) if run["parameters"].get("MiniBatchId") == batch_id]
    if len(found) != 1:
        raise RuntimeError(f"{len(found)} feature-15m executions for {batch_id}")
    return str(found[0])


def render(
    summary: dict[str, dict[str, float]],
    events: int,
    load: tuple[list[float], list[float]],
    rss: dict[str, int],
    setup_seconds: float,
) -> list[str]:
    lines = [
        f"live event -> predictions written, {events} event(s) one at a time, warm workers "
        f"(setup {setup_seconds:.0f} s)",
        f"{'part':<22}{'median s':>10}{'p95 s':>10}{'min':>8}{'max':>8}",
    ]
    for name, figures in summary.items():
        lines.append(
            f"{name:<22}{figures['median']:>10.2f}{figures['p95']:>10.2f}{figures['min']:>8.2f}{figures['max']:>8.2f}"
        )
    lines.append(
        f"load average (1/5/15 min) at start {' '.join(f'{x:.1f}' for x in load[0])}, "
        f"at end {' '.join(f'{x:.1f}' for x in load[1])}"
    )
    lines.append(
        f"peak RSS: emulator + warm workers + JVMs {rss['emulator_tree'] / 2**20:.0f} MiB, "
        f"model server {rss['model_server'] / 2**20:.0f} MiB, this process {rss['self'] / 2**20:.0f} MiB"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    from compiler.local import daemon, entry_poller, model_server
    from compiler.local.demo import (
        DemoOptions,
        demo_environment,
        stage_baselines,
        stage_history,
        stage_publish,
        stage_traffic,
        stage_training,
        stage_training_backfill,
    )

    options = parse_args(argv)
    demo = DemoOptions(
        hours=2,
        projects=(PROJECT,),
        out=options.state_dir / "unused.html",
        state_dir=options.state_dir,
        source=REPO,
        step_budget=options.step_budget,
        keep_running=False,
        live_batches=options.events,
        timeout=options.timeout,
        remember=False,
    )
    demo.check()
    began = time.monotonic()
    with demo_environment(demo) as ctx:
        for stage in (
            stage_publish,
            stage_traffic,
            stage_history,
            stage_baselines,
            stage_training_backfill,
            stage_training,
        ):
            print(f"setup: {stage.__name__.removeprefix('stage_')}: {stage(ctx)}", flush=True)
        setup_seconds = time.monotonic() - began
        workspace = ctx.workspace_dir
        from compiler.validation.workspace_config import load_workspace

        loaded = load_workspace(workspace)
        emulator = daemon.status(loaded, ctx.environment)
        served = model_server.status(loaded)
        pipe = entry_poller.published_pipe(ctx.aws, ctx.orchestration)
        samples: list[dict[str, float]] = []
        lines: list[str] = []
        load_start = list(os.getloadavg())  # when the events start (the setup's load is not the figure's)
        assert emulator.pid is not None and served.pid is not None
        with RssSampler(emulator.pid) as tree, RssSampler(served.pid) as server:
            for index, batch in enumerate(ctx.traffic[PROJECT].phase("live"), start=1):
                sample = one_event(ctx, pipe, batch, options.timeout)
                samples.append(sample)
                print(f"event {index}/{options.events}: {sample['total']:.1f} s", flush=True)
                lines = _write(options.out, samples, load_start, tree.peak, server.peak, setup_seconds)
    for line in lines:
        print(line)
    print(f"written {options.out}")


def _write(
    out: Path,
    samples: list[dict[str, float]],
    load_start: list[float],
    tree_peak: int,
    server_peak: int,
    setup_seconds: float,
) -> list[str]:
    """The figures so far as JSON (after every event: an interrupted run keeps what it measured); the table."""
    load_end = list(os.getloadavg())
    summary = summarize(samples)
    rss = {
        "emulator_tree": tree_peak,
        "model_server": server_peak,
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "events": len(samples),
                "summary": summary,
                "samples": samples,
                "load_average": {"start": load_start, "end": load_end},
                "peak_rss_bytes": rss,
                "setup_seconds": setup_seconds,
            },
            indent=2,
        )
        + "\n"
    )
    return render(summary, len(samples), (load_start, load_end), rss, setup_seconds)


if __name__ == "__main__":
    main()
