"""Publish benchmark on the 1,000-project workspace against the local emulator (moto server over HTTP).

    python -m benchmarks.publish_bench [--projects 1000] [--untuned] [--json OUT]

Measures API calls (by operation, counted with a botocore before-call hook) and wall time for: the first
publish, a no-op publish, and a publish after one spec was edited. Targets: no-op = 0 writes and at most
one DynamoDB read per project; one spec changed = 1 write. The emulator runs with the partition-only
Query path of `compiler.local.emulator_tuning` unless --untuned (moto alone sorts the whole table per Query).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.workspace_gen import generate, project_name
from compiler.compilation.compile import compile_workspace
from compiler.deploy.aws import Aws
from compiler.deploy.provision import provision
from compiler.deploy.publish import publish
from compiler.local.emulator import free_port, wait_until_ready
from compiler.validation.workspace_config import load_workspace

WRITES = {
    "PutItem",
    "DeleteItem",
    "UpdateItem",
    "BatchWriteItem",
    "CreateStateMachine",
    "UpdateStateMachine",
    "CreatePipeline",
    "UpdatePipeline",
    "PutObject",
}
TUNED = (
    "from compiler.local.emulator_tuning import tune_moto; tune_moto(); "
    "from compiler.local.emulator import main; main()"
)


def start_emulator(port: int, tuned: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", TUNED] if tuned else [sys.executable, "-m", "compiler.local.emulator"]
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_until_ready(f"http://127.0.0.1:{port}", 60):
        process.kill()
        raise SystemExit("the emulator did not start")
    return process


def measure(label: str, workspace_dir: Path, projects: int) -> dict[str, Any]:
    workspace = load_workspace(workspace_dir)
    aws = Aws(workspace.environment("local"))
    build = compile_workspace(workspace, "local").out_dir
    started = time.perf_counter()
    result = publish(workspace, "local", build_dir=build, aws=aws)
    seconds = time.perf_counter() - started
    calls = Counter(result.calls)
    dynamodb_reads = sum(
        n for name, n in calls.items() if name.startswith("dynamodb.") and name.split(".")[1] not in WRITES
    )
    return {
        "run": label,
        "ok": result.ok,
        "seconds": round(seconds, 2),
        "api_calls": sum(calls.values()),
        "writes": sum(n for name, n in calls.items() if name.split(".")[1] in WRITES),
        "dynamodb_reads": dynamodb_reads,
        "dynamodb_reads_per_project": round(dynamodb_reads / projects, 4),
        "changes": len(result.plan.changes),
        "by_operation": dict(sorted(calls.items())),
    }


def edit_one_spec(workspace_dir: Path, projects: int) -> Path:
    path = workspace_dir / "specs" / project_name(projects // 2) / "fg_c_builder#v1.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^owner: .*$", "owner: ndr-bench-edited", text, count=1), encoding="utf-8")
    return path


def run(projects: int, tuned: bool) -> dict[str, Any]:
    port = free_port()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    emulator = start_emulator(port, tuned)
    try:
        with tempfile.TemporaryDirectory(prefix="ndrc-publish-bench-") as folder:
            workspace_dir = generate(Path(folder) / "ws", projects)
            started = time.perf_counter()
            compile_workspace(load_workspace(workspace_dir), "local")
            compile_seconds = round(time.perf_counter() - started, 2)
            provision(load_workspace(workspace_dir), "local")
            runs = [measure("first publish", workspace_dir, projects)]
            runs.append(measure("no-op publish", workspace_dir, projects))
            edit_one_spec(workspace_dir, projects)
            runs.append(measure("one spec changed", workspace_dir, projects))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    return {
        "projects": projects,
        "emulator": "tuned" if tuned else "moto as is",
        "compile_seconds": compile_seconds,
        "runs": runs,
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"{report['projects']} projects, emulator: {report['emulator']}, compile {report['compile_seconds']} s",
        "",
        "| Run | Time (s) | API calls | Writes | DynamoDB reads | Reads / project |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        lines.append(
            f"| {r['run']} | {r['seconds']} | {r['api_calls']} | {r['writes']} | {r['dynamodb_reads']} | "
            f"{r['dynamodb_reads_per_project']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--untuned", action="store_true", help="run moto's own (whole-table) Query")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    report = run(args.projects, tuned=not args.untuned)
    print(markdown(report))
    for r in report["runs"]:
        print(f"{r['run']}: {r['by_operation']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
