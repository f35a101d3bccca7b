"""The run report: the terminal summary (pure) and the self-contained HTML, rendered by a real headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from compiler.local.demo_report import Batch, Deviation, HostScore, RunReport, StepTiming, render_html, summary_lines

T0 = datetime(2025, 1, 15, 10, 8, tzinfo=UTC)
INJECTED = "10.20.0.66"


def _report() -> RunReport:
    batches = [
        Batch(
            project,
            f"batch{i:02d}",
            T0 + timedelta(minutes=15 * i),
            T0 + timedelta(minutes=15 * i, seconds=90),
            "Succeeded",
        )
        for i in range(4)
        for project in ("ndr-prod", "ndr-acme-prod")
    ]
    batches.append(Batch("ndr-prod", "batch01", T0 + timedelta(minutes=16), None, "Duplicate"))
    steps = [
        StepTiming("ndr-local-feature-15m", step, seconds + i)
        for i in range(4)
        for step, seconds in (("DeltaBuilder", 20.0), ("FgABuilder", 12.0), ("InferencePredictions", 4.0))
    ]
    hosts = [f"10.20.0.{n}" for n in range(10, 22)] + [INJECTED]

    def score(host: str, window: int) -> float:
        return 0.40 + 0.01 * (int(host.rsplit(".", 1)[1]) % 5) + (0.35 if host == INJECTED and window >= 2 else 0.0)

    scores = [
        HostScore("ndr-prod", host, T0 + timedelta(minutes=15 * w), score(host, w)) for host in hosts for w in range(4)
    ]
    deviations = [
        Deviation(INJECTED, "external_peers_cnt_w_15m", 5.9),
        Deviation(INJECTED, "distinct_peers_cnt_w_15m", 4.2),
        Deviation("10.20.0.11", "sessions_cnt_w_15m", -1.3),
    ]
    return RunReport(
        "ndrc demo: 2 projects, 1 hour",
        T0 + timedelta(hours=2),
        tuple(batches),
        tuple(steps),
        tuple(scores),
        tuple(deviations),
        INJECTED,
        ("live events replayed through SNS/SQS",),
    )


def test_the_summary_counts_batches_duplicates_and_ranks_the_injected_host_first() -> None:
    lines = summary_lines(_report())
    assert "  batches delivered: 9 (1 Duplicate, 8 Succeeded)" in lines
    assert "  duplicates suppressed: 1" in lines
    assert any(line.split() == ["DeltaBuilder", "21.5", "x4"] for line in lines)  # median of 20, 21, 22, 23
    top = lines[lines.index("  top anomalous hosts (highest score):") + 1]
    assert top.split()[:2] == ["1.", INJECTED] and top.endswith("<- injected")


def test_the_html_is_self_contained_and_deterministic() -> None:
    html = render_html(_report())
    assert html == render_html(_report())
    assert html.count("<svg") == 4 and "<script" not in html
    assert re.findall(r"(?:src|href)=", html) == [] and "url(" not in html and "@import" not in html
    assert re.findall(r"https?://(?!www\.w3\.org/2000/svg)", html) == []


def test_empty_data_still_renders_every_chart_with_a_note() -> None:
    empty = RunReport("empty", T0, (), (), (), ())
    html = render_html(empty)
    assert html.count("<svg") == 4 and html.count(": no data") == 4


RENDER_CHECK = """<script>
const found = [...document.querySelectorAll('svg')].map(svg => {
  const box = svg.getBBox();
  return [svg.getAttribute('aria-label'), Math.round(box.width), Math.round(box.height),
          svg.querySelectorAll('rect.bar, polyline.series').length];
});
const out = document.createElement('div');
out.id = 'render-check';
out.textContent = JSON.stringify(found);
document.body.appendChild(out);
</script></body>"""


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_report_renders_its_charts_in_headless_chromium_without_console_errors(
    tmp_path: Path, chromium: str
) -> None:
    report = tmp_path / "report.html"
    html = render_html(_report())
    report.write_text(html)
    shot = _chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={tmp_path / 'report.png'}",
        "--window-size=1000,2400",
        report.as_uri(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert [line for line in shot.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line] == []

    # the same document plus a test-only script: Chromium's layout of each chart (bounding box, marks drawn)
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", RENDER_CHECK))
    dumped = _chromium(chromium, tmp_path / "profile2", "--dump-dom", probe.as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    match = re.search(r'<div id="render-check">(.*?)</div>', dumped.stdout)
    assert match, dumped.stdout[-2000:]
    charts = {label: (width, height, marks) for label, width, height, marks in json.loads(match.group(1))}
    assert set(charts) == {
        "batch timeline",
        "step durations",
        "per-host anomaly scores over time",
        "top hosts' feature deviations",
    }
    assert all(width > 300 and height > 40 for width, height, _ in charts.values()), charts
    assert charts["batch timeline"][2] == 9 and charts["step durations"][2] == 3
    assert charts["per-host anomaly scores over time"][2] == 13 and charts["top hosts' feature deviations"][2] == 3


@pytest.mark.parametrize("status", ["Failed", "Executing"])
def test_unfinished_or_failed_batches_are_drawn_and_counted(status: str) -> None:
    report = RunReport("r", T0, (Batch("p", "b", T0, None, status),), (), (), ())
    assert f"  batches delivered: 1 (1 {status})" in summary_lines(report)
    assert f"<title>{status}</title>" in render_html(report)
