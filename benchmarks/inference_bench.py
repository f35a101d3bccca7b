"""Inference throughput: records/s of `invoke_all` (the real boto3 client, as inference_predictions calls
it) against the local model server in its own process, for max_workers 1, 4, 8 and payload bounds.

    python -m benchmarks.inference_bench --records 20000

Baseline: max_workers=1 with 500 records per payload, measured in the same run; each row gives its ratio.
The server scores with the fixture IsolationForest (50 trees, 20 features); the client's peak RSS is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runtime.inference.invoke import InvokeSettings, invoke_all, invoke_metrics, sagemaker_runtime_client
from runtime.inference.payloads import MIB, pack

FEATURES = [f"f{i}_w_15m" for i in range(20)]
CONFIGS = [  # (max_workers, max_records_per_payload, max_payload_mb)
    (1, 500, 6.0),
    (4, 500, 6.0),
    (8, 500, 6.0),
    (1, 100, 6.0),
    (4, 100, 6.0),
    (8, 100, 6.0),
    (4, 2000, 6.0),
    (4, 5000, 0.25),
]


def start_server(workdir: Path) -> tuple[subprocess.Popen[str], str]:
    description = workdir / "fixture_model.json"
    description.write_text(json.dumps({"feature_names": FEATURES, "seed": 1, "model_version": "bench"}))
    command = [
        sys.executable,
        "-m",
        "runtime.serving",
        "serve",
        "--model",
        str(description),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--loader",
        "devtools.fixture_model:load_fixture_model",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "serving model" not in line:
        process.terminate()
        raise SystemExit(f"the model server did not start: {line!r}")
    return process, line.rsplit(" ", 1)[-1].strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--content-type", default="text/csv", choices=["text/csv", "application/json"])
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    rng = random.Random(7)
    rows = [[rng.lognormvariate(3.0, 0.5) for _ in FEATURES] for _ in range(args.records)]
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(Path(tmp))
        try:
            results = []
            for workers, per_payload, payload_mb in CONFIGS:
                payloads = pack(rows, args.content_type, per_payload, int(payload_mb * MIB))
                client = sagemaker_runtime_client("us-east-1", 60.0, workers, url)
                settings = InvokeSettings("bench", args.content_type, "application/json", workers, 3, 0.05, seed=1)
                started = time.perf_counter()
                outcome = invoke_all(client, payloads, settings)
                seconds = time.perf_counter() - started
                metrics = invoke_metrics(outcome)
                assert metrics["failed_payloads"] == 0 and metrics["records"] == args.records
                results.append(
                    {
                        "max_workers": workers,
                        "max_records_per_payload": per_payload,
                        "max_payload_mb": payload_mb,
                        "payloads": len(payloads),
                        "payload_bytes_max": metrics["payload_bytes_max"],
                        "seconds": round(seconds, 3),
                        "records_per_s": round(args.records / seconds),
                        "latency_ms_p50": round(metrics["latency_ms"]["p50"], 1),
                        "latency_ms_p99": round(metrics["latency_ms"]["p99"], 1),
                    }
                )
        finally:
            process.terminate()
            process.wait(timeout=20)
    baseline = results[0]["records_per_s"]
    for row in results:
        row["ratio_vs_baseline"] = round(row["records_per_s"] / baseline, 2)
        print(json.dumps(row))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "records": args.records,
                "content_type": args.content_type,
                "client_peak_rss_mib": round(peak, 1),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
