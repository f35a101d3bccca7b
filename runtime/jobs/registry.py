"""The one list of runnable jobs. Adding a job: its folder `runtime/jobs/<job_name>/` and one line here."""

from __future__ import annotations

from runtime.jobs import (
    delta_builder,
    fg_a_builder,
    pair_counts_builder,
    pipeline_backfill_historical_extractor,
    pipeline_entry,
)
from runtime.jobs.job import Job

REGISTRY: dict[str, Job] = {
    job.name: job
    for job in (
        delta_builder.JOB,
        fg_a_builder.JOB,
        pair_counts_builder.JOB,
        pipeline_backfill_historical_extractor.JOB,
        pipeline_entry.JOB,
    )
}


def job_named(name: str) -> Job | None:
    return REGISTRY.get(name)
