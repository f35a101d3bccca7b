"""Job names that may have an item in the parameters table, as a set (see `runtime.contract.SPEC_JOB_NAMES`)."""

from runtime.contract import SPEC_JOB_NAMES

SPEC_JOBS: frozenset[str] = frozenset(SPEC_JOB_NAMES)
