"""Historical extractor (`pipeline_backfill_historical_extractor`): batch folders -> backfill windows.

Listing cost grows with folders, not files: one delimiter listing per day and input prefix
(`.../<project>/YYYY/MM/dd/`) and one `MaxKeys`-bounded listing per batch folder for the
representative object whose LastModified is the source timestamp of the window.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from runtime.contract import BATCH_FILE_SUFFIX, BATCH_KEY_LAYOUT
from runtime.errors import BatchKeyError, RuntimeJobError
from runtime.jsonlog import log
from runtime.orchestration import callback
from runtime.orchestration.batch_key import parse_batch_key, representative_object
from runtime.orchestration.resolve import ProjectResolver
from runtime.orchestration.window import batch_window
from runtime.storage import Storage, join, parse_s3_uri

MAX_DAYS = 3660


@dataclass(frozen=True)
class ExtractorRequest:
    project_name: str
    start_date: date
    end_date: date
    feature_spec_version: str | None = None
    input_s3_prefix: str | None = None
    output_s3_prefix: str | None = None
    task_token: str | None = None


@dataclass(frozen=True)
class ExtractorResult:
    windows: list[dict[str, str]]
    skipped: list[dict[str, str]]
    output_uri: str | None


def days(start: date, end: date) -> Iterator[date]:
    if end < start:
        raise RuntimeJobError(f"end date {end} is before start date {start}")
    if (end - start).days >= MAX_DAYS:
        raise RuntimeJobError(f"date range {start}..{end} is longer than {MAX_DAYS} days")
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def _window(storage: Storage, folder: str, resolver: ProjectResolver) -> dict[str, str]:
    first = representative_object(storage, folder)
    if first is None:
        raise BatchKeyError(f"batch folder {folder} holds no {BATCH_FILE_SUFFIX} objects")
    loc = parse_s3_uri(first.uri)
    key = parse_batch_key(loc.key, bucket=loc.bucket)
    if key.project_name != resolver.project_name:
        raise BatchKeyError(f"{first.uri} belongs to project {key.project_name!r}")
    start, end = batch_window(first.last_modified)
    return {
        "project_name": key.project_name,
        "feature_spec_version": resolver.version_for(key.org_key),
        "org1": key.org1,
        "org2": key.org2,
        "mini_batch_id": key.mini_batch_id,
        "mini_batch_s3_prefix": key.mini_batch_s3_prefix or folder,
        "batch_start_ts_iso": start,
        "batch_end_ts_iso": end,
    }


def enumerate_windows(
    storage: Storage, prefixes: list[str], start: date, end: date, resolver: ProjectResolver
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    windows: list[dict[str, str]] = []
    skipped: list[dict[str, str]] = []
    for prefix in prefixes:
        for day in days(start, end):
            for folder in storage.list_dirs(join(prefix, f"{day:%Y/%m/%d}") + "/"):
                try:
                    windows.append(_window(storage, folder, resolver))
                except BatchKeyError as err:
                    skipped.append({"folder": folder, "reason": str(err)})
                    log("batch_folder_skipped", level="warning", folder=folder, reason=str(err))
    windows = once_per_batch(windows, skipped)
    windows.sort(key=lambda w: (w["batch_start_ts_iso"], w["batch_end_ts_iso"], w["mini_batch_id"]))
    return windows, skipped


def once_per_batch(windows: list[dict[str, str]], skipped: list[dict[str, str]]) -> list[dict[str, str]]:
    """One window per batch (project, org1, org2, mini_batch_id): a batch whose folder appears under two
    days keeps the folder with the latest representative object; the other is listed in `skipped`."""
    chosen: dict[tuple[str, ...], dict[str, str]] = {}
    for window in windows:
        key = (window["project_name"], window["org1"], window["org2"], window["mini_batch_id"])
        kept = chosen.setdefault(key, window)
        if kept is window:
            continue
        newer, older = (window, kept) if window["batch_end_ts_iso"] > kept["batch_end_ts_iso"] else (kept, window)
        chosen[key] = newer
        reason = f"mini_batch_id {window['mini_batch_id']!r} also under {newer['mini_batch_s3_prefix']} (later objects)"
        skipped.append({"folder": older["mini_batch_s3_prefix"], "reason": reason})
        log("batch_folder_skipped", level="warning", folder=older["mini_batch_s3_prefix"], reason=reason)
    return list(chosen.values())


def explicit_input_prefix(prefix: str, project_name: str) -> str:
    """`--input-s3-prefix` must name the project's folder; anything else would silently find nothing."""
    folder = prefix.rstrip("/") + "/"
    if folder.rstrip("/").rsplit("/", 1)[-1] != project_name:
        expected = BATCH_KEY_LAYOUT.split("YYYY/")[0]
        raise RuntimeJobError(
            f"--input-s3-prefix {prefix} must end with the project segment {project_name!r}: "
            f"s3://<bucket>/{expected} (batch keys: {BATCH_KEY_LAYOUT})"
        )
    return folder


def output_uri(prefix: str, request: ExtractorRequest) -> str:
    name = f"windows_{request.start_date:%Y%m%d}_{request.end_date:%Y%m%d}.json"
    return join(prefix, request.project_name, name)


def items_uri(document_uri: str) -> str:
    """The bare JSON array of windows next to the document: what the backfill's Map reads (ItemReader)."""
    return document_uri.removesuffix(".json") + ".items.json"


def run_extractor(
    request: ExtractorRequest,
    *,
    storage: Storage,
    ddb_client: Any,
    table_name: str,
    routing_table: str | None = None,
    sfn_client: Any = None,
) -> ExtractorResult:
    """Enumerate, write the windows JSON, and report to Step Functions when a task token is given."""
    try:
        resolver = ProjectResolver(
            request.project_name, ddb_client, table_name, routing_table, request.feature_spec_version
        )
        if request.input_s3_prefix:
            prefixes = [explicit_input_prefix(request.input_s3_prefix, request.project_name)]
        else:
            prefixes = resolver.input_prefixes()
        log(
            "extractor_started",
            project_name=request.project_name,
            prefixes=prefixes,
            start_date=str(request.start_date),
            end_date=str(request.end_date),
        )
        windows, skipped = enumerate_windows(storage, prefixes, request.start_date, request.end_date, resolver)
        out_prefix = request.output_s3_prefix or resolver.output_prefix()
        uri = output_uri(out_prefix, request) if out_prefix else None
        if uri:
            document = {
                "project_name": request.project_name,
                "start_date": str(request.start_date),
                "end_date": str(request.end_date),
                "windows": windows,
                "skipped": skipped,
            }
            storage.write_bytes(uri, json.dumps(document, indent=2, sort_keys=True).encode("utf-8"))
            storage.write_bytes(items_uri(uri), json.dumps(windows, sort_keys=True).encode("utf-8"))
        if request.task_token:
            # A pointer, never the list: SendTaskSuccess carries at most 256 KB (~700 windows); the backfill's
            # distributed Map reads the items file itself (ItemReader), so a backfill has no window limit.
            if not uri:
                raise RuntimeJobError(
                    "the backfill reads the windows from S3: set the extractor's output.s3_prefix (or the project's "
                    "default output prefix) or pass WindowsOutputS3Prefix"
                )
            output: dict[str, Any] = {"count": len(windows), "windows_s3_uri": uri, "items_s3_uri": items_uri(uri)}
            callback.send_success(request.task_token, output, sfn_client)
        log("extractor_finished", windows=len(windows), skipped=len(skipped), output_uri=uri)
        return ExtractorResult(windows, skipped, uri)
    except Exception as err:
        if request.task_token:
            callback.send_failure(request.task_token, type(err).__name__, str(err), sfn_client)
        raise
