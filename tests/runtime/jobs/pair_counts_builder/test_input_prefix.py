"""Where pair counts reads a batch: pure path logic, no Spark."""

from __future__ import annotations

from runtime.batch import BatchContext
from runtime.jobs.pair_counts_builder.builder import input_prefix
from runtime.jobs.pair_counts_builder.spec import PairCountsJobSpec

BASE = "s3://ingest/paloalto/acme/finance/ndr-prod/"
PAYLOAD = {
    "traffic_input": {
        "s3_prefix": BASE,
        "field_mapping": {
            "source_ip": "src",
            "destination_ip": "dst",
            "destination_port": "dport",
            "event_start": "start",
            "event_end": "time_generated",
        },
    },
    "pair_counts_output": {"s3_prefix": "s3://features/pair_counts/"},
}


def batch(prefix: str | None) -> BatchContext:
    return BatchContext("ndr-prod", "v1", "abc123", "2025-01-15T10:08:00Z", "2025-01-15T10:09:00Z", prefix)


def spec() -> PairCountsJobSpec:
    return PairCountsJobSpec.from_payload(
        PAYLOAD, "pair_counts_builder#v1", project_name="ndr-prod", job_name="pair_counts_builder", version="v1"
    )


def test_batch_folder_directly_under_the_prefix_by_default() -> None:
    assert input_prefix(spec(), batch(None)) == BASE + "abc123/"


def test_dated_batch_folder_below_the_prefix_is_used_when_orchestration_passes_it() -> None:
    dated = BASE + "2025/01/15/abc123/"
    assert input_prefix(spec(), batch(dated)) == dated


def test_a_passed_prefix_outside_the_configured_base_is_not_trusted() -> None:
    assert input_prefix(spec(), batch("s3://other/acme/abc123/")) == BASE + "abc123/"
    assert input_prefix(spec(), batch(BASE + "2025/01/15/other-batch/")) == BASE + "abc123/"
