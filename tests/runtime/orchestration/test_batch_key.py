"""parse_batch_key per the orchestration contract: identity from the key, errors for keys that do not fit."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.orchestration import parse_batch_key

KEY = "paloalto/acme/finance/ndr-acme-prod/2025/01/15/3f2a9c/part-00000.json.gz"


def test_parses_key_with_vendor_prefix() -> None:
    key = parse_batch_key(KEY, bucket="ndr-ingestion")
    assert (key.org1, key.org2, key.project_name, key.mini_batch_id) == ("acme", "finance", "ndr-acme-prod", "3f2a9c")
    assert key.vendor_prefix == "paloalto"
    assert key.batch_date == date(2025, 1, 15)
    assert key.org_key == "acme#finance"
    assert key.mini_batch_s3_prefix == "s3://ndr-ingestion/paloalto/acme/finance/ndr-acme-prod/2025/01/15/3f2a9c/"


def test_parses_key_without_vendor_and_full_uri() -> None:
    key = parse_batch_key("s3://b/acme/finance/p1/2024/02/29/batch-1/x.json.gz")
    assert (key.bucket, key.vendor_prefix, key.project_name, key.mini_batch_id) == ("b", "", "p1", "batch-1")
    assert key.mini_batch_s3_prefix == "s3://b/acme/finance/p1/2024/02/29/batch-1/"


def test_without_bucket_the_s3_prefix_is_unknown_but_the_folder_key_is_not() -> None:
    key = parse_batch_key(KEY)
    assert key.mini_batch_s3_prefix is None
    assert key.mini_batch_prefix_key == "paloalto/acme/finance/ndr-acme-prod/2025/01/15/3f2a9c/"


@pytest.mark.parametrize(
    ("s3_key", "message"),
    [
        ("acme/finance/p/2025/01/15/part.json.gz", "at least 8 path segments"),
        ("acme/finance/p/2025/01/15/b1/part.csv", "must end in .json.gz"),
        ("acme/finance/p/2025/1/15/b1/part.json.gz", "must be YYYY/MM/dd"),
        ("acme/finance/p/2025/02/30/b1/part.json.gz", "not a calendar date"),
        ("acme//p/2025/01/15/b1/part.json.gz", "org2 segment ''"),
        ("vendor/acme/finance/p/2025/01/15/b 1/part.json.gz", "mini_batch_id segment 'b 1'"),
        ("s3://a/acme/finance/p/2025/01/15/b1/part.json.gz", "differs from the given bucket 'b'"),
        ("", "non-empty string"),
    ],
)
def test_keys_that_do_not_fit_raise_value_error(s3_key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_batch_key(s3_key, bucket="b" if s3_key.startswith("s3://") else None)


_segment = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,11}", fullmatch=True)


@given(_segment, _segment, _segment, st.dates(date(2000, 1, 1), date(2099, 12, 31)), _segment)
def test_round_trip(org1: str, org2: str, project: str, day: date, batch: str) -> None:
    key = f"paloalto/{org1}/{org2}/{project}/{day:%Y/%m/%d}/{batch}/f.json.gz"
    parsed = parse_batch_key(key, bucket="bkt")
    assert (parsed.org1, parsed.org2, parsed.project_name, parsed.batch_date, parsed.mini_batch_id) == (
        org1,
        org2,
        project,
        day,
        batch,
    )
    assert parsed.mini_batch_s3_prefix == f"s3://bkt/{key.rsplit('/', 1)[0]}/"
