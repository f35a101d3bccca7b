"""The SageMaker pipelines as data: their run parameters and Processing steps, one table per flow.

`compiler.orchestration.sagemaker` builds pipeline definitions from these; the state machines read
the same tables (which jobs a flow needs, which step parameters carry a job's processing resources).
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.orchestration import names

ENTRY_STEP = "ResolveSpecs"
ENTRY_JOB = "pipeline_entry"

# Spec field (job `spec.processing` or item `pipeline_defaults`) -> suffix of the step's pipeline parameter.
RESOURCE_FIELDS: tuple[tuple[str, str], ...] = (
    ("instance_type", "InstanceType"),
    ("instance_count", "InstanceCount"),
    ("volume_size_gb", "VolumeSizeInGB"),
    ("max_runtime_seconds", "MaxRuntimeInSeconds"),
    ("image_uri", "ImageUri"),
)
DEFAULT_INSTANCE_COUNT = 1
DEFAULT_VOLUME_SIZE_GB = 30


# AWS: a processing job's container argument is at most 256 characters (AppSpecification.ContainerArguments).
MAX_CONTAINER_ARGUMENT = 256
# `callback#` + a Step Functions execution name (at most 80 characters).
CALLBACK_KEY_PREFIX = "callback#"
MAX_CALLBACK_KEY = len(CALLBACK_KEY_PREFIX) + 80


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: str
    default: str | int | None = None
    # The longest value a starter passes: the state machines check what they pass against it, and every
    # parameter used as a container argument must fit MAX_CONTAINER_ARGUMENT (compiler/orchestration/limits.py).
    max_length: int = MAX_CONTAINER_ARGUMENT


@dataclass(frozen=True)
class Step:
    name: str
    job: str
    engine: str  # "spark": smspark-submit (multi-instance Spark); "python": a single-process job
    depends_on: tuple[str, ...] = ()
    instance_kind: str = "processing"  # the key of ndrc.yaml `instance_types` giving the default
    max_runtime_seconds: int = 3600
    optional: bool = False  # runs only for projects with the job's spec: the entry checks do not require it


@dataclass(frozen=True)
class Flow:
    key: str
    description: str
    parameters: tuple[Parameter, ...]
    arguments: tuple[tuple[str, str], ...]  # runtime CLI option -> run parameter, passed to every step
    steps: tuple[Step, ...]
    entry_arguments: tuple[tuple[str, str], ...] = ()  # extra options of the entry step

    @property
    def jobs(self) -> tuple[str, ...]:
        return tuple(step.job for step in self.steps)

    @property
    def required_jobs(self) -> tuple[str, ...]:
        """The jobs whose specs must exist before the flow starts (optional steps skip themselves)."""
        return tuple(step.job for step in self.steps if not step.optional)


def _p(name: str, description: str, default: str | None = None, max_length: int = MAX_CONTAINER_ARGUMENT) -> Parameter:
    return Parameter(name, "String", description, default, max_length)


PROJECT = _p("ProjectName", "Project (partition key of the parameters table).")
VERSION = _p("FeatureSpecVersion", "Feature spec version of the job specs to run.")
OPTIONAL_VERSION = _p("FeatureSpecVersion", "Feature spec version; empty: the runtime resolves it.", "")
REFERENCE = _p("ReferenceTsIso", "Reference time (ISO-8601 UTC); empty: the start of the run.", "")
IDENTITY_ARGUMENTS = (("--project-name", "ProjectName"), ("--feature-spec-version", "FeatureSpecVersion"))
REFERENCE_ARGUMENTS = (*IDENTITY_ARGUMENTS, ("--reference-ts-iso", "ReferenceTsIso"))

# The parameters the state machines start the 15-minute pipeline with (CONTRACT), in this order.
BATCH_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("ProjectName", "project_name"),
    ("FeatureSpecVersion", "feature_spec_version"),
    ("MiniBatchId", "mini_batch_id"),
    ("MiniBatchS3Prefix", "mini_batch_s3_prefix"),
    ("BatchStartTsIso", "batch_start_ts_iso"),
    ("BatchEndTsIso", "batch_end_ts_iso"),
)

FLOWS: tuple[Flow, ...] = (
    Flow(
        names.FEATURE_15M,
        "15-minute feature and inference pipeline of one mini-batch: delta -> FG-A; pair counts; FG-C; inference.",
        (
            PROJECT,
            VERSION,
            _p("MiniBatchId", "The mini-batch folder name."),
            _p("MiniBatchS3Prefix", "s3://<bucket>/.../<mini_batch_id>/"),
            _p("BatchStartTsIso", "Window start: the source timestamp floored to minute 08/23/38/53."),
            _p("BatchEndTsIso", "Window end: the source timestamp."),
        ),
        (
            *IDENTITY_ARGUMENTS,
            ("--mini-batch-id", "MiniBatchId"),
            ("--mini-batch-s3-prefix", "MiniBatchS3Prefix"),
            ("--batch-start-ts-iso", "BatchStartTsIso"),
            ("--batch-end-ts-iso", "BatchEndTsIso"),
        ),
        (
            Step("DeltaBuilder", "delta_builder", "spark", (ENTRY_STEP,)),
            Step("FgABuilder", "fg_a_builder", "spark", ("DeltaBuilder",)),
            Step("PairCountsBuilder", "pair_counts_builder", "spark", (ENTRY_STEP,)),
            Step("FgCBuilder", "fg_c_builder", "spark", ("FgABuilder", "PairCountsBuilder")),
            Step("InferencePredictions", "inference_predictions", "spark", ("FgCBuilder",)),
            Step(
                "PredictionFeatureJoin",
                "pipeline_prediction_feature_join",
                "spark",
                ("InferencePredictions",),
                optional=True,
            ),
        ),
    ),
    Flow(
        names.FG_B_BASELINE,
        "FG-B host baselines over the configured horizons (7d/30d), ending at the reference time.",
        (PROJECT, VERSION, REFERENCE),
        REFERENCE_ARGUMENTS,
        (Step("FgBBuilder", "fg_b_builder", "spark", (ENTRY_STEP,), max_runtime_seconds=4 * 3600),),
    ),
    Flow(
        names.BACKFILL_EXTRACTOR,
        "Historical extractor: enumerates batch folders of a date range and reports their windows.",
        (
            PROJECT,
            OPTIONAL_VERSION,
            _p("StartDate", "First day (YYYY-MM-DD, UTC)."),
            _p("EndDate", "Last day, inclusive (YYYY-MM-DD, UTC)."),
            _p(
                "CallbackKey",
                "Lock-table key of the Step Functions task token the extractor reports to; empty: none.",
                "",
                MAX_CALLBACK_KEY,
            ),
            _p("WindowsOutputS3Prefix", "Where the windows JSON goes; empty: the spec/defaults.", ""),
        ),
        (
            *IDENTITY_ARGUMENTS,
            ("--start-date", "StartDate"),
            ("--end-date", "EndDate"),
            ("--callback-key", "CallbackKey"),
            ("--output-s3-prefix", "WindowsOutputS3Prefix"),
        ),
        (
            Step(
                "HistoricalExtractor",
                "pipeline_backfill_historical_extractor",
                "python",
                (ENTRY_STEP,),
                max_runtime_seconds=2 * 3600,
            ),
        ),
        entry_arguments=(("--callback-key", "CallbackKey"),),
    ),
    Flow(
        names.IF_TRAINING,
        "Isolation Forest training: verify data -> create missing features -> train -> publish -> "
        "attributes -> deploy.",
        (PROJECT, VERSION, REFERENCE),
        REFERENCE_ARGUMENTS,
        (
            Step("TrainingDataVerifier", "pipeline_training_data_verifier", "spark", (ENTRY_STEP,)),
            Step(
                "MissingFeatureCreation",
                "pipeline_missing_feature_creation",
                "spark",
                ("TrainingDataVerifier",),
                max_runtime_seconds=4 * 3600,
            ),
            Step(
                "IfTraining",
                "if_training",
                "python",
                ("MissingFeatureCreation",),
                instance_kind="training",
                max_runtime_seconds=8 * 3600,
            ),
            Step("ModelPublish", "pipeline_model_publish", "python", ("IfTraining",)),
            Step("ModelAttributes", "pipeline_model_attributes", "python", ("ModelPublish",)),
            Step("ModelDeploy", "pipeline_model_deploy", "python", ("ModelAttributes",)),
        ),
    ),
    Flow(
        names.MACHINE_INVENTORY_UNLOAD,
        "Monthly machine inventory snapshot unloaded from Redshift (FG-B's ip -> machine mapping).",
        (PROJECT, OPTIONAL_VERSION, REFERENCE),
        REFERENCE_ARGUMENTS,
        (
            Step(
                "MachineInventoryUnload", "machine_inventory_unload", "python", (ENTRY_STEP,), max_runtime_seconds=7200
            ),
        ),
    ),
)
FLOWS_BY_KEY: dict[str, Flow] = {flow.key: flow for flow in FLOWS}


def resource_parameter(step: Step, suffix: str) -> str:
    return f"{step.name}{suffix}"
