"""`pipeline_missing_feature_creation`: plan from the verifier's report, bounded, idempotent, readable failures.

The FG builders are not registered on this branch: the end-to-end test checks the readable failure; the
dispatch test registers a stand-in `fg_c_builder` (a plain Job writing one file per mini-batch) to check
the arguments each window gets and that a rerun rewrites the same partitions.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runtime.entrypoint import main
from runtime.jobs.job import Job, JobContext, add_batch_arguments, check_batch_arguments
from runtime.jobs.registry import REGISTRY
from runtime.storage import LocalStorage
from runtime.training.backfill import plan_backfill
from tests.runtime.conftest import job_argv

REFERENCE = "2025-06-01T00:00:00Z"
REPORT = "s3://models/verification/ndr-prod/v1/2025-06-01/verification.json"
MANIFEST = "models/missing/ndr-prod/v1/2025-06-01/missing_features.json"


def test_the_plan_covers_each_missing_day_window_by_window_and_is_bounded() -> None:
    plan = plan_backfill({"fg_a": ["2025-02-03"], "fg_c": ["2025-02-03", "2025-01-10"]}, max_windows=100)
    assert plan.deferred == 2 * 96 - 100 and len(plan.tasks) == 100
    first = plan.tasks[0]
    assert (first.day, first.start, first.jobs) == (
        "2025-01-10",
        datetime(2025, 1, 10, 0, 8, tzinfo=UTC),
        ("fg_c_builder",),
    )
    assert plan.tasks[95].start == datetime(2025, 1, 10, 23, 53, tzinfo=UTC)
    assert (
        plan.tasks[96].jobs == ("fg_a_builder", "fg_c_builder")
        and plan.tasks[96].mini_batch_id == "backfill-20250203T0008"
    )


def _setup(params_table: str, ddb_put: Any, root: Path, policy: str, max_windows: int) -> None:
    ddb_put(
        params_table,
        {
            "project_name": "ndr-prod",
            "job_name": "pipeline_training_data_verifier#v1",
            "spec": {"feature_inputs": {}, "output": {"report_s3_prefix": "s3://models/verification/"}},
        },
    )
    ddb_put(
        params_table,
        {
            "project_name": "ndr-prod",
            "job_name": "pipeline_missing_feature_creation#v1",
            "spec": {
                "feature_inputs": {},
                "missing_policy": policy,
                "max_windows_per_run": max_windows,
                "manifest_output": {"s3_prefix": "s3://models/missing/"},
            },
        },
    )
    LocalStorage(root).write_bytes(REPORT, json.dumps({"missing_days": {"fg_a": [], "fg_c": ["2025-02-03"]}}).encode())


def _main(params_table: str, root: Path) -> int:
    return main(job_argv("pipeline_missing_feature_creation", params_table, root, "--reference-ts-iso", REFERENCE))


@pytest.mark.emulator
def test_an_unregistered_builder_is_a_readable_failure(
    params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(REGISTRY, "fg_c_builder", raising=False)
    _setup(params_table, ddb_put, tmp_path, "recompute", 960)
    assert _main(params_table, tmp_path) == 1
    cause = json.loads(capsys.readouterr().err.strip().splitlines()[-1])["cause"]
    assert (
        cause
        == "fg_c_builder is not registered in this runtime, so the missing features of 2025-02-03 cannot be recomputed"
    )


@pytest.mark.emulator
def test_skip_only_records_the_missing_windows(
    params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(params_table, ddb_put, tmp_path, "skip", 960)
    assert _main(params_table, tmp_path) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["runs"] == [] and manifest["planned_windows"] == 96 and manifest["verification_report"] == REPORT


def _stand_in(calls: list[argparse.Namespace]) -> Job:
    def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
        calls.append(args)
        uri = f"s3://features/fg_c/dt={args.batch_start_ts_iso[:10]}/mini_batch_id={args.mini_batch_id}/part-0.parquet"
        context.storage.write_bytes(uri, args.batch_start_ts_iso.encode())
        return {"output_uri": uri}

    return Job("fg_c_builder", "stand-in", run, add_batch_arguments, check_arguments=check_batch_arguments)


@pytest.mark.emulator
def test_recompute_runs_the_builder_per_window_bounded_and_idempotent(
    params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[argparse.Namespace] = []
    monkeypatch.setitem(REGISTRY, "fg_c_builder", _stand_in(calls))
    _setup(params_table, ddb_put, tmp_path, "recompute", 10)
    assert _main(params_table, tmp_path) == 0, capsys.readouterr().err
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "features").rglob("*.parquet"))
    assert _main(params_table, tmp_path) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "features").rglob("*.parquet")) == files
    assert len(files) == 10 and len(calls) == 20
    first = calls[0]
    assert (first.project_name, first.feature_spec_version, first.mini_batch_id) == (
        "ndr-prod",
        "v1",
        "backfill-20250203T0008",
    )
    assert (first.batch_start_ts_iso, first.batch_end_ts_iso) == ("2025-02-03T00:08:00Z", "2025-02-03T00:23:00Z")
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["deferred_windows"] == 86 and len(manifest["runs"]) == 10
