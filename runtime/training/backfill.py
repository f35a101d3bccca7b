"""Backfill planning and execution for missing feature days, through the job registry.

A missing day is recomputed window by window: its 96 windows start at 00:08, 00:23, ... 23:53 UTC and
last 15 minutes. FG-A days run `fg_a_builder` then `fg_c_builder`; days missing only FG-C run
`fg_c_builder`. Each window's mini-batch id is `backfill-<YYYYMMDDTHHMM>`, so a rerun rewrites the same
partitions (the builders overwrite a mini-batch's partitions): the job is idempotent. At most
`max_windows` windows run; the rest are counted as deferred for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from runtime.errors import RuntimeJobError
from runtime.jobs.job import JobContext

WINDOWS_PER_DAY = 96
FIRST_START = timedelta(minutes=8)
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class BackfillTask:
    day: str
    start: datetime
    jobs: tuple[str, ...]

    @property
    def mini_batch_id(self) -> str:
        return "backfill-" + self.start.strftime("%Y%m%dT%H%M")


@dataclass(frozen=True)
class BackfillPlan:
    tasks: tuple[BackfillTask, ...]
    deferred: int


def plan_backfill(missing_days: dict[str, list[str]], max_windows: int) -> BackfillPlan:
    fg_a, fg_c = set(missing_days.get("fg_a", [])), set(missing_days.get("fg_c", []))
    tasks: list[BackfillTask] = []
    for day in sorted(fg_a | fg_c):
        jobs = ("fg_a_builder", "fg_c_builder") if day in fg_a else ("fg_c_builder",)
        midnight = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
        tasks.extend(BackfillTask(day, midnight + FIRST_START + i * WINDOW, jobs) for i in range(WINDOWS_PER_DAY))
    return BackfillPlan(tuple(tasks[:max_windows]), max(0, len(tasks) - max_windows))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_backfill(
    tasks: tuple[BackfillTask, ...], project: str, version: str | None, context: JobContext
) -> list[dict[str, Any]]:
    from runtime.entrypoint import parse_args
    from runtime.jobs.registry import REGISTRY

    needed = sorted({job for task in tasks for job in task.jobs})
    if unregistered := [job for job in needed if job not in REGISTRY]:
        days = sorted({t.day for t in tasks if set(t.jobs) & set(unregistered)})
        raise RuntimeJobError(
            f"{', '.join(unregistered)} is not registered in this runtime, so the missing features of "
            f"{days[0]}{f' (and {len(days) - 1} more days)' if len(days) > 1 else ''} cannot be recomputed"
        )
    ran: list[dict[str, Any]] = []
    for task in tasks:
        for job_name in task.jobs:
            argv = [
                job_name,
                "--project-name",
                project,
                "--mini-batch-id",
                task.mini_batch_id,
                "--batch-start-ts-iso",
                _iso(task.start),
                "--batch-end-ts-iso",
                _iso(task.start + WINDOW),
            ]
            if version:
                argv += ["--feature-spec-version", version]
            try:
                args = parse_args(argv)
            except SystemExit as exit_:
                raise RuntimeJobError(f"{job_name} rejected the backfill arguments {argv[1:]}") from exit_
            try:
                summary = REGISTRY[job_name].run(args, context)
            except Exception as err:
                cause = " ".join(str(err).split()) or type(err).__name__
                raise RuntimeJobError(f"{job_name} failed for window {_iso(task.start)} ({task.day}): {cause}") from err
            ran.append(
                {
                    "job": job_name,
                    "day": task.day,
                    "mini_batch_id": task.mini_batch_id,
                    "batch_start_ts_iso": _iso(task.start),
                    "summary": summary,
                }
            )
    return ran
