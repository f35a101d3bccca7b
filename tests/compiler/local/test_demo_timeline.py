"""The demo timeline's breakdown (pure): slot seconds, concurrency and first-run excess per stage."""

from __future__ import annotations

import pytest

from compiler.local.demo_timeline import StageSpan, StepSpan, breakdown, concurrency, step_table


def _span(step: str, start: float, end: float) -> StepSpan:
    return StepSpan("p", "e", step, start, end)


SPANS = [
    _span("ResolveSpecs", 0.0, 1.0),
    _span("DeltaBuilder", 2.0, 12.0),  # first run: 10 s
    _span("PairCountsBuilder", 3.0, 6.0),
    _span("DeltaBuilder", 12.0, 14.0),  # warm: 2 s
    _span("DeltaBuilder", 14.0, 18.0),  # warm: 4 s
]


def test_concurrency_counts_the_seconds_with_each_number_of_running_steps() -> None:
    # 0-1 one step, 1-2 none, 2-3 one, 3-6 two, 6-18 one, 18-20 none
    assert concurrency(SPANS, 0.0, 20.0) == pytest.approx({0: 3.0, 1: 14.0, 2: 3.0})


def test_breakdown_splits_spark_and_python_slot_seconds_and_the_first_run_excess_per_stage() -> None:
    first, second = breakdown([StageSpan("a", 0.0, 10.0), StageSpan("b", 10.0, 20.0)], SPANS)
    assert (first.wall, first.python_slot_seconds) == (10.0, 1.0)
    assert first.spark_slot_seconds == pytest.approx(8.0 + 3.0)  # spans clipped to the stage window
    # the first DeltaBuilder run (10 s) over the median of the later ones (3 s) counts where it started
    assert (first.first_run_excess, second.first_run_excess) == (pytest.approx(7.0), 0.0)
    assert (second.no_step_running, second.one_step_running, second.two_or_more_running) == (2.0, 8.0, 0.0)


def test_step_table_compares_each_steps_first_run_with_its_warm_median() -> None:
    rows = {row["step"]: row for row in step_table(SPANS)}
    assert rows["DeltaBuilder"] == {
        "step": "DeltaBuilder",
        "runs": 3,
        "first": 10.0,
        "warm_median": 3.0,
        "first_excess": 7.0,
    }
    assert rows["PairCountsBuilder"]["warm_median"] is None
