"""Argument handling of `python -m runtime`: empty strings unset, --reference-ts-iso, --jobs, planned jobs."""

from __future__ import annotations

import json

import pytest

from compiler.orchestration.flows import ENTRY_JOB, FLOWS
from runtime.entrypoint import main, parse_args
from runtime.jobs import JOBS, PLANNED_JOBS, SPEC_JOBS


def test_empty_string_of_any_option_is_unset() -> None:
    argv = ["delta_builder", "--project-name", "p"]
    options = [a for a in vars(parse_args(argv)) if a not in ("job_name", "project_name", "jobs")]
    empties = [part for name in options for part in (f"--{name.replace('_', '-')}", "")]
    args = parse_args([*argv, *empties])
    assert all(getattr(args, name) is None for name in options)
    assert args.jobs == () and args.project_name == "p"


def test_empty_project_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delta_builder", "--project-name", ""]) == 2
    assert "--project-name must not be empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("2025-01-15T10:08:00Z", "2025-01-15T10:08:00Z"),
        ("2025-01-15T10:08:00.250+00:00", "2025-01-15T10:08:00.250Z"),
        ("2025-01-15T12:08:00+02:00", "2025-01-15T10:08:00Z"),
        ("2025-01-15T10:08:00", "2025-01-15T10:08:00Z"),
    ],
)
def test_reference_ts_iso_is_validated_and_normalised(given: str, normalised: str) -> None:
    args = parse_args(["fg_b_builder", "--project-name", "p", "--reference-ts-iso", given])
    assert args.reference_ts_iso == normalised


def test_bad_reference_ts_iso_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fg_b_builder", "--project-name", "p", "--reference-ts-iso", "yesterday"]) == 2
    assert "--reference-ts-iso 'yesterday' is not ISO-8601" in capsys.readouterr().err


def test_unknown_job_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no_such_job", "--project-name", "p"]) == 2
    assert "unknown job 'no_such_job'" in capsys.readouterr().err


def test_unknown_job_in_jobs_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["pipeline_entry", "--project-name", "p", "--jobs", "delta_builder,fg_z_builder,,typo"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--jobs names unknown job(s) fg_z_builder, typo" in err


@pytest.mark.parametrize("jobs", [[], ["--jobs", ""], ["--jobs", " , "]])
def test_pipeline_entry_needs_jobs(jobs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline_entry", "--project-name", "p", *jobs]) == 2
    assert "pipeline_entry needs --jobs" in capsys.readouterr().err


@pytest.mark.parametrize("job", sorted(PLANNED_JOBS))
def test_planned_jobs_fail_after_parsing_with_a_readable_cause(job: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [job, "--project-name", "p", "--feature-spec-version", "", "--reference-ts-iso", "2025-01-15T10:08:00Z"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    record = json.loads(lines[-1])
    assert captured.out == "" and len(lines) == 1
    assert record["event"] == "job_failed" and record["error"] == "JobNotImplemented"
    assert record["cause"] == f"job {job} is not implemented by this runtime version"


def test_every_compiled_job_is_known_to_the_runtime() -> None:
    compiled = {job for flow in FLOWS for job in flow.jobs} | {ENTRY_JOB}
    assert compiled <= JOBS.keys() | PLANNED_JOBS
    assert not PLANNED_JOBS & JOBS.keys()
    assert compiled - {ENTRY_JOB} <= SPEC_JOBS and ENTRY_JOB not in SPEC_JOBS
