"""`python -m runtime` as `ndrc run` calls it: env-configured table and storage, exit codes, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.traffic import PALOALTO_FIELD_MAPPING, TrafficOptions, generate_traffic
from runtime.entrypoint import main

DELTA_SPEC = {
    "project_name": "ndr-demo",
    "job_name": "delta_builder",
    "feature_spec_version": "v1",
    "input": {"s3_prefix": "s3://ingest/paloalto/acme/finance/ndr-demo/", "field_mapping": PALOALTO_FIELD_MAPPING},
    "operators": [{"type": "window_bucket"}],
    "output": {"s3_prefix": "s3://features/delta/", "partition_keys": ["feature_spec_version", "dt"]},
}


def last_log(stderr: str) -> dict[str, Any]:
    return json.loads(stderr.strip().splitlines()[-1])


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no_such_job", "--project-name", "p"]) == 2
    assert main(["delta_builder"]) == 2
    assert "--project-name" in capsys.readouterr().err


def test_missing_table_configuration_is_a_one_line_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", raising=False)
    monkeypatch.delenv("JOB_SPEC_DDB_TABLE_NAME", raising=False)
    code = main(["delta_builder", "--project-name", "p", "--mini-batch-id", "b1", "--storage-root", str(tmp_path)])
    record = last_log(capsys.readouterr().err)
    assert code == 1
    assert record["event"] == "job_failed" and record["level"] == "error"
    assert "ML_PROJECTS_PARAMETERS_TABLE_NAME" in record["cause"] and "\n" not in record["cause"]


@pytest.mark.spark
@pytest.mark.emulator
def test_delta_builder_run_from_env(
    spark: Any,
    params_table: str,
    ddb_put: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "s3"
    monkeypatch.setenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", params_table)
    monkeypatch.setenv("NDRC_LOCAL_STORAGE_ROOT", str(root))
    monkeypatch.setenv("NDRC_SPARK_MASTER", "local[2]")
    ddb_put(params_table, {"project_name": "ndr-demo", "job_name": "delta_builder#v1", "spec": DELTA_SPEC})
    [batch] = generate_traffic(
        "s3://ingest", rows_per_batch=200, options=TrafficOptions(hosts=10, seed=3), storage=None
    )
    code = main(
        [
            "delta_builder",
            "--project-name",
            "ndr-demo",
            "--feature-spec-version",
            "v1",
            "--mini-batch-s3-prefix",
            batch.mini_batch_s3_prefix,
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["status"] == "succeeded" and summary["metrics"]["rows_in"] == 200
    assert summary["metrics"]["batch_start_ts_iso"] == "2025-01-15T10:08:00Z"  # from the files' LastModified
    assert summary["metrics"]["batch_end_ts_iso"] == batch.batch_end_ts_iso
    assert summary["metrics"]["mini_batch_id"] == batch.mini_batch_id
    assert summary["metrics"]["rows_valid"] == 200 - sum(batch.malformed.values())
    events = [json.loads(line)["event"] for line in captured.err.splitlines() if line.startswith("{")]
    assert events[0] == "job_started" and events[-1] == "job_succeeded"
    assert (root / "features/delta/feature_spec_version=v1/dt=2025-01-15").is_dir()


@pytest.mark.emulator
def test_module_entry_point_reports_missing_spec(params_table: str, aws_env: str, tmp_path: Path) -> None:
    env_args = ["--table-name", params_table, "--storage-root", str(tmp_path)]
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime",
            "pair_counts_builder",
            "--project-name",
            "ghost",
            "--feature-spec-version",
            "v1",
            "--mini-batch-id",
            "b1",
            *env_args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert process.returncode == 1 and process.stdout == ""
    record = last_log(process.stderr)
    assert record["error"] == "SpecNotFoundError" and "project_name='ghost'" in record["cause"]
