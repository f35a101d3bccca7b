"""`pair_counts_builder`: events per (source_ip, destination_ip, destination_port) of one mini-batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.jobs.job import batch_builder_job
from runtime.jobs.pair_counts_builder.spec import PairCountsJobSpec


def builder() -> Callable[..., Any]:
    from runtime.jobs.pair_counts_builder.builder import run_pair_counts_builder

    return run_pair_counts_builder


JOB = batch_builder_job(
    "pair_counts_builder",
    "one mini-batch of raw traffic -> event counts per source, destination and port",
    PairCountsJobSpec,
    builder,
)
