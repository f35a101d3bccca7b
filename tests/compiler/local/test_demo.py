"""`ndrc demo` end to end at a small size (2 hours: 2 history, 1 training, 1 live batch per project), once per
module: the compiled artifacts published onto a throwaway emulator that executes pipelines in warm workers,
the stages chained exactly as the command runs them. Plus the command's option errors (CliRunner)."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import duckdb
import pytest
import yaml
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


LOOKBACK_DELTA_COLUMNS = {"destination_port": "peer_port", "destination_ip": "peer_ip"}
"""A `lookback30d` dimension reads this delta column; any other name is the delta column itself (docs/runtime.md)."""


def _rare_thresholds(fg_a: Path) -> dict[str, float]:
    """`lookback30d.rare_thresholds` of the FG-A spec the demo published (its workspace copy) for this folder:
    `<workspace>/.ndrc/local/s3/<bucket>/<project>/<version>/fg_a`."""
    version, project, workspace = fg_a.parent.name, fg_a.parents[1].name, fg_a.parents[6]
    spec = yaml.safe_load((workspace / "specs" / project / f"fg_a_builder#{version}.yaml").read_text())["spec"]
    return {name: float(threshold) for name, threshold in spec["lookback30d"]["rare_thresholds"].items()}


def _lookback_check(fg_a: Path, thresholds: dict[str, float]) -> tuple[list[tuple[Any, ...]], Counter[str]]:
    """Every FG-A row's rare/new columns against DuckDB over the delta beside it: (the rows that differ, what
    the values were). A value of dimension d in a host's 15-minute window W (its delta rows with W - 15m <
    batch_start_ts <= W) has `prior` = the distinct earlier batch windows of W - 30d <= batch_start_ts < W
    holding the same (host, value); it is rare when prior <= threshold and new when prior = 0."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(
        f"CREATE VIEW d AS SELECT * FROM read_parquet('{fg_a.parent / 'delta'}/**/*.parquet', hive_partitioning = "
        f"true, union_by_name = true) WHERE feature_spec_version = '{fg_a.parent.name}'; CREATE VIEW a AS SELECT * "
        f"FROM read_parquet('{fg_a}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
    )
    # FG-A's history is its own lookback dataset, so this holds only if batch = window (a batch starts on the
    # window grid) and every earlier window's FG-A ran before the later ones read it
    off_grid = connection.sql(
        "SELECT DISTINCT batch_start_ts FROM d WHERE minute(batch_start_ts) % 15 <> 8 OR second(batch_start_ts) <> 0"
    ).fetchall()
    assert off_grid == [], off_grid
    wrong: list[tuple[Any, ...]] = []
    seen: Counter[str] = Counter()
    for dimension, threshold in thresholds.items():
        column = LOOKBACK_DELTA_COLUMNS.get(dimension, dimension)
        connection.execute(
            f"""CREATE OR REPLACE TABLE v AS
            WITH cur AS (
                SELECT a.window_start_ts AS w, a.host_ip, CAST(d.{column} AS VARCHAR) AS value, count(*) AS sessions
                FROM a JOIN d ON d.host_ip = a.host_ip AND d.batch_start_ts > a.window_start_ts - INTERVAL 15 MINUTE
                  AND d.batch_start_ts <= a.window_start_ts
                WHERE d.{column} IS NOT NULL GROUP BY ALL)
            SELECT cur.w, cur.host_ip, cur.value, cur.sessions, count(DISTINCT p.batch_start_ts) AS prior
            FROM cur LEFT JOIN d p ON p.host_ip = cur.host_ip AND CAST(p.{column} AS VARCHAR) = cur.value
              AND p.batch_start_ts >= cur.w - INTERVAL 30 DAY AND p.batch_start_ts < cur.w
            GROUP BY ALL"""
        )
        got = f"a.rare_{dimension}_cnt_w_15m, a.rare_{dimension}_sessions_cnt_w_15m, a.new_{dimension}_cnt_w_15m"
        wrong += connection.sql(
            f"""SELECT '{dimension}', a.window_label, a.host_ip, {got},
                count(v.value) FILTER (WHERE v.prior <= {threshold}) AS rare,
                coalesce(sum(v.sessions) FILTER (WHERE v.prior <= {threshold}), 0) AS rare_sessions,
                count(v.value) FILTER (WHERE v.prior = 0) AS new
            FROM a LEFT JOIN v ON v.w = a.window_start_ts AND v.host_ip = a.host_ip
            GROUP BY ALL HAVING ({got}) IS DISTINCT FROM (rare, rare_sessions, new)"""
        ).fetchall()
        [(rows, values, new, rare)] = connection.sql(
            f"SELECT (SELECT count(*) FROM a), count(*), count(*) FILTER (WHERE prior = 0), "
            f"count(*) FILTER (WHERE prior <= {threshold}) FROM v"
        ).fetchall()
        seen.update({"rows": rows, "new": new, "seen before": values - new, "rare": rare, "not rare": values - rare})
    return wrong, seen


@pytest.mark.spark
@pytest.mark.emulator
def test_every_fg_a_lookback_flag_matches_the_delta_history(demo: tuple[DemoResult, Recorder, Path]) -> None:
    """Every rare/new column (`lookback30d`) of every FG-A row the demo wrote, recomputed from the final delta
    alone. FG-A counts earlier windows in the lookback dataset it wrote itself, window by window; DuckDB counts
    the earlier batches of the delta: they agree only if every window ran after the ones before it."""
    _, _, source = demo
    seen: Counter[str] = Counter()
    folders = sorted((source / ".ndrc" / "demo").glob("workspace/.ndrc/local/s3/*/*/v1/fg_a"))
    assert len(folders) == 2
    for fg_a in folders:
        wrong, counts = _lookback_check(fg_a, _rare_thresholds(fg_a))
        assert wrong == [], (fg_a, wrong[:5])
        seen += counts
    # both sides of every test ran: values new and seen before, rare and above the threshold
    assert seen["rows"] > 100 and all(seen[side] > 0 for side in ("new", "seen before", "rare", "not rare")), seen


@pytest.mark.spark
@pytest.mark.emulator
def test_the_lookback_recomputation_finds_one_wrong_flag(
    demo: tuple[DemoResult, Recorder, Path], tmp_path: Path
) -> None:
    """The check above fails when FG-A is wrong: a copy of one project's delta and FG-A with one host's
    `new_peer_ip_cnt_w_15m` raised by one in one window is reported as exactly that row."""
    _, _, source = demo
    fg_a = next((source / ".ndrc" / "demo").glob("workspace/.ndrc/local/s3/*/ndr-prod/v1/fg_a"))
    thresholds = _rare_thresholds(fg_a)
    copy = tmp_path / "ndr-prod" / "v1"
    for name in ("delta", "fg_a"):
        shutil.copytree(fg_a.parent / name, copy / name)
    target = sorted((copy / "fg_a").glob("**/*.parquet"))[0]
    connection = duckdb.connect()
    [(host, label)] = connection.sql(f"SELECT min(host_ip), min(window_label) FROM read_parquet('{target}')").fetchall()
    connection.execute(
        f"""COPY (SELECT * REPLACE (new_peer_ip_cnt_w_15m + (host_ip = '{host}')::BIGINT AS new_peer_ip_cnt_w_15m)
            FROM read_parquet('{target}')) TO '{tmp_path / "changed.parquet"}' (FORMAT PARQUET)"""
    )
    shutil.move(tmp_path / "changed.parquet", target)
    wrong, _ = _lookback_check(copy / "fg_a", thresholds)
    assert [row[:3] for row in wrong] == [("peer_ip", label, host)], wrong
    got_new, want_new = wrong[0][5], wrong[0][8]
    assert got_new == want_new + 1


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
