"""`ndrc demo`: the compiled platform running locally end to end (see `compiler.local.demo`), with a live
status line per stage."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import click

from compiler.cli.exit_codes import handle_errors
from compiler.errors import NdrcError
from compiler.local.demo import DemoOptions, run_demo
from compiler.local.demo_world import SAMPLE_PROJECTS


class StageLine:
    """`[i/n] stage ... 12s` redrawn every second on a terminal; one line per finished stage elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._label = ""
        self._began = 0.0

    def _draw(self) -> None:
        while not self._stop.wait(1.0):
            self.stream.write(f"\r{self._label} ... {time.monotonic() - self._began:4.0f}s")
            self.stream.flush()

    def start(self, index: int, total: int, name: str) -> None:
        self._label, self._began = f"[{index}/{total}] {name}", time.monotonic()
        if self.live:
            self._stop.clear()
            self._thread = threading.Thread(target=self._draw, daemon=True)
            self._thread.start()
        else:
            self.stream.write(f"{self._label} ...\n")
            self.stream.flush()

    def done(self, name: str, seconds: float, detail: str) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        prefix = "\r" if self.live else ""
        self.stream.write(f"{prefix}{self._label} done in {seconds:.1f}s: {detail}\n")
        self.stream.flush()


def _projects(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


@click.command("demo")
@click.option(
    "--hours",
    type=int,
    default=3,
    show_default=True,
    help="Hours of traffic per project (30-minute batches: a third history, a third training, a third live).",
)
@click.option(
    "--projects",
    default=",".join(SAMPLE_PROJECTS),
    show_default=True,
    help="Comma-separated sample projects; the first gets the injected anomalous host.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the synthetic traffic.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("ndrc-demo.html"),
    show_default=True,
    help="Where to write the HTML report.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".ndrc/demo"),
    show_default=True,
    help="The demo's own folder (workspace copy, storage, step logs); replaced "
    "on each run. A running `ndrc local up` is never touched.",
)
@click.option(
    "--workspace",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The workspace whose specs the demo copies.",
)
@click.option(
    "--step-budget", type=int, default=2, show_default=True, help="Pipeline steps run at once (warm Spark workers)."
)
@click.option(
    "--keep-running/--stop",
    default=True,
    show_default=True,
    help="Leave the demo's emulator, warm workers and model server running afterwards (a plain `ndrc "
    "local status` in this workspace lists the demo's executions, `ndrc local down` stops them), "
    "or stop everything the demo started when it ends.",
)
@handle_errors
def demo_command(
    hours: int, projects: str, seed: int, out: Path, state_dir: Path, source: Path, step_budget: int, keep_running: bool
) -> None:
    """Run the whole compiled platform locally: publish a demo-sized copy of the sample workspace onto a
    throwaway emulator, generate traffic with one anomalous host, backfill, build FG-B baselines, train and
    deploy, replay live batches through SNS/SQS and the published pipe, then print a summary and write an
    HTML report."""
    options = DemoOptions(
        hours=hours,
        projects=_projects(projects),
        seed=seed,
        out=out,
        state_dir=state_dir,
        source=source,
        step_budget=step_budget,
        keep_running=keep_running,
    )
    options.check()
    try:
        result = run_demo(options, StageLine(sys.stderr))
    except RuntimeError as err:
        logs = state_dir / "workspace" / ".ndrc" / "pipelines"
        if keep_running:
            click.echo(
                "ndrc: the demo's environment is left running to inspect: `ndrc local status`, then `ndrc local down`",
                err=True,
            )
        raise NdrcError(f"the demo stopped: {err} (step logs under {logs})") from None
    for line in result.summary():
        click.echo(line)
    if keep_running:
        where = "" if source.resolve() == Path.cwd().resolve() else f" --workspace {source}"
        click.echo(
            f"  still running: `ndrc local status{where}` lists the demo's executions; `ndrc local "
            f"down{where}` stops everything the demo started"
        )
    else:
        click.echo("  stopped: everything the demo started (--stop)")


COMMANDS = [demo_command]
