"""Argument handling of `python -m runtime`: empty strings unset, --reference-ts-iso, --jobs, planned jobs."""

from __future__ import annotations

import pytest

from compiler.orchestration.flows import ENTRY_JOB, FLOWS
from runtime.entrypoint import build_parser, main, parse_args, unset_empty
from runtime.jobs.registry import REGISTRY
from runtime.jobs.spec_jobs import SPEC_JOBS


@pytest.mark.parametrize("job", sorted(set(REGISTRY) - {ENTRY_JOB}))
def test_empty_string_of_any_option_is_unset(job: str) -> None:
    parser = build_parser(REGISTRY[job])
    argv = [job, "--project-name", "p"]
    options = [a for a in vars(parser.parse_args(argv)) if a not in ("job_name", "project_name")]
    empties = [part for name in options for part in (f"--{name.replace('_', '-')}", "")]
    args = parser.parse_args([*argv, *empties])
    unset_empty(args)
    assert options and all(getattr(args, name) is None for name in options)
    assert args.project_name == "p"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["delta_builder"], "pass --mini-batch-id or --mini-batch-s3-prefix"),
        (["pair_counts_builder", "--mini-batch-id", ""], "pass --mini-batch-id or --mini-batch-s3-prefix"),
        (["delta_builder", "--mini-batch-id", "b", "--batch-end-ts-iso", "2025-01-15T10:09:00Z"], "or neither"),
        (["pipeline_backfill_historical_extractor", "--start-date", "2025-01-01"], "needs --start-date and --end-date"),
        (["pipeline_backfill_historical_extractor", "--start-date", "x", "--end-date", "y"], "must be YYYY-MM-DD"),
    ],
)
def test_missing_job_arguments_are_usage_errors(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--project-name", "p"]) == 2
    assert problem in capsys.readouterr().err


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
    args = parse_args(["delta_builder", "--project-name", "p", "--mini-batch-id", "b", "--reference-ts-iso", given])
    assert args.reference_ts_iso == normalised


def test_bad_reference_ts_iso_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delta_builder", "--project-name", "p", "--reference-ts-iso", "yesterday"]) == 2
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


def test_unknown_job_lists_the_runnable_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fg_z_builder", "--project-name", "p"]) == 2
    err = capsys.readouterr().err
    assert "unknown job 'fg_z_builder'" in err
    assert all(f"  {name} " in err for name in REGISTRY)


def test_help_lists_every_job_and_a_job_help_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in REGISTRY)
    assert main(["pipeline_backfill_historical_extractor", "--help"]) == 0
    own = capsys.readouterr().out
    assert "--start-date" in own and "--mini-batch-id" not in own


def test_options_of_another_job_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delta_builder", "--project-name", "p", "--start-date", "2025-01-01"]) == 2
    assert "unrecognized arguments: --start-date" in capsys.readouterr().err


def test_every_spec_job_of_the_registry_is_a_table_job() -> None:
    spec_jobs = {name for name, job in REGISTRY.items() if job.parse_spec is not None}
    assert spec_jobs <= SPEC_JOBS and ENTRY_JOB in REGISTRY and ENTRY_JOB not in SPEC_JOBS


def test_every_job_a_compiled_pipeline_runs_is_registered() -> None:
    compiled = {job for flow in FLOWS for job in flow.jobs} | {ENTRY_JOB}
    assert compiled - REGISTRY.keys() == set()
    assert compiled - {ENTRY_JOB} <= SPEC_JOBS
