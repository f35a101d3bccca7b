"""The orchestration contract: facts the compiler writes and the runtime reads, defined once.

Plain data and pure functions only (no pyspark, no boto3): the compiler imports this module, and an
import-linter contract keeps it dependency-free.
"""

from __future__ import annotations

# The batch window policy: a window starts at the source timestamp floored to the latest earlier-or-equal
# of these minutes; the live schedule fires at exactly those minutes.
WINDOW_FLOOR_MINUTES: tuple[int, ...] = (8, 23, 38, 53)
WINDOW_CRON_EXPRESSION = "8-59/15 * * * ? *"

# Environment variables the runtime reads (the pipelines and `ndrc run` set them).
PARAMETERS_TABLE_ENV = "ML_PROJECTS_PARAMETERS_TABLE_NAME"
LEGACY_PARAMETERS_TABLE_ENV = "JOB_SPEC_DDB_TABLE_NAME"
ROUTING_TABLE_ENV = "ML_PROJECTS_ROUTING_TABLE_NAME"
LOCK_TABLE_ENV = "ML_PROJECTS_BATCH_LOCK_TABLE_NAME"
STORAGE_ROOT_ENV = "NDRC_LOCAL_STORAGE_ROOT"
ENVIRONMENT_NAME_ENV = "NDRC_ENV"
RUNTIME_DIGEST_ENV = "NDRC_RUNTIME_SHA256"

# Job names that may have an item in the parameters table (the seed's "Job Names (Current Pipelines)"):
# a fact of the table, not of one runtime version (the compiler validates spec paths against it; the
# runtime's `pipeline_entry --jobs` accepts each of them whether or not a runnable job is registered).
# The project-wide parameters item (its payload under `parameters`): the pipelines resolve a project's
# feature_spec_version and defaults through it.
PROJECT_PARAMETERS_JOB = "project_parameters"

SPEC_JOB_NAMES: tuple[str, ...] = (
    "delta_builder",
    "fg_a_builder",
    "pair_counts_builder",
    "fg_b_builder",
    "fg_c_builder",
    "machine_inventory_unload",
    "inference_predictions",
    "if_training",
    PROJECT_PARAMETERS_JOB,
    "pipeline_backfill_historical_extractor",
    "pipeline_prediction_feature_join",
    "pipeline_training_data_verifier",
    "pipeline_missing_feature_creation",
    "pipeline_model_publish",
    "pipeline_model_attributes",
    "pipeline_model_deploy",
)

# The parameters table's sort key: `<job_name>#<feature_spec_version>`, or the bare job name (legacy item).
VERSION_DELIMITER = "#"


def sort_key(job_name: str, feature_spec_version: str | None) -> str:
    """The `job_name` sort-key value of a parameters item."""
    return f"{job_name}{VERSION_DELIMITER}{feature_spec_version}" if feature_spec_version else job_name


def split_sort_key(value: str) -> tuple[str, str | None]:
    """`fg_c_builder#v1` -> (`fg_c_builder`, `v1`); a legacy key has no version."""
    job, delimiter, version = value.partition(VERSION_DELIMITER)
    return job, (version if delimiter else None)


# The routing table's key: `<org1>#<org2>`.
def org_key(org1: str, org2: str) -> str:
    return f"{org1}#{org2}"


# The lock table: one item per started batch window, expired by DynamoDB's TTL. A backfill's callback item
# (same table, same key attribute) also holds the task token the extractor reports its windows to.
LOCK_KEY_ATTRIBUTE = "lock_key"
LOCK_TTL_ATTRIBUTE = "expires_at"
LOCK_TASK_TOKEN_ATTRIBUTE = "task_token"

# Where a mini-batch lands in the ingestion bucket.
BATCH_FILE_SUFFIX = ".json.gz"
BATCH_KEY_LAYOUT = "[<vendor>/]<org1>/<org2>/<project_name>/YYYY/MM/dd/<mini_batch_id>/<file>.json.gz"
