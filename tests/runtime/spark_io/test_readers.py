"""Typing raw strings (issue 9, item 7) and corrupt gzip input as one readable error (item 4)."""

from __future__ import annotations

import gzip
from datetime import datetime
from typing import Any

import pytest

from runtime.errors import RuntimeJobError
from runtime.spark_io.readers import corrupt_input_as_error, read_canonical

pytestmark = pytest.mark.spark

MAPPING = {name: name for name in ("source_ip", "source_bytes", "source_port", "event_start")}


def typed_rows(spark: Any, storage: Any, jsonl_gz: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    jsonl_gz(storage, "s3://in/typed/part-0.json.gz", rows)
    frame = read_canonical(spark, storage, "s3://in/typed/", "json", "gzip", MAPPING, ["name"])
    return sorted((row.asDict() for row in frame.collect()), key=lambda r: r["name"])


def test_numbers_are_whole_decimal_numbers_only(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    rows = [
        {"name": "a_suffix_d", "source_bytes": "100d", "source_port": "80f"},
        {"name": "b_big", "source_bytes": "9007199254740993", "source_port": " 443 "},
        {"name": "c_json_numbers", "source_bytes": 9007199254740993, "source_port": 443},
        {"name": "d_fraction", "source_bytes": "100.0", "source_port": "80.5"},
        {"name": "e_exponent", "source_bytes": "1e3", "source_port": "65536"},
        {"name": "f_negative", "source_bytes": "-5", "source_port": "-1"},
        {"name": "g_beyond_long", "source_bytes": "99999999999999999999", "source_port": "0"},
    ]
    got = {r["name"]: (r["source_bytes"], r["source_port"]) for r in typed_rows(spark, storage, jsonl_gz, rows)}
    assert got == {
        "a_suffix_d": (None, None),
        "b_big": (9007199254740993, 443),
        "c_json_numbers": (9007199254740993, 443),
        "d_fraction": (100, None),
        "e_exponent": (None, None),
        "f_negative": (-5, None),
        "g_beyond_long": (None, 0),
    }


def test_panos_native_timestamps(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    rows = [
        {"name": "a_panos", "event_start": "2025/01/15 10:00:00"},
        {"name": "b_iso", "event_start": "2025-01-15T10:00:00Z"},
        {"name": "c_epoch", "event_start": "1736935200"},
        {"name": "d_panos_bad_day", "event_start": "2025/02/30 10:00:00"},
        {"name": "e_panos_short", "event_start": "2025/1/5 10:00:00"},
    ]
    got = {r["name"]: r["event_start"] for r in typed_rows(spark, storage, jsonl_gz, rows)}
    moment = datetime(2025, 1, 15, 10, 0)
    assert got == {
        "a_panos": moment,
        "b_iso": moment,
        "c_epoch": moment,
        "d_panos_bad_day": None,
        "e_panos_short": None,
    }


def test_trailing_newline_is_kept_for_the_ip_check(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    [row] = typed_rows(spark, storage, jsonl_gz, [{"name": "a", "source_ip": "10.1.0.5\n"}])
    assert row["source_ip"] == "10.1.0.5\n"  # and is_valid_ip rejects it (tests/runtime/test_sparkexpr_ip.py)


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (gzip.compress(b'{"source_ip": "10.0.0.1"}\n' * 2000, mtime=0)[:-40], "Unexpected end of input stream"),
        (b'{"source_ip": "10.0.0.1"}\n', "not a gzip file"),
    ],
    ids=["truncated", "plain_text"],
)
def test_corrupt_gzip_is_one_line_naming_the_file(spark: Any, storage: Any, body: bytes, cause: str) -> None:
    storage.write_bytes("s3://in/bad/part-7.json.gz", body)
    frame = read_canonical(spark, storage, "s3://in/bad/", "json", "gzip", MAPPING)
    with pytest.raises(RuntimeJobError) as raised, corrupt_input_as_error(storage, "s3://in/bad/"):
        frame.count()
    assert str(raised.value) == f"s3://in/bad/part-7.json.gz: corrupt gzip ({cause})"


def test_other_failures_pass_through(storage: Any) -> None:
    with pytest.raises(ZeroDivisionError), corrupt_input_as_error(storage):
        _ = 1 / 0
