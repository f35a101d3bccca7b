"""`pipeline_entry`: the `ResolveSpecs` step of every compiled pipeline.

Reads every spec the pipeline needs in one `BatchGetItem` pass and fails fast when any is missing.
With a task token, a failure is reported with `SendTaskFailure` (the extractor step completes the token
on success).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.config import resolve_job_specs
from runtime.config.ddb import resolve_table_name
from runtime.errors import SpecsMissingError
from runtime.orchestration import callback

SPECS_MISSING_ERROR = "SpecsMissing"


@dataclass(frozen=True)
class EntryRequest:
    project_name: str
    jobs: tuple[str, ...]
    feature_spec_version: str | None = None
    task_token: str | None = None


def run_pipeline_entry(
    request: EntryRequest,
    *,
    table_name: str | None = None,
    ddb_client: Any = None,
    sfn_client: Any = None,
) -> dict[str, Any]:
    """Resolve every spec of `request.jobs`; the summary maps each job to the sort key it resolved to."""
    try:
        table = resolve_table_name(table_name)
        resolved = resolve_job_specs(
            request.project_name, request.jobs, request.feature_spec_version, table_name=table, client=ddb_client
        )
    except Exception as err:
        if request.task_token:
            error = SPECS_MISSING_ERROR if isinstance(err, SpecsMissingError) else type(err).__name__
            callback.send_failure(request.task_token, error, " ".join(str(err).split()), sfn_client)
        raise
    return {
        "project_name": request.project_name,
        "feature_spec_version": request.feature_spec_version,
        "table": table,
        "specs": {job: resolved.keys[job] for job in request.jobs},
    }


def split_jobs(value: str) -> tuple[str, ...]:
    """`a, b,a` -> ("a", "b"): names stripped, empties dropped, first occurrence kept."""
    return tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))
