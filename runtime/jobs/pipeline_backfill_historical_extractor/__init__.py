"""`pipeline_backfill_historical_extractor`: historical batch folders -> the backfill's windows."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from runtime.config.ddb import dynamodb_client, resolve_table_name
from runtime.errors import JobUsageError
from runtime.jobs.job import Job, JobContext


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--start-date", help="first day, YYYY-MM-DD (UTC)")
    group.add_argument("--end-date", help="last day, inclusive, YYYY-MM-DD (UTC)")
    group.add_argument("--input-s3-prefix", help="override the ingestion prefix of the project")
    group.add_argument("--output-s3-prefix", help="where the windows JSON goes")
    group.add_argument(
        "--callback-key", help="key of the Step Functions task token in the lock table (reported to on the end)"
    )
    group.add_argument("--routing-table-name", help="routing table (else ML_PROJECTS_ROUTING_TABLE_NAME)")


def date_range(args: argparse.Namespace) -> tuple[date, date]:
    if not args.start_date or not args.end_date:
        raise JobUsageError("the historical extractor needs --start-date and --end-date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(args.start_date), date.fromisoformat(args.end_date)
    except ValueError as err:
        raise JobUsageError(f"--start-date/--end-date must be YYYY-MM-DD ({err})") from None


def check_arguments(args: argparse.Namespace) -> None:
    date_range(args)


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.orchestration.callback import stored_task_token
    from runtime.orchestration.extractor import ExtractorRequest, run_extractor

    start, end = date_range(args)
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


JOB = Job(
    name="pipeline_backfill_historical_extractor",
    summary="enumerate historical batch folders and emit their windows for the backfill state machine",
    run=run,
    add_arguments=add_arguments,
    check_arguments=check_arguments,
)
