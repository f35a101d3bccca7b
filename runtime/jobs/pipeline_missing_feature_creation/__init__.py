"""`pipeline_missing_feature_creation`: backfill the FG-A/FG-C days the training data verifier found missing.

Reads the verifier's report for the same project, version and reference time, plans the 15-minute
windows of every missing day (FG-A missing: `fg_a_builder` then `fg_c_builder`; only FG-C missing:
`fg_c_builder`), runs at most `max_windows_per_run` of them through the job registry, and writes a manifest
to `<manifest_output.s3_prefix>/<project>/<version>/<reference date>/missing_features.json`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from runtime.config.payload import JobPayload
from runtime.errors import SpecError
from runtime.jobs.job import Job, JobContext, load_spec

POLICIES = ("recompute", "skip")


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.config import load_job_spec
    from runtime.storage import join
    from runtime.training.backfill import plan_backfill, run_backfill
    from runtime.training.verification import report_uri
    from runtime.training.window import reference_time

    spec: JobPayload = load_spec(args, context, JobPayload)
    r = spec.reader
    version = args.feature_spec_version or spec.feature_spec_version
    policy = r.string("missing_policy", "recompute")
    if policy not in POLICIES:
        raise SpecError(
            f"{r.where}: spec.missing_policy {policy!r} is not supported (supported: {', '.join(POLICIES)})"
        )
    horizon = r.string("window_horizon", "15m")
    if horizon != "15m":
        raise SpecError(f"{r.where}: spec.window_horizon {horizon!r} is not supported (the feature windows are 15m)")
    max_windows = int(r.raw("max_windows_per_run", 960))
    reference = reference_time(args.reference_ts_iso)
    reference_iso = reference.strftime("%Y-%m-%dT%H:%M:%SZ")

    verifier = load_job_spec(
        args.project_name, "pipeline_training_data_verifier", version, table_name=context.table_name
    )
    verifier_prefix = verifier.reader.string("output.report_s3_prefix")
    source = report_uri(verifier_prefix, args.project_name, version, reference_iso)
    report = json.loads(context.storage.read_bytes(source))
    plan = plan_backfill(report["missing_days"], max_windows)
    ran = run_backfill(plan.tasks, args.project_name, version, context) if policy == "recompute" else []
    manifest = {
        "verification_report": source,
        "policy": policy,
        "missing_days": report["missing_days"],
        "max_windows_per_run": max_windows,
        "planned_windows": len(plan.tasks),
        "deferred_windows": plan.deferred,
        "runs": ran,
    }
    uri = join(
        r.string("manifest_output.s3_prefix"),
        args.project_name,
        version or "unversioned",
        reference_iso[:10],
        "missing_features.json",
    )
    context.storage.write_bytes(uri, json.dumps(manifest, indent=2, sort_keys=True, default=str).encode())
    return {
        "manifest_uri": uri,
        "planned_windows": len(plan.tasks),
        "deferred_windows": plan.deferred,
        "runs": len(ran),
        "policy": policy,
    }


JOB = Job(
    name="pipeline_missing_feature_creation",
    summary="backfill the FG-A/FG-C days the verifier found missing (bounded, idempotent) through the builders",
    run=run,
)
