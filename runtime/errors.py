"""Domain exceptions of the runtime, each with a readable message (never a bare KeyError)."""

from __future__ import annotations


class RuntimeJobError(Exception):
    """Raised when a runtime job cannot proceed; the message is the one-line cause."""


class SpecError(RuntimeJobError, ValueError):
    """Raised when a job spec payload does not fit the shape the job needs."""


class SpecNotFoundError(RuntimeJobError, LookupError):
    """Raised when no item exists for a project/job/version in the parameters table."""


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
