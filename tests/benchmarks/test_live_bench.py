"""The live benchmark's pure parts: its statistics (hand-computed) and its argument checks. The benchmark
itself (`benchmarks/live_bench.py`, minutes of Spark) is run by hand; figures in docs/local.md."""

from __future__ import annotations

import pytest

from benchmarks.live_bench import MAX_EVENTS, parse_args, percentile, summarize


def test_percentile_interpolates_linearly_between_closest_ranks() -> None:
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    # 20 values 1..20: rank (20 - 1) * 0.95 = 18.05 -> 19 + 0.05 * (20 - 19)
    assert percentile([float(v) for v in range(20, 0, -1)], 95) == pytest.approx(19.05, rel=1e-12)
    assert percentile([5.0, 1.0], 0) == 1.0 and percentile([5.0, 1.0], 100) == 5.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_summarize_keeps_each_parts_first_seen_order_and_counts_the_events_that_have_it() -> None:
    summary = summarize(
        [{"total": 10.0, "queue": 1.0}, {"total": 14.0, "queue": 3.0, "visible": 0.5}, {"total": 12.0, "queue": 2.0}]
    )
    assert list(summary) == ["total", "queue", "visible"]
    assert summary["total"] == {"median": 12.0, "p95": pytest.approx(13.8, rel=1e-12), "min": 10.0, "max": 14.0, "n": 3}
    assert summary["visible"]["n"] == 1 and summary["visible"]["median"] == 0.5


def test_arguments_default_to_the_issues_twenty_events_and_refuse_bad_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = parse_args([])
    assert (options.events, options.step_budget) == (20, 2)
    assert parse_args(["--events", "3"]).events == 3
    for bad, message in (
        (["--events", "0"], "--events must be between 1 and"),
        (["--events", str(MAX_EVENTS + 1)], "--events must be between 1 and"),
        (["--step-budget", "0"], "--step-budget must be at least 1"),
    ):
        with pytest.raises(SystemExit) as exit_:
            parse_args(bad)
        assert exit_.value.code == 2 and message in capsys.readouterr().err
