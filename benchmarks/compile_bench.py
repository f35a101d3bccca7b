"""Compile benchmark: `ndrc validate` + `ndrc compile` on N projects x 16 specs against the floor.

    python -m benchmarks.compile_bench --projects 1000

The floor is the least any compiler must do: read every file with PyYAML's C loader and write it as JSON.
Each phase runs in its own process so its peak RSS is its own. The floor and the cold build alternate for
--rounds rounds (each cold round from an empty cache and no build): the speed of a shared or virtual
machine drifts by tens of percent within minutes, so each round's ratio compares two neighbours and the
headline is the median of the rounds' ratios.
Last, one spec file is edited and a new process compiles (`compile_workspace`): the
incremental path, which reads every other file's result from the validation cache written by the cold build.
The unchanged recompile is measured twice: the library call in a process (`compile_workspace`, which also
returns every artifact's bytes) and the real `ndrc compile` command timed from outside, interpreter start
included (--runs runs, min and median; the first one right after the cold build hashes the build files
still too new to be trusted by their metadata). Its baseline in the same run is the bare interpreter start
(`python -c pass`, same number of runs): the least any Python command costs on this machine at this load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.workspace_gen import generate

PHASES = ("floor", "validate_compile", "recompile_unchanged", "compile_one_edited")


def run_floor(workspace: Path) -> None:
    import yaml

    out = workspace / "floor-out"
    out.mkdir(exist_ok=True)
    for index, path in enumerate(sorted((workspace / "specs").rglob("*.yaml"))):
        data = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
        (out / f"{index}.json").write_text(json.dumps(data, default=str, sort_keys=True))


def run_ndrc(workspace: Path, phase: str) -> None:
    from compiler.compilation.compile import compile_workspace, validate_with_cache
    from compiler.validation.workspace_config import load_workspace

    loaded = load_workspace(workspace)
    if phase == "validate_compile":
        validation = validate_with_cache(loaded, "local")
        assert validation.ok, validation.diagnostics[:3]
    result = compile_workspace(loaded, "local")
    assert result.reused == (phase == "recompile_unchanged")


def edit_one_spec(workspace: Path) -> None:
    """A one-line change to one spec file, as in a typical pull request."""
    path = sorted((workspace / "specs").rglob("fg_c_builder#v1.yaml"))[0]
    path.write_text(path.read_text(encoding="utf-8") + "# edited by the benchmark\n", encoding="utf-8")


def clean(workspace: Path) -> None:
    """No validation cache, source-hash record, build record or build: the next build is cold."""
    for folder in (workspace / ".ndrc", workspace / "build", workspace / "floor-out"):
        shutil.rmtree(folder, ignore_errors=True)


def child(phase: str, workspace: Path) -> None:
    started = time.perf_counter()
    if phase == "floor":
        run_floor(workspace)
    else:
        run_ndrc(workspace, phase)
    seconds = time.perf_counter() - started
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)  # workers included: stable when the machine is busy
    peak_mib = max(u.ru_maxrss for u in usage) / 1024
    print(
        json.dumps(
            {
                "phase": phase,
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "peak_rss_mib": round(peak_mib, 1),
            }
        )
    )


def measure_command(workspace: Path, env: dict[str, str]) -> dict[str, float]:
    """`ndrc compile` as a user runs it: wall, CPU and peak RSS of the whole process."""
    command = [
        sys.executable,
        "-c",
        "from compiler.cli import main; main()",
        "compile",
        "--env",
        "local",
        "--workspace",
        str(workspace),
    ]  # the selection the cold phase compiled (its build record)
    usage, output = timed(command, env)
    if "nothing changed" not in output:
        raise SystemExit(f"ndrc compile did not reuse the build: {output}")
    return usage


def timed(command: list[str], env: dict[str, str]) -> tuple[dict[str, float], str]:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    output = process.stdout.read().decode() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"{command} failed: {output}")
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
    }, output


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    """Min and median of each figure over several runs of one command."""
    return {
        f"{stat}_{name}": round(function(run[name] for run in runs), 3)
        for name in ("seconds", "cpu_seconds", "peak_rss_mib")
        for stat, function in (("min", min), ("median", statistics.median))
    }


def measure(phase: str, workspace: Path, env: dict[str, str]) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.compile_bench", "--child", phase, "--workspace", str(workspace)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--child", choices=PHASES)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--runs", type=int, default=9, help="runs of the unchanged `ndrc compile` and its baseline")
    parser.add_argument("--rounds", type=int, default=3, help="alternating floor / cold-build rounds")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workspace)
        return
    with tempfile.TemporaryDirectory(prefix="ndrc-bench-") as temporary:
        workspace = generate(Path(temporary) / "ws", args.projects)
        files = sum(1 for _ in (workspace / "specs").rglob("*.yaml"))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        print(f"workspace: {args.projects} projects, {files} spec files", flush=True)
        floors, colds = [], []
        for round_number in range(1, args.rounds + 1):
            clean(workspace)
            floors.append(measure("floor", workspace, env))
            report(f"round {round_number}: floor (C loader + JSON write):  ", floors[-1])
            colds.append(measure("validate_compile", workspace, env))
            report(f"round {round_number}: ndrc validate + compile (cold): ", colds[-1])
        warm = measure("recompile_unchanged", workspace, env)
        report("compile_workspace, unchanged:            ", warm)
        commands, starts = [], []
        for _ in range(args.runs):  # interleaved, so both see the same load
            commands.append(measure_command(workspace, env))
            starts.append(timed([sys.executable, "-c", "pass"], env)[0])
        report_runs("`ndrc compile`, unchanged:", commands)
        report_runs("baseline: python -c pass: ", starts)
        edit_one_spec(workspace)
        edited = measure("compile_one_edited", workspace, env)
        report("compile_workspace, one spec edited:      ", edited)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    wall = [cold["seconds"] / floor["seconds"] for floor, cold in zip(floors, colds, strict=True)]
    cpu = [cold["cpu_seconds"] / floor["cpu_seconds"] for floor, cold in zip(floors, colds, strict=True)]
    print(f"ratio cold / floor per round: wall {_ratios(wall)}; CPU {_ratios(cpu)}")
    print(
        f"ratio cold / floor, median of {len(wall)} rounds: {statistics.median(wall):.2f}x wall, "
        f"{statistics.median(cpu):.2f}x CPU; peak RSS {max(c['peak_rss_mib'] for c in colds):.0f} MiB   "
        "(target <= 2x; unchanged <= 0.5 s)"
    )


def _ratios(ratios: list[float]) -> str:
    return ", ".join(f"{ratio:.2f}x" for ratio in ratios)


def report(label: str, phase: dict[str, float]) -> None:
    print(
        f"{label} {phase['seconds']:7.2f} s wall  {phase['cpu_seconds']:7.2f} s CPU  "
        f"peak RSS {phase['peak_rss_mib']:7.1f} MiB",
        flush=True,
    )


def report_runs(label: str, runs: list[dict[str, float]]) -> None:
    f = summary(runs)
    print(
        f"{label} {len(runs)} runs: wall min {f['min_seconds']:.2f} s, median {f['median_seconds']:.2f} s; "
        f"CPU min {f['min_cpu_seconds']:.2f} s, median {f['median_cpu_seconds']:.2f} s; "
        f"peak RSS {f['median_peak_rss_mib']:.1f} MiB",
        flush=True,
    )


if __name__ == "__main__":
    main()
