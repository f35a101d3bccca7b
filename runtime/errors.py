"""Domain exceptions of the runtime, each with a readable message (never a bare KeyError)."""

from __future__ import annotations

from dataclasses import dataclass


class RuntimeJobError(Exception):
    """Raised when a runtime job cannot proceed; the message is the one-line cause."""


class JobUsageError(RuntimeJobError):
    """Raised when the arguments a job needs are missing or contradict each other (exit code 2)."""


class SpecError(RuntimeJobError, ValueError):
    """Raised when a job spec payload does not fit the shape the job needs."""


class SpecNotFoundError(RuntimeJobError, LookupError):
    """Raised when no item exists for a project/job/version in the parameters table."""


@dataclass(frozen=True)
class MissingSpec:
    """One job without an item: the sort keys tried, in order, and a hint (e.g. the versions present)."""

    job_name: str
    keys_tried: tuple[str, ...]
    hint: str = ""


class SpecsMissingError(SpecNotFoundError):
    """Raised when one or more of the specs a pipeline needs have no item; lists every one of them."""

    def __init__(self, table: str, project_name: str, missing: tuple[MissingSpec, ...]) -> None:
        self.table, self.project_name, self.missing = table, project_name, missing
        primary = [spec.keys_tried[0] for spec in missing]
        details = "; ".join(
            f"{spec.job_name}: job_name {' or '.join(repr(k) for k in spec.keys_tried)}{spec.hint}" for spec in missing
        )
        super().__init__(
            f"no spec in table {table!r} for project_name={project_name!r}, job_name in {primary} "
            f"({len(missing)} missing; {details})"
        )


class SpecTableNotConfiguredError(RuntimeJobError):
    """Raised when no parameters table name is given by argument or environment."""


class UnsupportedSpecReferenceError(SpecError):
    """Raised when an item's spec is an S3 reference, which this runtime does not follow."""


class BatchKeyError(ValueError):
    """Raised when an S3 key does not fit the batch key layout of the orchestration contract."""


class BatchTimestampError(ValueError):
    """Raised when a source timestamp cannot be read as a point in time."""


class StorageError(RuntimeJobError):
    """Raised when a storage location cannot be mapped, read or written."""


class CallbackError(RuntimeJobError):
    """Raised when a Step Functions task callback cannot be delivered."""
