"""What a local end-to-end run shows: the terminal summary and a self-contained HTML report (inline SVG, no
script, no network fetch: it opens from a file on a machine without internet).

Plain data in, text out (pure, deterministic): the run's batches, pipeline steps, per-host anomaly scores and
the top hosts' feature deviations. Four charts: the batch timeline, step durations, per-host scores over time
and the top hosts' feature deviations (z-scores).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

WIDTH = 960
PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MUTED = "#c7c7c7"


@dataclass(frozen=True)
class Batch:
    """One producer batch: the live execution it started (or the duplicate it was) and its pipeline."""

    project: str
    batch_id: str
    delivered: datetime
    finished: datetime | None
    status: str  # the pipeline's: Succeeded | Failed | Executing; "Duplicate" when the lock suppressed it


@dataclass(frozen=True)
class StepTiming:
    pipeline: str
    step: str
    seconds: float


@dataclass(frozen=True)
class HostScore:
    project: str
    host: str
    window_end: datetime
    score: float  # higher = more anomalous


@dataclass(frozen=True)
class Deviation:
    host: str
    feature: str
    z: float


@dataclass(frozen=True)
class RunReport:
    title: str
    generated: datetime
    batches: tuple[Batch, ...]
    steps: tuple[StepTiming, ...]
    scores: tuple[HostScore, ...]
    deviations: tuple[Deviation, ...]
    injected_host: str | None = None
    notes: tuple[str, ...] = field(default=())

    def ranked_hosts(self) -> list[tuple[str, float]]:
        """Hosts by their highest score, highest first (ties by name: deterministic)."""
        best: dict[str, float] = {}
        for s in self.scores:
            best[s.host] = max(best.get(s.host, s.score), s.score)
        return sorted(best.items(), key=lambda item: (-item[1], item[0]))

    def step_medians(self) -> list[tuple[str, float, int]]:
        """(step, median seconds, runs) in first-seen order."""
        by_step: dict[str, list[float]] = defaultdict(list)
        for timing in self.steps:
            by_step[timing.step].append(timing.seconds)
        return [(step, statistics.median(values), len(values)) for step, values in by_step.items()]


def summary_lines(report: RunReport, top: int = 5) -> list[str]:
    duplicates = sum(1 for b in report.batches if b.status == "Duplicate")
    outcome: dict[str, int] = defaultdict(int)
    for b in report.batches:
        outcome[b.status] += 1
    counts = ", ".join(f"{n} {status}" for status, n in sorted(outcome.items()))
    lines = [
        report.title,
        f"  batches delivered: {len(report.batches)} ({counts})",
        f"  duplicates suppressed: {duplicates}",
        "  step timings (median s, runs):",
    ]
    lines += [f"    {step:<28} {median:8.1f}  x{runs}" for step, median, runs in report.step_medians()]
    lines.append("  top anomalous hosts (highest score):")
    for rank, (host, score) in enumerate(report.ranked_hosts()[:top], start=1):
        marker = "  <- injected" if host == report.injected_host else ""
        lines.append(f"    {rank}. {host:<20} {score:.4f}{marker}")
    lines += [f"  note: {note}" for note in report.notes]
    return lines


# --- SVG ----------------------------------------------------------------------------------------------


def _scale(lo: float, hi: float, out_lo: float, out_hi: float) -> Callable[[float], float]:
    span = (hi - lo) or 1.0
    return lambda v: out_lo + (v - lo) / span * (out_hi - out_lo)


def _svg(height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, value: str, anchor: str = "start", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-family="sans-serif">{escape(value)}</text>'
    )


def _empty(label: str) -> str:
    return _svg(40, [_text(10, 24, f"{label}: no data")], label)


def batch_timeline(report: RunReport) -> str:
    batches = sorted(report.batches, key=lambda b: (b.delivered, b.project, b.batch_id))
    if not batches:
        return _empty("batch timeline")
    t0 = min(b.delivered for b in batches).timestamp()
    t1 = max((b.finished or b.delivered).timestamp() for b in batches)
    x = _scale(t0, max(t1, t0 + 1), 220, WIDTH - 20)
    colors = {"Succeeded": "#2ca02c", "Failed": "#d62728", "Executing": "#ff7f0e", "Duplicate": "#7f7f7f"}
    body, row = [], 18
    for i, b in enumerate(batches):
        y = 10 + i * row
        start, end = x(b.delivered.timestamp()), x((b.finished or b.delivered).timestamp())
        body.append(_text(10, y + 11, f"{b.project} {b.batch_id}"))
        body.append(
            f'<rect class="bar" x="{start:.1f}" y="{y:.1f}" width="{max(end - start, 3):.1f}" height="12" '
            f'fill="{colors.get(b.status, MUTED)}"><title>{escape(b.status)}</title></rect>'
        )
    height = 10 + len(batches) * row + 24
    body.append(_text(220, height - 6, f"0 s  …  {t1 - t0:.0f} s after the first delivery"))
    return _svg(height, body, "batch timeline")


def step_durations(report: RunReport) -> str:
    medians = report.step_medians()
    if not medians:
        return _empty("step durations")
    top = max(m for _, m, _ in medians)
    x = _scale(0, top, 220, WIDTH - 80)
    body, row = [], 20
    for i, (step, median, runs) in enumerate(medians):
        y = 10 + i * row
        body.append(_text(10, y + 12, step))
        body.append(
            f'<rect class="bar" x="220" y="{y:.1f}" width="{max(x(median) - 220, 1):.1f}" height="14" '
            f'fill="#1f77b4"></rect>'
        )
        body.append(_text(x(median) + 6, y + 12, f"{median:.1f} s, {runs} run(s)"))
    return _svg(10 + len(medians) * row + 10, body, "step durations")


def score_lines(report: RunReport, highlighted: int = 5) -> str:
    if not report.scores:
        return _empty("per-host anomaly scores")
    times = [s.window_end.timestamp() for s in report.scores]
    values = [s.score for s in report.scores]
    height = 320
    x = _scale(min(times), max(times), 60, WIDTH - 180)
    y = _scale(min(values), max(values), height - 30, 20)
    series: dict[str, list[HostScore]] = defaultdict(list)
    for s in report.scores:
        series[s.host].append(s)
    top = [host for host, _ in report.ranked_hosts()[:highlighted]]
    body = [
        f'<line x1="60" y1="{height - 30}" x2="{WIDTH - 180}" y2="{height - 30}" stroke="#444"></line>',
        _text(55, y(max(values)) + 4, f"{max(values):.3f}", "end"),
        _text(55, y(min(values)) + 4, f"{min(values):.3f}", "end"),
    ]
    ordered = sorted(series, key=lambda h: (h in top, -top.index(h) if h in top else 0, h))
    for host in ordered:  # muted hosts first, the top ones drawn over them
        points = sorted(series[host], key=lambda s: s.window_end)
        path = " ".join(f"{x(p.window_end.timestamp()):.1f},{y(p.score):.1f}" for p in points)
        color = PALETTE[top.index(host) % len(PALETTE)] if host in top else MUTED
        width = 2.5 if host in top else 1
        body.append(
            f'<polyline class="series" fill="none" stroke="{color}" stroke-width="{width}" '
            f'points="{path}"><title>{escape(host)}</title></polyline>'
        )
        if len(points) == 1:
            body.append(
                f'<circle cx="{x(points[0].window_end.timestamp()):.1f}" cy="{y(points[0].score):.1f}" '
                f'r="3" fill="{color}"></circle>'
            )
    for i, host in enumerate(top):
        label = host + (" (injected)" if host == report.injected_host else "")
        body.append(
            f'<rect x="{WIDTH - 170}" y="{20 + i * 18}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"></rect>'
        )
        body.append(_text(WIDTH - 155, 29 + i * 18, label))
    return _svg(height, body, "per-host anomaly scores over time")


def deviation_bars(report: RunReport) -> str:
    if not report.deviations:
        return _empty("top hosts' feature deviations")
    limit = max(abs(d.z) for d in report.deviations) or 1.0
    mid = 420
    x = _scale(-limit, limit, mid - 260, mid + 260)
    body, row, y0 = [], 16, 10
    hosts = list(dict.fromkeys(d.host for d in report.deviations))
    line = 0
    for i, host in enumerate(hosts):
        body.append(_text(10, y0 + line * row + 12, host, size=12))
        line += 1
        for d in (d for d in report.deviations if d.host == host):
            y = y0 + line * row
            left, right = sorted((x(0), x(d.z)))
            body.append(_text(mid - 270, y + 11, d.feature, "end"))
            body.append(
                f'<rect class="bar" x="{left:.1f}" y="{y:.1f}" width="{max(right - left, 1):.1f}" '
                f'height="12" fill="{PALETTE[i % len(PALETTE)]}"></rect>'
            )
            body.append(_text(max(right, x(0)) + 4, y + 11, f"z {d.z:+.2f}"))
            line += 1
    height = y0 + line * row + 10
    body.append(f'<line x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{height}" stroke="#444"></line>')
    return _svg(height, body, "top hosts' feature deviations")


CSS = """body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:22px}h2{font-size:16px;margin-top:28px}
pre{background:#f6f6f6;padding:12px;font-size:12px}section{margin-bottom:18px}"""


def render_html(report: RunReport) -> str:
    sections = [
        ("Batch timeline (delivery to pipeline end)", batch_timeline(report)),
        ("Pipeline step durations (median)", step_durations(report)),
        ("Per-host anomaly scores over time", score_lines(report)),
        ("Top hosts' feature deviations", deviation_bars(report)),
    ]
    body = "".join(f"<section><h2>{escape(title)}</h2>{chart}</section>" for title, chart in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(report.title)}</h1><p>generated {report.generated:%Y-%m-%d %H:%M:%S} UTC</p>"
        f"<pre>{escape(chr(10).join(summary_lines(report)))}</pre>{body}</body></html>\n"
    )
