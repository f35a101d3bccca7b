"""The registry is the list of runnable jobs; the other places a job name must appear agree with it.

Adding a job is its folder and one registry line (ARCHITECTURE.md, "Adding a runtime job"); a job that reads a
spec item also needs its schema and its name in the parameters table's job names. These tests name whichever
of those is missing.
"""

from __future__ import annotations

from pathlib import Path

from runtime.contract import SPEC_JOB_NAMES
from runtime.jobs.job import Job
from runtime.jobs.registry import REGISTRY

REPO = Path(__file__).resolve().parents[3]
PARAMETERS_ONLY = {"project_parameters"}  # an item of the table that no job runs: the project's shared settings


def _spec_jobs() -> set[str]:
    return {name for name, job in REGISTRY.items() if job.parse_spec is not None}


def test_every_job_folder_is_registered_under_its_own_name() -> None:
    folders = {p.name for p in (REPO / "runtime" / "jobs").iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(REGISTRY)
    assert all(isinstance(job, Job) and job.name == name for name, job in REGISTRY.items())


def test_the_table_job_names_are_the_spec_reading_jobs() -> None:
    assert len(SPEC_JOB_NAMES) == len(set(SPEC_JOB_NAMES))
    assert set(SPEC_JOB_NAMES) == _spec_jobs() | PARAMETERS_ONLY


def test_every_table_job_name_has_a_schema_and_nothing_else_does() -> None:
    schemas = {p.name.removesuffix(".schema.json") for p in (REPO / "schemas" / "jobs").glob("*.schema.json")}
    assert schemas == set(SPEC_JOB_NAMES)
