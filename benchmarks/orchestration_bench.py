"""Orchestration benchmark: billed state transitions per live event, and orchestration compile time.

    python -m benchmarks.orchestration_bench [--projects 1000] [--events 20]

1. Transitions: the sample workspace is compiled for `local` and deployed onto a moto server; `--events`
   fresh events and as many duplicates run through the live state machine; each execution's transitions
   are counted from GetExecutionHistory (every `*StateEntered` event: what AWS bills for Standard
   workflows). Targets: <= 10 per fresh event, <= 7 per duplicate (the event is parsed once by a Pass state).
2. Compile time: a generated workspace of `--projects` projects (16 specs each) is validated once, then
   the orchestration targets (Step Functions, SageMaker incl. the runtime bundle, IAM) are timed on it.
Results are printed and written to benchmarks/out/orchestration.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "orchestration"))

from orchestration_harness import deploy, execute, moto_server  # noqa: E402

from compiler.compilation.compile import compile_workspace, validate_with_cache  # noqa: E402
from compiler.orchestration.bundle import runtime_bundle  # noqa: E402
from compiler.targets import iam, sagemaker, stepfunctions  # noqa: E402
from compiler.validation.workspace_config import load_workspace  # noqa: E402

TARGETS = {"stepfunctions": stepfunctions, "sagemaker": sagemaker, "iam": iam}


def transitions(events: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        result = compile_workspace(load_workspace(REPO_ROOT), "local", Path(tmp))
        env = result.compiled.environment if result.compiled else load_workspace(REPO_ROOT).environment("local")
        tables = {"parameters": env.parameters_table, "routing": env.routing_table, "lock": env.lock_table}
        with moto_server(REPO_ROOT) as endpoint:
            deployment = deploy(endpoint, result.out_dir, tables, str(env.get("roles.state_machine")))
            sfn, live = deployment.client("stepfunctions"), deployment.state_machines["live"]
            payloads = [
                {
                    "s3_key": f"paloalto/globex/hq/ndr-prod/2025/01/15/bench{i:03d}/part-0.json.gz",
                    "timestamp": f"2025-01-15T{i // 60 % 24:02d}:{i % 60:02d}:41Z",
                }
                for i in range(events)
            ]
            started = time.perf_counter()
            fresh = execute(sfn, live, payloads)
            fresh_seconds = time.perf_counter() - started
            duplicates = execute(sfn, live, payloads)
    assert all(r.output and r.output["status"] == "started" for r in fresh), [r.cause for r in fresh]
    assert all(r.output and r.output["status"] == "duplicate" for r in duplicates)
    return {
        "events": events,
        "fresh_transitions": sorted({r.transitions for r in fresh}),
        "duplicate_transitions": sorted({r.transitions for r in duplicates}),
        "fresh_path": fresh[0].states,
        "duplicate_path": duplicates[0].states,
        "emulator_seconds_per_fresh_event": round(fresh_seconds / events, 3),
    }


def compile_time(projects: int, repeats: int) -> dict[str, Any]:
    from benchmarks.workspace_gen import generate

    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "ws", projects)
        workspace = load_workspace(root)
        validation = validate_with_cache(workspace, "local")
        compiled = validation.compiled
        items = len(compiled.items)
        cold_start = time.perf_counter()
        runtime_bundle.cache_clear()
        runtime_bundle()
        bundle_seconds = time.perf_counter() - cold_start
        per_target: dict[str, list[float]] = {name: [] for name in TARGETS}
        sizes: dict[str, int] = {}
        for _ in range(repeats):
            for name, module in TARGETS.items():
                started = time.perf_counter()
                artifacts = module.build_artifacts(compiled)
                per_target[name].append(time.perf_counter() - started)
                sizes[name] = len(artifacts)
    medians = {name: round(statistics.median(times) * 1000, 1) for name, times in per_target.items()}
    return {
        "projects": projects,
        "items": items,
        "artifacts": sizes,
        "median_ms": medians,
        "total_median_ms": round(sum(medians.values()), 1),
        "runtime_bundle_cold_ms": round(bundle_seconds * 1000, 1),
        "repeats": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    report = {"transitions": transitions(args.events), "compile": compile_time(args.projects, args.repeats)}
    out = REPO_ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "orchestration.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    fresh, duplicate = report["transitions"]["fresh_transitions"], report["transitions"]["duplicate_transitions"]
    ok = max(fresh) <= 10 and max(duplicate) <= 7
    print(f"targets (<= 10 fresh, <= 7 duplicate): {'met' if ok else 'MISSED'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
