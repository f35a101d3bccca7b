"""Every DQ rule on hand-made rows, with hand-computed violation and drop counts."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.jobs.delta_builder.dq import RULE_ORDER, apply_dq, dq_report
from runtime.jobs.delta_builder.spec import CANONICAL_FIELDS, DQSpec
from runtime.spark_io.readers import read_canonical

pytestmark = pytest.mark.spark


def flow(name: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": name,
        "source_ip": "10.0.0.1",
        "destination_ip": "8.8.8.8",
        "source_port": 50000,
        "destination_port": 53,
        "source_bytes": 100,
        "destination_bytes": 200,
        "event_start": "2025-01-15T10:00:00Z",
        "event_end": "2025-01-15T10:00:05Z",
    }
    row.update(overrides)
    return row


ROWS = [
    flow("r1_valid"),
    flow("r2_bad_source_ip", source_ip="999.1.1.1"),
    flow("r3_bad_ip_and_null_bytes", destination_ip="not-an-ip", source_bytes=None),
    flow("r4_null_port", destination_port=None),
    flow("r5_text_port", destination_port="abc"),
    flow("r6_port_out_of_range", source_port=70000),
    flow("r7_negative_bytes", destination_bytes=-5),
    flow("r8_end_before_start", event_end="2025-01-15T09:59:59Z"),
    flow("r9_negative_bytes_and_duration", source_bytes=-1, event_end="2025-01-15T09:00:00Z"),
    flow("r10_unparseable_start", event_start="garbage"),
    flow("r11_ipv6", source_ip="2001:db8::1", destination_ip="fe80::2"),
    flow(
        "r12_quoted_numbers_and_epochs",
        source_port="443",
        source_bytes="7",
        event_start=1736935200,
        event_end=1736935210000,
    ),
]
ALL_VIOLATIONS = {
    "drop_malformed_ip": 2,  # r2, r3
    "filter_null_bytes_ports": 4,  # r3, r4, r5, r6
    "bytes_non_negative": 2,  # r7, r9
    "duration_non_negative": 3,  # r8, r9, r10
}


@pytest.fixture
def raw(spark: Any, storage: Any, jsonl_gz: Any) -> Any:
    jsonl_gz(storage, "s3://in/batch/part-0.json.gz", ROWS)
    mapping = {name: name for name in CANONICAL_FIELDS}
    return read_canonical(spark, storage, "s3://in/batch/", "json", "gzip", mapping, ["name"])


def run(raw: Any, dq: DQSpec) -> tuple[list[str], dict[str, Any]]:
    stage = apply_dq(raw, dq)
    names = sorted(row["name"] for row in stage.frame.collect())
    return names, dq_report(stage.observation.get, stage.enabled)


def test_all_rules_enabled(raw: Any) -> None:
    names, report = run(raw, DQSpec())
    assert names == ["r11_ipv6", "r12_quoted_numbers_and_epochs", "r1_valid"]
    assert report["rows_in"] == 12 and report["rows_valid"] == 3
    assert report["violations"] == ALL_VIOLATIONS
    # a row is charged to the first enabled rule it breaks: r3 -> ip, r9 -> bytes
    assert report["dropped"] == {
        "drop_malformed_ip": 2,
        "filter_null_bytes_ports": 3,
        "bytes_non_negative": 2,
        "duration_non_negative": 2,
    }


def test_disabled_rules_keep_rows_but_still_count(raw: Any) -> None:
    names, report = run(raw, DQSpec(drop_malformed_ip=False, filter_null_bytes_ports=False))
    assert names == sorted(
        [
            "r1_valid",
            "r2_bad_source_ip",
            "r3_bad_ip_and_null_bytes",
            "r4_null_port",
            "r5_text_port",
            "r6_port_out_of_range",
            "r11_ipv6",
            "r12_quoted_numbers_and_epochs",
        ]
    )
    assert report["violations"] == ALL_VIOLATIONS
    assert report["rules_enabled"] == ["bytes_non_negative", "duration_non_negative"]
    assert report["dropped"] == {
        "drop_malformed_ip": 0,
        "filter_null_bytes_ports": 0,
        "bytes_non_negative": 2,
        "duration_non_negative": 2,
    }


@pytest.mark.parametrize("rule", RULE_ORDER)
def test_each_rule_alone(raw: Any, rule: str) -> None:
    only = DQSpec(**{name: name == rule for name in RULE_ORDER}, emit_metrics=False)
    names, report = run(raw, only)
    assert report["dropped"][rule] == ALL_VIOLATIONS[rule]
    assert len(names) == 12 - ALL_VIOLATIONS[rule]


def test_typed_values(raw: Any) -> None:
    rows = {row["name"]: row for row in apply_dq(raw, DQSpec()).frame.collect()}
    epoch_row = rows["r12_quoted_numbers_and_epochs"]
    assert epoch_row["source_port"] == 443 and epoch_row["source_bytes"] == 7
    assert epoch_row["event_start"].isoformat() == "2025-01-15T10:00:00"
    assert (epoch_row["event_end"] - epoch_row["event_start"]).total_seconds() == 10
