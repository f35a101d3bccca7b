"""Small valid spec payloads of the 15-minute jobs, for the tests that store them in a parameters table
(the spec loader's and `pipeline_entry`'s): one copy, so a spec-format change is made once."""

from __future__ import annotations

from typing import Any

PAIR_COUNTS: dict[str, Any] = {
    "traffic_input": {
        "s3_prefix": "s3://in/",
        "field_mapping": {
            "source_ip": "src",
            "destination_ip": "dst",
            "destination_port": "dport",
            "event_start": "start",
            "event_end": "end",
        },
    },
    "pair_counts_output": {"s3_prefix": "s3://out/pairs/"},
}
FG_A: dict[str, Any] = {"delta_s3_prefix": "s3://d/", "output_s3_prefix": "s3://fa/"}


def delta(project_name: str, **extra: Any) -> dict[str, Any]:
    """A `delta_builder` v1 payload of `project_name` (the payload states its identity); `extra` adds or
    replaces top-level keys."""
    return {
        "project_name": project_name,
        "job_name": "delta_builder",
        "feature_spec_version": "v1",
        "input": {"s3_prefix": "s3://in/"},
        "output": {"s3_prefix": "s3://out/"},
        **extra,
    }
