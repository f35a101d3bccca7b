"""`python -m runtime fg_a_builder` (what `ndrc run` calls) from the published ndr-prod specs, on the emulator.

The items are the compiled `local` items of the golden file (what `ndrc publish` writes); traffic comes
from the generator, delta from `delta_builder`, and FG-A is checked against DuckDB over the delta output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest

from devtools.traffic import TrafficOptions, generate_traffic
from runtime.entrypoint import main
from runtime.storage import LocalStorage

pytestmark = [pytest.mark.spark, pytest.mark.emulator]

REPO = Path(__file__).resolve().parents[4]
GOLDEN = REPO / "tests" / "golden" / "dynamodb" / "ml_projects_parameters.jsonl"


def published_item(job_name: str) -> dict[str, Any]:
    for line in GOLDEN.read_text().splitlines():
        item = json.loads(line)["Item"]
        if item["project_name"]["S"] == "ndr-prod" and item["job_name"]["S"] == job_name:
            return dict(item)
    raise AssertionError(f"no published item ndr-prod/{job_name}")


def run(job: str, *args: str) -> int:
    return main([job, "--project-name", "ndr-prod", "--feature-spec-version", "v1", *args])


def test_fg_a_from_published_specs(
    spark: Any, params_table: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "s3"
    monkeypatch.setenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", params_table)
    monkeypatch.setenv("NDRC_LOCAL_STORAGE_ROOT", str(root))
    monkeypatch.setenv("NDRC_SPARK_MASTER", "local[2]")
    client = boto3.client("dynamodb")
    for job in ("delta_builder#v1", "fg_a_builder#v1"):
        client.put_item(TableName=params_table, Item=published_item(job))
    storage = LocalStorage(root)
    port_sets = REPO / "reference" / "port_sets" / "v1" / "port_sets.json"
    storage.write_bytes("s3://ndr-artifacts-local/reference/port_sets/v1/port_sets.json", port_sets.read_bytes())
    options = TrafficOptions(org1="globex", org2="hq", project_name="ndr-prod", hosts=8, seed=5)
    batches = generate_traffic(
        "s3://ndr-ingestion-local", batches=2, rows_per_batch=150, options=options, storage=storage
    )
    for generated in batches:
        assert run("delta_builder", "--mini-batch-s3-prefix", generated.mini_batch_s3_prefix) == 0
    capsys.readouterr()
    last = batches[-1]
    code = run(
        "fg_a_builder",
        "--mini-batch-id",
        last.mini_batch_id,
        "--batch-start-ts-iso",
        "2025-01-15T10:23:00Z",
        "--batch-end-ts-iso",
        last.batch_end_ts_iso,
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["status"] == "succeeded" and summary["metrics"]["window_label"] == "2025-01-15T10:23Z"
    assert summary["metrics"]["history_partitions_read"] == {"lookback30d": 0}  # nothing before this window
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    delta = f"read_parquet('{root}/ndr-features-local/ndr-prod/v1/delta/**/*.parquet', hive_partitioning = true)"
    want = dict(
        con.execute(
            f"""SELECT host_ip, count(*) FROM {delta} GROUP BY host_ip
                HAVING count(*) FILTER (WHERE mini_batch_id = '{last.mini_batch_id}') > 0"""
        ).fetchall()
    )
    fg_a = f"read_parquet('{root}/ndr-features-local/ndr-prod/v1/fg_a/**/*.parquet', hive_partitioning = true)"
    got = dict(con.execute(f"SELECT host_ip, sessions_cnt_w_1h FROM {fg_a}").fetchall())
    assert got == want and summary["metrics"]["hosts"] == len(want) > 0
    columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {fg_a}").fetchall()}
    assert {"sessions_cnt_w_15m", "sessions_cnt_w_24h", "high_risk_peers_cnt_w_1h"} <= columns
    assert not any(c.endswith("_w_8h") for c in columns)  # ndr-prod v1 asks for 15m, 1h and 24h
    # lookback30d.rare_thresholds destination_port, peer_ip, application: with no history every value is new
    rare = con.execute(
        f"SELECT sum(rare_application_cnt_w_15m), sum(new_application_cnt_w_15m), sum(rare_peer_ip_cnt_w_15m),"
        f" sum(new_destination_port_cnt_w_15m) FROM {fg_a}"
    ).fetchone()
    assert rare is not None and rare[0] == rare[1] > 0 and rare[2] > 0 and rare[3] > 0
