"""Where the demo's wall time goes: every pipeline step's start and end (read back through
`ListPipelineExecutionSteps`) laid over the demo's stage windows.

Per stage: wall seconds; step-slot seconds spent in Spark steps and in plain Python steps; the seconds with no
step running at all (the demo, the state machines and the schedules between steps: polling, `Wait` states,
starting executions), with one step running (a step slot idle) and with two or more; and the excess of the
first run of each Spark step name over its later (warm) median, which is where a worker's JVM start and
first-run class loading show. `ndrc demo` writes the raw timeline to `<state dir>/timeline.json`;
`python -m benchmarks.demo_timeline` prints the breakdown.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

# Steps that run Spark (everything else in the compiled pipelines is plain Python: spec resolution, the
# extractor, the Redshift unload stand-in, training with scikit-learn, model operations, inference calls).
SPARK_STEPS = frozenset({"DeltaBuilder", "PairCountsBuilder", "FgABuilder", "FgCBuilder", "FgBBuilder"})


@dataclass(frozen=True)
class StepSpan:
    pipeline: str
    execution: str
    step: str
    start: float  # epoch seconds
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def spark(self) -> bool:
        return self.step in SPARK_STEPS


@dataclass(frozen=True)
class StageSpan:
    name: str
    start: float
    end: float


@dataclass(frozen=True)
class StageBreakdown:
    name: str
    wall: float
    spark_slot_seconds: float
    python_slot_seconds: float
    no_step_running: float
    one_step_running: float
    two_or_more_running: float
    first_run_excess: float  # first runs of Spark steps in this stage minus their warm medians


def _overlap(start: float, end: float, lo: float, hi: float) -> float:
    return max(0.0, min(end, hi) - max(start, lo))


def concurrency(spans: Sequence[StepSpan], lo: float, hi: float) -> dict[int, float]:
    """Seconds of [lo, hi) during which exactly N steps ran, for each N seen."""
    edges = sorted({lo, hi, *(s.start for s in spans if lo < s.start < hi), *(s.end for s in spans if lo < s.end < hi)})
    found: dict[int, float] = {}
    for left, right in itertools.pairwise(edges):
        middle = (left + right) / 2
        running = sum(1 for s in spans if s.start <= middle < s.end)
        found[running] = found.get(running, 0.0) + right - left
    return found


def first_runs(spans: Iterable[StepSpan]) -> dict[int, float]:
    """id(span) -> its excess over the warm median of its step name, for the first run of each Spark step
    name (the warm median: every later run of that name)."""
    by_name: dict[str, list[StepSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start):
        if span.spark:
            by_name.setdefault(span.step, []).append(span)
    excess = {}
    for runs in by_name.values():
        if len(runs) > 1:
            excess[id(runs[0])] = runs[0].seconds - statistics.median(r.seconds for r in runs[1:])
    return excess


def breakdown(stages: Sequence[StageSpan], spans: Sequence[StepSpan]) -> list[StageBreakdown]:
    excess = first_runs(spans)
    rows = []
    for stage in stages:
        inside = [s for s in spans if _overlap(s.start, s.end, stage.start, stage.end) > 0]
        counts = concurrency(inside, stage.start, stage.end)
        rows.append(
            StageBreakdown(
                stage.name,
                stage.end - stage.start,
                sum(_overlap(s.start, s.end, stage.start, stage.end) for s in inside if s.spark),
                sum(_overlap(s.start, s.end, stage.start, stage.end) for s in inside if not s.spark),
                counts.get(0, 0.0),
                counts.get(1, 0.0),
                sum(v for k, v in counts.items() if k >= 2),
                sum(excess.get(id(s), 0.0) for s in inside if stage.start <= s.start < stage.end),
            )
        )
    return rows


def step_table(spans: Sequence[StepSpan]) -> list[dict[str, Any]]:
    """Per step name: runs, first run, warm median (later runs), first-run excess."""
    by_name: dict[str, list[StepSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start):
        by_name.setdefault(span.step, []).append(span)
    rows = []
    for name, runs in by_name.items():
        later = [r.seconds for r in runs[1:]]
        warm = statistics.median(later) if later else None
        rows.append(
            {
                "step": name,
                "runs": len(runs),
                "first": round(runs[0].seconds, 2),
                "warm_median": None if warm is None else round(warm, 2),
                "first_excess": None if warm is None else round(runs[0].seconds - warm, 2),
            }
        )
    return rows


def collect_spans(sagemaker: Any) -> list[StepSpan]:
    """Every step of every pipeline execution the emulator ran (through the SageMaker API)."""
    spans = []
    for pipeline in sagemaker.list_pipelines()["PipelineSummaries"]:
        name = pipeline["PipelineName"]
        executions = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
        for execution in executions:
            arn = execution["PipelineExecutionArn"]
            steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
            for step in steps:
                if "EndTime" not in step:
                    continue
                spans.append(
                    StepSpan(
                        name,
                        arn.rsplit("/", 1)[-1],
                        step["StepName"],
                        _epoch(step["StartTime"]),
                        _epoch(step["EndTime"]),
                    )
                )
    return sorted(spans, key=lambda s: s.start)


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def to_json(stages: Sequence[StageSpan], spans: Sequence[StepSpan]) -> dict[str, Any]:
    return {"stages": [asdict(s) for s in stages], "steps": [asdict(s) for s in spans]}


def from_json(document: dict[str, Any]) -> tuple[list[StageSpan], list[StepSpan]]:
    return [StageSpan(**s) for s in document["stages"]], [StepSpan(**s) for s in document["steps"]]
