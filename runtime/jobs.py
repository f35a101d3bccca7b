"""The runnable jobs: name -> function(args, context) -> summary dict."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from runtime.batch import resolve_batch
from runtime.config import load_job_spec, resolve_table_name
from runtime.config.ddb import dynamodb_client
from runtime.config.delta import DeltaJobSpec
from runtime.config.pair_counts import PairCountsJobSpec
from runtime.errors import RuntimeJobError, SpecError
from runtime.storage import Storage


@dataclass(frozen=True)
class JobContext:
    storage: Storage
    spark_master: str | None
    table_name: str | None


def _spark(context: JobContext) -> Any:
    from runtime.spark import build_spark_session

    return build_spark_session("ndrc-runtime", master=context.spark_master)


def _batch(args: argparse.Namespace, context: JobContext, version: str) -> Any:
    return resolve_batch(
        context.storage,
        project_name=args.project_name,
        feature_spec_version=version,
        mini_batch_id=args.mini_batch_id,
        mini_batch_s3_prefix=args.mini_batch_s3_prefix,
        batch_start_ts_iso=args.batch_start_ts_iso,
        batch_end_ts_iso=args.batch_end_ts_iso,
    )


def _summary(result: Any) -> dict[str, Any]:
    return {
        "output_uri": result.output_uri,
        "partition_keys": list(result.partition_keys),
        "metrics_uri": result.metrics_uri,
        "metrics": result.metrics,
    }


def run_delta(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.delta.builder import run_delta_builder

    spec = load_job_spec(args.project_name, "delta_builder", args.feature_spec_version, table_name=context.table_name)
    if not isinstance(spec, DeltaJobSpec):
        raise SpecError("delta_builder item did not parse as a delta builder spec")
    batch = _batch(args, context, args.feature_spec_version or spec.feature_spec_version)
    return _summary(run_delta_builder(_spark(context), spec, batch, context.storage))


def run_pair_counts(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.pair_counts import run_pair_counts_builder

    spec = load_job_spec(
        args.project_name, "pair_counts_builder", args.feature_spec_version, table_name=context.table_name
    )
    if not isinstance(spec, PairCountsJobSpec):
        raise SpecError("pair_counts_builder item did not parse as a pair counts spec")
    version = args.feature_spec_version or spec.feature_spec_version
    if not version:
        raise RuntimeJobError("pass --feature-spec-version: the pair_counts_builder item is unversioned")
    batch = _batch(args, context, version)
    return _summary(run_pair_counts_builder(_spark(context), spec, batch, context.storage))


def run_extractor_job(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.orchestration.callback import stored_task_token
    from runtime.orchestration.extractor import ExtractorRequest, run_extractor

    if not args.start_date or not args.end_date:
        raise RuntimeJobError("the historical extractor needs --start-date and --end-date (YYYY-MM-DD)")
    try:
        start, end = date.fromisoformat(args.start_date), date.fromisoformat(args.end_date)
    except ValueError as err:
        raise RuntimeJobError(f"--start-date/--end-date must be YYYY-MM-DD ({err})") from None
    request = ExtractorRequest(
        args.project_name,
        start,
        end,
        args.feature_spec_version,
        args.input_s3_prefix,
        args.output_s3_prefix,
        stored_task_token(args.callback_key),
    )
    result = run_extractor(
        request,
        storage=context.storage,
        ddb_client=dynamodb_client(),
        table_name=resolve_table_name(context.table_name),
        routing_table=args.routing_table_name,
    )
    return {"windows": len(result.windows), "skipped": len(result.skipped), "output_uri": result.output_uri}


def run_entry_job(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.orchestration.callback import stored_task_token
    from runtime.orchestration.entry import EntryRequest, run_pipeline_entry

    token = stored_task_token(args.callback_key)
    request = EntryRequest(args.project_name, tuple(args.jobs), args.feature_spec_version, token)
    return run_pipeline_entry(request, table_name=context.table_name, ddb_client=dynamodb_client())


JOBS: dict[str, Callable[[argparse.Namespace, JobContext], dict[str, Any]]] = {
    "delta_builder": run_delta,
    "pair_counts_builder": run_pair_counts,
    "pipeline_backfill_historical_extractor": run_extractor_job,
    "pipeline_entry": run_entry_job,
}

# Jobs the compiled pipelines reference that this runtime version does not implement yet: accepted by
# the parser so that a step fails with a readable cause instead of a usage error.
PLANNED_JOBS: frozenset[str] = frozenset(
    {
        "fg_a_builder",
        "fg_b_builder",
        "fg_c_builder",
        "inference_predictions",
        "if_training",
        "machine_inventory_unload",
        "pipeline_training_data_verifier",
        "pipeline_missing_feature_creation",
        "pipeline_model_publish",
        "pipeline_model_attributes",
        "pipeline_model_deploy",
    }
)
# Names `pipeline_entry --jobs` accepts: every job with a spec item, and the project's parameters.
SPEC_JOBS: frozenset[str] = frozenset(JOBS.keys() - {"pipeline_entry"}) | PLANNED_JOBS | {"project_parameters"}
