"""`ndrc demo` end to end at a small size (2 hours: 2 history, 1 training, 1 live batch per project), once per
module: the compiled artifacts published onto a throwaway emulator that executes pipelines in warm workers,
the stages chained exactly as the command runs them. Plus the command's option errors (CliRunner)."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import click
import duckdb
import pytest
from click.testing import CliRunner

from compiler.cli import cli
from compiler.local import demo_state
from compiler.local.demo import STAGES, DemoOptions, DemoResult, run_demo
from tests.compiler.local.test_demo_report import RENDER_CHECK, _chromium

REPO = Path(__file__).resolve().parents[3]


class Recorder:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[tuple[str, float, str]] = []

    def start(self, index: int, total: int, name: str) -> None:
        assert (index, total) == (len(self.started) + 1, len(STAGES))
        self.started.append(name)

    def done(self, name: str, seconds: float, detail: str) -> None:
        self.finished.append((name, seconds, detail))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoResult, Recorder, Path]]:
    """The demo run from a copy of the sample workspace (it records its environment there), left running as
    by default; stopped at the end whatever the tests did."""
    folder = tmp_path_factory.mktemp("demo")
    source = folder / "source"
    source.mkdir()
    shutil.copy2(REPO / "ndrc.yaml", source / "ndrc.yaml")
    for name in ("specs", "reference"):
        shutil.copytree(REPO / name, source / name)
    recorder = Recorder()
    options = DemoOptions(hours=2, out=folder / "report.html", state_dir=source / ".ndrc" / "demo", source=source)
    try:
        yield run_demo(options, recorder), recorder, source
    finally:
        found = demo_state.find(source)
        if found is not None:
            demo_state.stop(found)


@pytest.mark.spark
@pytest.mark.emulator
def test_every_stage_ran_in_order_and_succeeded(demo: tuple[DemoResult, Recorder, Path]) -> None:
    result, recorder, _ = demo
    assert recorder.started == [name for name, _, _ in recorder.finished] == list(STAGES)
    assert [stage.name for stage in result.stages] == list(STAGES)
    assert all(stage.seconds > 0 for stage in result.stages)


@pytest.mark.spark
@pytest.mark.emulator
def test_n_backfill_windows_ran_n_feature_pipelines_that_succeeded(demo: tuple[DemoResult, Recorder, Path]) -> None:
    result, _, _ = demo
    # 2 hours = 4 batches per project: 2 history + 1 training backfilled, 1 live
    assert result.backfill == {
        "ndr-prod": {"windows": 3, "succeeded": 3},
        "ndr-acme-prod": {"windows": 3, "succeeded": 3},
    }
    assert result.live_pipelines == {"ndr-prod": ["Succeeded"], "ndr-acme-prod": ["Succeeded"]}


@pytest.mark.spark
@pytest.mark.emulator
def test_every_fg_a_trailing_window_holds_the_windows_before_it(demo: tuple[DemoResult, Recorder, Path]) -> None:
    """A window's FG-A reads the delta of the windows before it: run in order (backfill one window at a time per
    project, live batches in rounds), every trailing session count equals DuckDB's count over the final delta.
    Windows run side by side would miss a neighbour still being written (seen before the demo ordered them)."""
    _, _, source = demo
    checked = 0
    for fg_a in sorted((source / ".ndrc" / "demo").glob("workspace/.ndrc/local/s3/*/*/v1/fg_a")):
        delta, connection = fg_a.parent / "delta", duckdb.connect()
        connection.execute(
            f"CREATE VIEW d AS SELECT * FROM read_parquet('{delta}/**/*.parquet', hive_partitioning = true, "
            f"union_by_name = true); CREATE VIEW a AS SELECT * FROM read_parquet('{fg_a}/**/*.parquet', "
            "hive_partitioning = true, union_by_name = true)"
        )
        columns = {row[0] for row in connection.sql("DESCRIBE a").fetchall()}
        for size, hours in (("1h", 1), ("8h", 8), ("24h", 24)):
            if f"sessions_cnt_w_{size}" not in columns:
                continue
            wrong = connection.sql(
                f"""SELECT a.window_label, a.host_ip, a.sessions_cnt_w_{size}, count(d.host_ip) AS expected
                FROM a LEFT JOIN d ON d.host_ip = a.host_ip
                  AND d.batch_start_ts > a.window_start_ts - INTERVAL {hours} HOUR
                  AND d.batch_start_ts <= a.window_start_ts
                GROUP BY ALL HAVING a.sessions_cnt_w_{size} <> count(d.host_ip)"""
            ).fetchall()
            assert wrong == [], (fg_a, size, wrong[:5])
            checked += connection.sql("SELECT count(*) FROM a").fetchall()[0][0]
    assert checked > 100


@pytest.mark.spark
@pytest.mark.emulator
def test_the_replayed_delivery_was_suppressed_as_a_duplicate(demo: tuple[DemoResult, Recorder, Path]) -> None:
    result, _, _ = demo
    statuses = sorted(batch.status for batch in result.report.batches)
    assert statuses == ["Duplicate", "Succeeded", "Succeeded"]


@pytest.mark.spark
@pytest.mark.emulator
def test_the_trained_project_is_scored_and_the_untrained_one_skips_explicitly(
    demo: tuple[DemoResult, Recorder, Path],
) -> None:
    result, _, _ = demo
    assert result.predictions["ndr-prod"] > 5
    assert result.report.injected_host in {host for host, _ in result.report.ranked_hosts()}
    # ndr-acme-prod has no training chain in the sample workspace: its inference skips, explicitly
    assert result.predictions["ndr-acme-prod"] == 0
    assert result.skipped_inference["ndr-acme-prod"].startswith("skipped: no model in service")


@pytest.mark.spark
@pytest.mark.emulator
def test_the_injected_host_ranks_first_among_the_scored_hosts(demo: tuple[DemoResult, Recorder, Path]) -> None:
    result, _, _ = demo
    injected = result.report.injected_host
    ranked = result.report.ranked_hosts()
    # strictly first: its best score is above every other host's best score (no tie broken by name)
    assert injected is not None and ranked[0][0] == injected, ranked[:5]
    assert len(ranked) > 1 and ranked[0][1] > ranked[1][1], ranked[:5]


@pytest.mark.spark
@pytest.mark.emulator
def test_the_html_report_draws_its_charts_in_headless_chromium(
    demo: tuple[DemoResult, Recorder, Path], chromium: str, tmp_path: Path
) -> None:
    result, _, _ = demo
    html = result.html.read_text()
    shot = _chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={tmp_path / 'report.png'}",
        "--window-size=1000,2400",
        result.html.as_uri(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert [line for line in shot.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line] == []
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", RENDER_CHECK))
    dumped = _chromium(chromium, tmp_path / "profile2", "--dump-dom", probe.as_uri())
    match = re.search(r'<div id="render-check">(.*?)</div>', dumped.stdout)
    assert match, dumped.stdout[-2000:]
    charts = {label: (width, height, marks) for label, width, height, marks in json.loads(match.group(1))}
    assert all(width > 300 and height > 40 and marks > 0 for width, height, marks in charts.values()), charts


def _descendants(pid: int) -> set[int]:
    """The process and everything it started (warm workers, their JVMs), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo += children.get(current, [])
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.spark
@pytest.mark.emulator
def test_local_status_then_lists_the_demos_executions(demo: tuple[DemoResult, Recorder, Path]) -> None:
    _, _, source = demo
    listed = CliRunner().invoke(cli, ["local", "status", "--workspace", str(source), "--limit", "20"])
    assert listed.exit_code == 0, listed.output
    assert "demo environment (`ndrc demo`, workspace copy" in listed.output
    assert re.search(r"^  emulator running at http://127\.0\.0\.1:\d+ \(pid \d+", listed.output, re.M)
    assert re.search(r"^  model server running at .*'ndr-prod-if-v1'", listed.output, re.M)
    runs = [
        line.split()
        for line in listed.output.splitlines()
        if line.startswith("    ") and ("state machine" in line or "pipeline" in line)
    ]
    # 2 backfills x 2 projects, 3 live deliveries (one a duplicate) ...
    machines = [words[3] for words in runs if words[1:3] == ["state", "machine"]]
    assert machines.count("ndr-local-backfill") == 4 and machines.count("ndr-local-live-inference") == 3
    # ... and 3 backfilled + 1 live feature-15m per project, all succeeded
    pipelines = [(words[0], words[2]) for words in runs if words[1] == "pipeline"]
    assert pipelines.count(("Succeeded", "ndr-local-feature-15m")) == 8, listed.output


@pytest.mark.spark
@pytest.mark.emulator
def test_local_down_then_stops_everything_the_demo_started(demo: tuple[DemoResult, Recorder, Path]) -> None:
    _, _, source = demo
    found = demo_state.find(source)
    assert found is not None
    emulator, served = demo_state.status(found)
    assert emulator.pid is not None and served.pid is not None
    started = _descendants(emulator.pid) | {served.pid}
    assert len(started) > 3  # the emulator, its warm workers and their JVMs, the model server

    stopped = CliRunner().invoke(cli, ["local", "down", "--workspace", str(source)])

    assert stopped.exit_code == 0, stopped.output
    assert "demo environment (`ndrc demo`" in stopped.output and "emulator stopped (was at" in stopped.output
    deadline = time.monotonic() + 30  # a JVM ends once its Python driver's pipe closes
    while [pid for pid in started if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [pid for pid in started if _alive(pid)] == []
    assert demo_state.find(source) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hours", "0"], "--hours must be between 1 and 24 (got 0)"),
        (["--hours", "25"], "--hours must be between 1 and 24 (got 25)"),
        (["--projects", "ndr-prod,nope"], "--projects: nope not a sample project"),
        (["--projects", "ndr-prod,ndr-prod"], "--projects names a project twice"),
        (["--projects", " , "], "--projects needs at least one project"),
        (["--step-budget", "0"], "--step-budget must be at least 1 (got 0)"),
    ],
)
def test_bad_options_are_one_line_errors_with_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--state-dir", str(tmp_path / "state"), "--workspace", str(REPO), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "state").exists()


def test_a_folder_that_is_not_a_workspace_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--workspace", str(tmp_path), "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 2 and "is not an ndrc workspace (no ndrc.yaml)" in result.output


def test_the_demo_keeps_its_environment_running_unless_told_to_stop() -> None:
    """The contract: after `ndrc demo`, `ndrc local status` lists the executions (so the environment is still
    up by default); `--stop` ends it with the demo."""
    from compiler.cli.demo import demo_command

    option = next(p for p in demo_command.params if p.name == "keep_running")
    assert isinstance(option, click.Option)
    assert (option.default, option.opts, option.secondary_opts) == (True, ["--keep-running"], ["--stop"])
    assert DemoOptions().keep_running is True
