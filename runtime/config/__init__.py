"""Job spec loading from the `ml_projects_parameters` table (CONTRACT, "Runtime Python API").

Each job's typed spec lives with the job (`runtime/jobs/<job_name>/spec.py`); the loader dispatches
through the job registry.
"""

from runtime.config.ddb import resolve_table_name
from runtime.config.loader import (
    LoadedSpec,
    ResolvedSpecs,
    load_job_spec,
    parse_item,
    resolve_job_specs,
)
from runtime.config.output import OutputSpec
from runtime.config.payload import JobPayload, ProjectParameters

__all__ = [
    "JobPayload",
    "LoadedSpec",
    "OutputSpec",
    "ProjectParameters",
    "ResolvedSpecs",
    "load_job_spec",
    "parse_item",
    "resolve_job_specs",
    "resolve_table_name",
]
