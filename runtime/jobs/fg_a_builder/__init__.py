"""`fg_a_builder`: delta rows -> one row per host and 15-minute window with trailing-window metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.jobs.fg_a_builder.spec import FgAJobSpec
from runtime.jobs.job import batch_builder_job


def builder() -> Callable[..., Any]:
    from runtime.jobs.fg_a_builder.builder import run_fg_a_builder

    return run_fg_a_builder


JOB = batch_builder_job(
    "fg_a_builder",
    "delta rows -> per host and 15-minute window, trailing 15m/1h/8h/24h metrics (FG-A)",
    FgAJobSpec,
    builder,
)
