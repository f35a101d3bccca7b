"""`pipeline_training_data_verifier`: coverage, volume, nulls, duplicates and schema drift of the training window.

Writes `<output.report_s3_prefix>/<project>/<feature_spec_version>/<reference date>/verification.json`
(what `pipeline_missing_feature_creation` reads), then fails with the violations as the cause when
`fail_on_violation` (default true) and a check fails.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from runtime.config.payload import JobPayload
from runtime.errors import RuntimeJobError
from runtime.features.fg_a import MODEL_JOIN_KEYS
from runtime.jobs.job import Job, JobContext, load_spec


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.modelops.drift import previous_training_distributions
    from runtime.training.verification import VerificationInputs, report_uri, thresholds_from, verify
    from runtime.training.window import TrainingWindow, reference_time

    spec: JobPayload = load_spec(args, context, JobPayload)
    r = spec.reader
    version = args.feature_spec_version or spec.feature_spec_version
    reference = reference_time(args.reference_ts_iso)
    window = TrainingWindow.before(
        reference, int(r.raw("window.lookback_months", 4)), int(r.raw("window.gap_months", 1))
    )
    thresholds = thresholds_from(r.mapping("thresholds", {}))
    inputs = VerificationInputs(
        fg_a_prefix=r.string("feature_inputs.fg_a.s3_prefix"),
        fg_c_prefix=r.string("feature_inputs.fg_c.s3_prefix"),
        join_keys=r.strings("join_keys", MODEL_JOIN_KEYS),
        required_columns=r.strings("required_columns", ()),
        thresholds=thresholds,
        reference=(
            previous_training_distributions(context.storage, args.project_name, version, context.table_name)
            if thresholds.max_psi is not None
            else None
        ),
    )
    report = verify(context.storage, inputs, window, version)
    uri = report_uri(
        r.string("output.report_s3_prefix"), args.project_name, version, str(window.as_dict()["reference_ts"])
    )
    context.storage.write_bytes(uri, json.dumps(report, indent=2, sort_keys=True, default=str).encode())
    if report["violations"] and r.boolean("fail_on_violation", True):
        raise RuntimeJobError(f"training data verification failed ({uri}): " + "; ".join(report["violations"]))
    return {
        "report_uri": uri,
        "passed": report["passed"],
        "violations": report["violations"],
        "measured": report["measured"],
        "missing_days": report["missing_days"],
    }


JOB = Job(
    name="pipeline_training_data_verifier",
    summary="training window coverage, volume, nulls, duplicates, schema drift -> JSON report; fails below thresholds",
    run=run,
)
