"""Where `ndrc demo`'s wall time goes, stage by stage (`compiler.local.demo_timeline`).

    .venv/bin/python -m benchmarks.demo_timeline /tmp/demo/state/timeline.json

reads the timeline `ndrc demo` writes into its state folder. For a demo whose environment still runs but
that wrote no timeline (an older ndrc): `--state-dir DIR --log FILE` reads the steps from that emulator and
the stage times from the demo's printed summary, anchored at the first `machine-inventory-unload` execution
(the first thing the history stage starts).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from compiler.local.demo_timeline import StageSpan, StepSpan, breakdown, collect_spans, from_json, step_table

STAGE_LINE = re.compile(r"^\[\d+/\d+\] (?P<name>.+?) done in (?P<seconds>[0-9.]+)s")
HISTORY = "inventory + history backfill"


def from_live(state_dir: Path, log: Path) -> tuple[list[StageSpan], list[StepSpan]]:
    from compiler.deploy.aws import Aws
    from compiler.validation.workspace_config import load_workspace

    workspace = load_workspace(state_dir / "workspace")
    spans = collect_spans(Aws(workspace.environment("local")).client("sagemaker"))
    durations = [
        (m["name"], float(m["seconds"])) for line in log.read_text().splitlines() if (m := STAGE_LINE.match(line))
    ]
    anchor = min(s.start for s in spans if s.pipeline.endswith("machine-inventory-unload"))
    names = [name for name, _ in durations]
    start = anchor - sum(seconds for _, seconds in durations[: names.index(HISTORY)])
    stages = []
    for name, seconds in durations:
        stages.append(StageSpan(name, start, start + seconds))
        start += seconds
    return stages, spans


def render(stages: list[StageSpan], spans: list[StepSpan]) -> list[str]:
    lines = [
        f"{'stage':<28} {'wall':>7} {'spark-slot-s':>12} {'python-slot-s':>14} {'0 steps':>8} {'1 step':>7} "
        f"{'2+ steps':>9} {'first-run excess':>17}"
    ]
    for row in breakdown(stages, spans):
        lines.append(
            f"{row.name:<28} {row.wall:7.1f} {row.spark_slot_seconds:12.1f} {row.python_slot_seconds:14.1f} "
            f"{row.no_step_running:8.1f} {row.one_step_running:7.1f} {row.two_or_more_running:9.1f} "
            f"{row.first_run_excess:17.1f}"
        )
    lines.append("")
    lines.append("step                      runs   first  warm median  first-run excess")
    for entry in step_table(spans):
        warm = "-" if entry["warm_median"] is None else f"{entry['warm_median']:.1f}"
        excess = "-" if entry["first_excess"] is None else f"{entry['first_excess']:.1f}"
        lines.append(f"{entry['step']:<24} {entry['runs']:5d} {entry['first']:7.1f} {warm:>12} {excess:>17}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timeline", nargs="?", type=Path, help="<state dir>/timeline.json written by ndrc demo")
    parser.add_argument("--state-dir", type=Path, help="a demo state folder whose emulator still runs")
    parser.add_argument("--log", type=Path, help="that demo's printed output (its stage lines)")
    parser.add_argument("--save", type=Path, help="also write the timeline JSON here")
    args = parser.parse_args(argv)
    if args.timeline is not None:
        stages, spans = from_json(json.loads(args.timeline.read_text()))
    elif args.state_dir is not None and args.log is not None:
        stages, spans = from_live(args.state_dir, args.log)
    else:
        parser.error("give a timeline.json, or --state-dir and --log")
    if args.save is not None:
        from compiler.local.demo_timeline import to_json

        args.save.write_text(json.dumps(to_json(stages, spans), indent=1))
    print("\n".join(render(stages, spans)))


if __name__ == "__main__":
    main()
