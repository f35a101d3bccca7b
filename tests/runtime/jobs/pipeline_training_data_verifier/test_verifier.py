"""`pipeline_training_data_verifier` through the runtime entry point, counts recomputed with pandas."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devtools.feature_fixture import Fixture, FixtureOptions, build_fixture, partition_files, write_fixture
from runtime.entrypoint import main
from runtime.storage import LocalStorage
from tests.runtime.conftest import job_argv

FG_A, FG_C = "s3://features/ndr-prod/v1/fg_a/", "s3://features/ndr-prod/v1/fg_c/"
REFERENCE = "2025-06-01T00:00:00Z"  # window 2025-01-01 .. 2025-05-01: 120 days
OPTIONS = FixtureOptions(hosts=5, days=120, windows_per_day=4, start=date(2025, 1, 1), hosts_without_baseline=1)
SPEC = {
    "feature_inputs": {"fg_a": {"s3_prefix": FG_A}, "fg_c": {"s3_prefix": FG_C}},
    "required_columns": ["sessions_cnt_w_15m", "bytes_src_sum_w_15m"],
    "thresholds": {
        "min_rows": 100,
        "min_hosts": 5,
        "max_null_fraction": Decimal("0.25"),
        "max_duplicate_key_fraction": 0,
    },
    "output": {"report_s3_prefix": "s3://models/verification/"},
}


@pytest.fixture(scope="module")
def fixture() -> Fixture:
    return build_fixture(OPTIONS)


def _setup(root: Path, fixture: Fixture, params_table: str, ddb_put: Any, spec: dict[str, Any] = SPEC) -> LocalStorage:
    storage = LocalStorage(root)
    write_fixture(fixture, FG_A, FG_C, storage.write_bytes)
    ddb_put(params_table, {"project_name": "ndr-prod", "job_name": "pipeline_training_data_verifier#v1", "spec": spec})
    return storage


def _run(params_table: str, root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = main(job_argv("pipeline_training_data_verifier", params_table, root, "--reference-ts-iso", REFERENCE))
    captured = capsys.readouterr()
    report = json.loads((root / "models/verification/ndr-prod/v1/2025-06-01/verification.json").read_text())
    return code, report, captured.err


def _drop_days(storage: LocalStorage, prefix: str, days: list[str]) -> None:
    for day in days:
        shutil.rmtree(storage.local_path(f"{prefix}feature_spec_version=v1/dt={day}"))


@pytest.mark.emulator
def test_a_covered_window_passes_with_counts_matching_pandas(
    fixture: Fixture, params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(tmp_path, fixture, params_table, ddb_put)
    code, report, err = _run(params_table, tmp_path, capsys)
    assert code == 0, err
    assert report["passed"] and report["violations"] == []
    days = fixture.fg_a["window_start_ts"].dt.strftime("%Y-%m-%d")
    expected_rows = days.value_counts().to_dict()
    assert {d: v["fg_a_rows"] for d, v in report["per_day"].items()} == expected_rows
    assert {d: v["windows"] for d, v in report["per_day"].items()} == dict.fromkeys(expected_rows, 4)
    assert report["measured"]["day_coverage"] == 1.0 and report["measured"]["window_coverage"] == 4 / 96
    assert report["measured"]["rows"] == len(fixture.fg_a) and report["measured"]["hosts"] == 5
    null_share = fixture.fg_c["sessions_cnt_w_15m_z_7d"].isna().mean()
    assert report["null_fraction"]["sessions_cnt_w_15m_z_7d"] == pytest.approx(null_share, rel=1e-12)


@pytest.mark.emulator
def test_small_gaps_pass_and_are_listed_for_backfill(
    fixture: Fixture, params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = _setup(tmp_path, fixture, params_table, ddb_put)
    gone = ["2025-02-03", "2025-02-04", "2025-03-10"]
    _drop_days(storage, FG_C, gone)
    code, report, err = _run(params_table, tmp_path, capsys)
    assert code == 0, err
    assert report["missing_days"] == {"fg_a": [], "fg_c": gone}
    assert report["measured"]["day_coverage"] == pytest.approx(117 / 120, rel=1e-12)


@pytest.mark.emulator
def test_coverage_below_the_threshold_fails_with_a_readable_cause(
    fixture: Fixture, params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = _setup(tmp_path, fixture, params_table, ddb_put)
    _drop_days(storage, FG_A, [f"2025-03-{d:02d}" for d in range(1, 21)])
    code, report, err = _run(params_table, tmp_path, capsys)
    cause = json.loads(err.strip().splitlines()[-1])["cause"]
    assert code == 1 and not report["passed"]
    assert "day coverage (100 of 120 days have FG-A and FG-C partitions) 0.8333 is below min_day_coverage 0.9" in cause
    assert "verification.json" in cause


@pytest.mark.emulator
def test_schema_drift_and_missing_required_columns_are_violations(
    fixture: Fixture, params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {**SPEC, "required_columns": ["sessions_cnt_w_15m", "no_such_column"], "fail_on_violation": False}
    storage = _setup(tmp_path, fixture, params_table, ddb_put, spec)
    day = fixture.fg_a[fixture.fg_a["window_start_ts"].dt.strftime("%Y-%m-%d") == "2025-01-05"].copy()
    day["sessions_cnt_w_15m"] = day["sessions_cnt_w_15m"].astype(float)
    day["new_metric_w_15m"] = 1
    for uri, data in partition_files(day, FG_A, "v1").items():
        storage.write_bytes(uri, data)
    code, report, err = _run(params_table, tmp_path, capsys)
    assert code == 0, err  # fail_on_violation: false only reports
    [drift] = report["schema_drift"]["fg_a"]
    assert drift["dt"] == "2025-01-05" and drift["extra"] == ["new_metric_w_15m"]
    assert drift["changed_types"] == {"sessions_cnt_w_15m": ["int64", "double"]}
    assert any("required columns missing from the joined data: no_such_column" in v for v in report["violations"])


ATTRIBUTES = "s3://models/attributes/"
ARTIFACTS = "s3://models/artifacts/"


def _expected_psi(values: Any, histogram: dict[str, Any]) -> float:
    """PSI recomputed with pandas.cut over the same bins (right-closed), shares floored at 1e-4."""
    import math

    import pandas as pd

    bins = [-math.inf, *histogram["edges"], math.inf]
    actual = pd.cut(values, bins=bins, right=True).value_counts(sort=False).to_numpy() / len(values)
    actual = [*actual, float(values.isna().mean())]
    expected = [*histogram["shares"], histogram["missing_share"]]
    return sum(
        (max(a, 1e-4) - max(e, 1e-4)) * math.log(max(a, 1e-4) / max(e, 1e-4))
        for a, e in zip(actual, expected, strict=True)
    )


@pytest.mark.emulator
def test_max_psi_compares_the_window_with_the_model_in_service(
    fixture: Fixture, params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from runtime.modelops.drift import reference_histogram
    from tests.runtime.modelops.artifact_fixture import write_artifact

    spec = {**SPEC, "thresholds": {**SPEC["thresholds"], "max_psi": Decimal("0.25")}}
    storage = _setup(tmp_path, fixture, params_table, ddb_put, spec)
    ddb_put(
        params_table,
        {
            "project_name": "ndr-prod",
            "job_name": "pipeline_model_attributes#v1",
            "spec": {"output": {"s3_prefix": ATTRIBUTES}},
        },
    )
    sessions, bytes_src = fixture.fg_a["sessions_cnt_w_15m"], fixture.fg_a["bytes_src_sum_w_15m"]
    distributions = {
        "sessions_cnt_w_15m": reference_histogram((sessions * 3).to_numpy(dtype=float)).to_dict(),  # shifted
        "bytes_src_sum_w_15m": reference_histogram(bytes_src.to_numpy(dtype=float)).to_dict(),  # the same data
    }
    uri = write_artifact(storage, ARTIFACTS, "ndr-prod", "m-prev", extra={"feature_distributions": distributions})
    storage.write_bytes(
        f"{ATTRIBUTES}latest.json",
        json.dumps({"model_version": "m-prev", "feature_names": ["f1"], "lineage": {"artifact_uri": uri}}).encode(),
    )
    code, report, err = _run(params_table, tmp_path, capsys)
    expected = _expected_psi(sessions.astype(float), distributions["sessions_cnt_w_15m"])
    assert expected > 0.25
    assert report["psi"]["sessions_cnt_w_15m"] == pytest.approx(expected, rel=1e-9)
    assert report["psi"]["bytes_src_sum_w_15m"] == 0.0
    assert report["measured"]["max_psi"] == report["psi"]["sessions_cnt_w_15m"]
    assert report["psi_reference"] == f"model m-prev ({uri})"
    cause = json.loads(err.strip().splitlines()[-1])["cause"]
    assert code == 1
    assert f"PSI of sessions_cnt_w_15m against model m-prev ({uri}) {expected:.4g} is above max_psi 0.25" in cause


@pytest.mark.emulator
def test_max_psi_without_a_model_in_service_is_reported_as_not_evaluated(
    fixture: Fixture, params_table: str, ddb_put: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {**SPEC, "thresholds": {**SPEC["thresholds"], "max_psi": Decimal("0.25")}}
    _setup(tmp_path, fixture, params_table, ddb_put, spec)
    code, report, err = _run(params_table, tmp_path, capsys)
    assert code == 0, err
    assert report["psi"] == {} and "max_psi" not in report["measured"]
    assert report["not_evaluated"] == {
        "max_psi": "no pipeline_model_attributes item, so no model in service to compare with"
    }
