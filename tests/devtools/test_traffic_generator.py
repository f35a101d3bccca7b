"""The synthetic Palo Alto traffic generator: layout, realism, malformed share, reproducibility."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

from devtools.traffic import PALOALTO_FIELD_MAPPING, TrafficOptions, generate_traffic, main
from runtime.orchestration import parse_batch_key
from runtime.storage import LocalStorage, parse_s3_uri


def read(storage: LocalStorage, uri: str) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(storage.read_bytes(uri)).splitlines()]


def test_layout_and_fields(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    options = TrafficOptions(org1="acme", org2="hr", project_name="ndr-x", hosts=8, malformed_ratio=0.1, seed=5)
    batches = generate_traffic(
        "s3://ingest",
        start="2025-02-28T23:53:00Z",
        batches=2,
        rows_per_batch=1001,
        files_per_batch=2,
        options=options,
        storage=storage,
    )
    assert [b.batch_end_ts_iso for b in batches] == ["2025-02-28T23:53:41Z", "2025-03-01T00:08:41Z"]
    for generated in batches:
        assert len(generated.files) == 2 and generated.rows == 1001
        loc = parse_s3_uri(generated.files[0])
        key = parse_batch_key(loc.key, bucket=loc.bucket)
        assert (key.vendor_prefix, key.org1, key.org2, key.project_name) == ("paloalto", "acme", "hr", "ndr-x")
        assert key.mini_batch_s3_prefix == generated.mini_batch_s3_prefix
        info = storage.first_object(generated.mini_batch_s3_prefix)
        assert info is not None and info.last_modified.isoformat() == generated.batch_end_ts_iso.replace("Z", "+00:00")
    rows = read(storage, batches[0].files[0]) + read(storage, batches[0].files[1])
    assert len(rows) == 1001
    assert set(PALOALTO_FIELD_MAPPING.values()) <= set(rows[0])
    assert {"app", "from", "to", "proto", "action", "elapsed", "session_end_reason"} <= set(rows[0])
    assert Counter(r["type"] for r in rows) == {"TRAFFIC": 1001}
    assert Counter(r["dport"] for r in rows).most_common(1)[0][0] == 443
    assert 40 < sum(batches[0].malformed.values()) < 170  # ~10% of 1001
    assert sum(1 for r in rows if r["dport"] is None) == batches[0].malformed["null_port"]


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path: Path) -> None:
    one, two = LocalStorage(tmp_path / "a"), LocalStorage(tmp_path / "b")
    first = generate_traffic("s3://i", rows_per_batch=300, files_per_batch=3, storage=one, workers=1)
    second = generate_traffic("s3://i", rows_per_batch=300, files_per_batch=3, storage=two, workers=2)
    assert [one.read_bytes(u) for u in first[0].files] == [two.read_bytes(u) for u in second[0].files]
    other = generate_traffic("s3://i", rows_per_batch=300, options=TrafficOptions(seed=1), storage=two)
    assert other[0].mini_batch_id != first[0].mini_batch_id


def test_cli(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(
            [
                "s3://ingest",
                "--storage-root",
                str(tmp_path),
                "--rows-per-batch",
                "10",
                "--batches",
                "2",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["rows"] for line in lines] == [10, 10]
    assert (tmp_path / parse_s3_uri(lines[1]["mini_batch_s3_prefix"]).bucket).is_dir()
