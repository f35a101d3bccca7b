"""Job spec loading from the `ml_projects_parameters` table (CONTRACT, "Runtime Python API")."""

from runtime.config.ddb import resolve_table_name
from runtime.config.delta import DeltaJobSpec, DQSpec, EnrichmentSpec, InputSpec, OperatorSpec, RoleSpec
from runtime.config.loader import (
    LoadedSpec,
    ResolvedSpecs,
    load_job_spec,
    load_job_specs,
    parse_item,
    resolve_job_specs,
)
from runtime.config.output import OutputSpec
from runtime.config.pair_counts import PairCountsJobSpec, SegmentMapping
from runtime.config.payload import JobPayload, ProjectParameters

__all__ = [
    "DQSpec",
    "DeltaJobSpec",
    "EnrichmentSpec",
    "InputSpec",
    "JobPayload",
    "LoadedSpec",
    "OperatorSpec",
    "OutputSpec",
    "PairCountsJobSpec",
    "ProjectParameters",
    "ResolvedSpecs",
    "RoleSpec",
    "SegmentMapping",
    "load_job_spec",
    "load_job_specs",
    "parse_item",
    "resolve_job_specs",
    "resolve_table_name",
]
