"""`fg_c_builder`: one batch of FG-A rows -> robust z, log-ratio and percentile position against FG-B baselines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.jobs.fg_c_builder.spec import FgCJobSpec
from runtime.jobs.job import batch_builder_job


def builder() -> Callable[..., Any]:
    from runtime.jobs.fg_c_builder.builder import run_fg_c_builder

    return run_fg_c_builder


JOB = batch_builder_job(
    "fg_c_builder",
    "one batch of FG-A rows -> robust z-scores, log-ratios and percentile positions against FG-B",
    FgCJobSpec,
    builder,
)
