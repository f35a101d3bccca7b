"""`machine_inventory_unload`: the monthly IP -> machine-name snapshot, unloaded from Redshift to S3.

Engine: `redshift` runs `UNLOAD ('<select>') TO '<output.s3_prefix>snapshot_month=<YYYY-MM>/' ...` through the
Redshift Data API; `duckdb` (the `local` environment) runs the same SELECT over local Parquet tables
(`local_engine.py`). The default is explicit: `duckdb` when the run has a local storage root
(`--storage-root` / NDRC_LOCAL_STORAGE_ROOT), `redshift` otherwise; `--unload-engine` overrides it.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from runtime.errors import JobUsageError
from runtime.jobs.job import Job, JobContext, SpecItem, load_spec
from runtime.jobs.machine_inventory_unload.spec import InventoryUnloadSpec
from runtime.storage import LocalStorage, as_dir

ENGINES = ("redshift", "duckdb")
DEFAULT_MAX_WAIT_SECONDS = 3600.0


def parse_spec(item: SpecItem) -> InventoryUnloadSpec:
    return InventoryUnloadSpec.from_payload(item.project_name, item.payload, item.where)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--unload-engine",
        metavar="{redshift,duckdb}",
        help="redshift (Data API UNLOAD) or duckdb (local Parquet tables); default: duckdb with a local "
        "storage root, else redshift",
    )
    group.add_argument(
        "--max-wait-seconds", metavar="SECONDS", help="give up on (and cancel) a statement after this long (3600)"
    )


def check_arguments(args: argparse.Namespace) -> None:
    """Checked after parsing because an empty value of any option means unset (pipeline parameters)."""
    if args.unload_engine is not None and args.unload_engine not in ENGINES:
        raise JobUsageError(f"--unload-engine must be one of {', '.join(ENGINES)} (got {args.unload_engine!r})")
    try:
        wait = float(args.max_wait_seconds) if args.max_wait_seconds is not None else DEFAULT_MAX_WAIT_SECONDS
    except ValueError:
        wait = -1.0
    if not wait > 0:
        raise JobUsageError(f"--max-wait-seconds must be a positive number (got {args.max_wait_seconds!r})")
    args.max_wait_seconds = wait


def snapshot_month(reference_ts_iso: str | None) -> str:
    """`YYYY-MM` of the reference time (UTC); an unset reference is the start of the run."""
    from runtime.orchestration.window import to_utc

    moment = to_utc(reference_ts_iso) if reference_ts_iso else datetime.now(UTC)
    return f"{moment:%Y-%m}"


def target_uri(spec: InventoryUnloadSpec, month: str) -> str:
    return f"{as_dir(spec.output.s3_prefix)}snapshot_month={month}/"


def chosen_engine(args: argparse.Namespace, context: JobContext) -> str:
    if args.unload_engine:
        return str(args.unload_engine)
    return "duckdb" if isinstance(context.storage, LocalStorage) else "redshift"


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.jobs.machine_inventory_unload import sql

    spec: InventoryUnloadSpec = load_spec(args, context, InventoryUnloadSpec)
    month = snapshot_month(args.reference_ts_iso)
    target = target_uri(spec, month)
    select = sql.build_select(spec.select)
    engine = chosen_engine(args, context)
    summary: dict[str, Any] = {
        "engine": engine,
        "snapshot_month": month,
        "output_uri": target,
        "partitioning": list(spec.output.partitioning),
    }
    if engine == "duckdb":
        from runtime.jobs.machine_inventory_unload.local_engine import run_local_unload

        if not isinstance(context.storage, LocalStorage):
            raise JobUsageError("--unload-engine duckdb needs a local storage root (--storage-root)")
        outcome = run_local_unload(
            context.storage, spec.redshift, sql.duckdb_sql(select), target, spec.output.extra_partitions
        )
        return {**summary, "sql": sql.duckdb_sql(select), "rows": outcome.rows, "files": list(outcome.files)}
    from runtime.jobs.machine_inventory_unload.data_api import PollPolicy, data_api_client, run_statement

    statement = sql.unload_statement(
        sql.redshift_sql(select), target, spec.redshift.iam_role, spec.output.extra_partitions
    )
    result = run_statement(
        data_api_client(spec.redshift), spec.redshift, statement, PollPolicy(max_wait_seconds=args.max_wait_seconds)
    )
    return {
        **summary,
        "sql": statement,
        "statement_id": result.statement_id,
        "statement_status": result.status,
        "rows": result.result_rows,
    }


JOB = Job(
    name="machine_inventory_unload",
    summary="monthly IP -> machine name snapshot: Redshift UNLOAD (Data API), or DuckDB over local tables",
    run=run,
    add_arguments=add_arguments,
    check_arguments=check_arguments,
    parse_spec=parse_spec,
)
