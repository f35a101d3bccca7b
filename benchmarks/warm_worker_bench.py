"""Per-step overhead of local pipeline steps: a fresh process per step (cold, what `ndrc run` and a SageMaker
processing job do) vs the warm worker (one long-lived process and Spark session per runtime bundle).

    .venv/bin/python -m benchmarks.warm_worker_bench --executions 3

For each mode it starts an emulator that executes pipelines, provisions and publishes the sample workspace,
writes one small batch for ndr-prod (and the delta builder's port-set reference), cuts `feature-15m` down to
its compiled ResolveSpecs, DeltaBuilder and PairCountsBuilder steps (no model needed), and runs the same
execution `--executions` times one after another with one step at a time. It prints each Spark step's
duration (from ListPipelineExecutionSteps) per execution, and the cold/warm ratio of the mean Spark step
after the first execution (the warm worker's first step pays the JVM start like a cold one).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parent.parent
STORAGE = ".ndrc/local/s3"
PIPELINE = "ndr-local-feature-15m"
KEEP = ("ResolveSpecs", "DeltaBuilder", "PairCountsBuilder")
SPARK_STEPS = ("DeltaBuilder", "PairCountsBuilder")
PORT_SETS = {"port_sets": {"database": [1433, 3306, 5432], "web": [80, 443, 8080]}}


def _ndrc(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from compiler.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise SystemExit(f"ndrc {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def _prepare(root: Path, endpoint: str) -> list[dict[str, str]]:
    from devtools.traffic import TrafficOptions, generate_traffic
    from runtime.storage import LocalStorage

    (root / "ndrc.yaml").write_text((REPO / "ndrc.yaml").read_text().replace("http://127.0.0.1:4566", endpoint))
    _ndrc("provision", cwd=root)
    _ndrc("publish", "--yes", cwd=root)
    storage = LocalStorage(root / STORAGE)
    storage.write_bytes(
        "s3://ndr-artifacts-local/reference/port_sets/v1/port_sets.json", json.dumps(PORT_SETS).encode()
    )
    [batch] = generate_traffic(
        "s3://ndr-ingestion-local",
        start="2025-01-15T10:08:00Z",
        batches=1,
        rows_per_batch=2000,
        options=TrafficOptions(org1="globex", org2="hq", project_name="ndr-prod", seed=5),
        storage=storage,
    )
    values = {
        "ProjectName": "ndr-prod",
        "FeatureSpecVersion": "v1",
        "MiniBatchId": batch.mini_batch_id,
        "MiniBatchS3Prefix": batch.mini_batch_s3_prefix,
        "BatchStartTsIso": "2025-01-15T10:08:00Z",
        "BatchEndTsIso": batch.batch_end_ts_iso,
    }
    return [{"Name": k, "Value": v} for k, v in values.items()]


def run_mode(warm: bool, executions: int) -> list[dict[str, float]]:
    from compiler.local.emulator import PipelineOptions, running_emulator

    with tempfile.TemporaryDirectory(prefix="ndrc-warm-bench-") as folder:
        root = Path(folder) / "ws"
        shutil.copytree(REPO / "specs", root / "specs")
        options = PipelineOptions(str(root / ".ndrc" / "pipelines"), str(root / STORAGE), 1, warm)
        with running_emulator(root.parent, options) as endpoint:
            parameters = _prepare(root, endpoint)
            sagemaker: Any = boto3.client(
                "sagemaker",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )
            definition = json.loads(sagemaker.describe_pipeline(PipelineName=PIPELINE)["PipelineDefinition"])
            definition["Steps"] = [s for s in definition["Steps"] if s["Name"] in KEEP]
            sagemaker.update_pipeline(PipelineName=PIPELINE, PipelineDefinition=json.dumps(definition))
            durations = []
            for index in range(executions):
                arn = sagemaker.start_pipeline_execution(
                    PipelineName=PIPELINE,
                    PipelineParameters=parameters,
                    ClientRequestToken=f"bench-{index:032d}",
                )["PipelineExecutionArn"]
                while (status := sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn))[
                    "PipelineExecutionStatus"
                ] == "Executing":
                    time.sleep(0.5)
                if status["PipelineExecutionStatus"] != "Succeeded":
                    raise SystemExit(f"execution {index} failed: {status.get('FailureReason')}")
                steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
                durations.append({s["StepName"]: (s["EndTime"] - s["StartTime"]).total_seconds() for s in steps})
                mode = "warm" if warm else "cold"
                print(json.dumps({"mode": mode, "execution": index, "seconds": durations[-1]}), flush=True)
            return durations


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=3)
    args = parser.parse_args(argv)
    results = {mode: run_mode(mode == "warm", args.executions) for mode in ("cold", "warm")}

    def spark_mean(runs: list[dict[str, float]]) -> float:
        return statistics.mean(run[step] for run in runs for step in SPARK_STEPS)

    later = {mode: spark_mean(runs[1:] or runs) for mode, runs in results.items()}
    summary = {
        "spark_step_seconds_cold_mean": round(later["cold"], 2),
        "spark_step_seconds_warm_mean_after_first": round(later["warm"], 2),
        "warm_first_execution_spark_seconds": {s: results["warm"][0][s] for s in SPARK_STEPS},
        "resolve_specs_seconds": {
            m: round(statistics.mean(r["ResolveSpecs"] for r in runs), 2) for m, runs in results.items()
        },
        "cold_over_warm": round(later["cold"] / later["warm"], 2),
        "saved_per_spark_step_seconds": round(later["cold"] - later["warm"], 2),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
