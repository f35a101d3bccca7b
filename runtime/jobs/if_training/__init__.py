"""`if_training`: FG-A + FG-C history over the training window -> Isolation Forest model, reports, MLflow runs."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.jobs.if_training.spec import IfTrainingSpec
from runtime.jobs.job import Job, JobContext, SpecItem, load_spec


def parse_spec(item: SpecItem) -> IfTrainingSpec:
    return IfTrainingSpec.from_payload(item.payload, item.where, item.project_name, item.feature_spec_version)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--mlflow-tracking-uri",
        help="MLflow tracking URI (else MLFLOW_TRACKING_URI, else a file store beside the local storage root)",
    )


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.jobs.if_training.trainer import train
    from runtime.training.tracking import resolve_tracking_uri
    from runtime.training.window import TrainingWindow, reference_time

    spec: IfTrainingSpec = load_spec(args, context, IfTrainingSpec)
    window = TrainingWindow.before(reference_time(args.reference_ts_iso), spec.lookback_months, spec.gap_months)
    tracking_uri = resolve_tracking_uri(args.mlflow_tracking_uri, context.storage)
    outcome = train(spec, window, context.storage, tracking_uri)
    return {
        "model_uri": outcome.model_uri,
        "model_sha256": outcome.archive_sha256,
        "model_image_uri": outcome.model_image_uri,
        "report_json_uri": outcome.report_json_uri,
        "report_html_uri": outcome.report_html_uri,
        "data_window": window.as_dict(),
        "rows": outcome.report["data"]["rows"],
        "rows_without_baseline": outcome.report["data"]["rows_without_baseline"],
        "features": outcome.report["model"]["feature_names"],
        "hyperparameters": outcome.report["model"]["hyperparameters"],
        "score_thresholds": outcome.report["model"]["score_thresholds"],
        "tracking_uri": tracking_uri,
        "mlflow_runs": outcome.run_ids,
    }


JOB = Job(
    name="if_training",
    summary="FG-A + FG-C over the training window -> Isolation Forest model.tar.gz, reports, MLflow runs",
    run=run,
    add_arguments=add_arguments,
    parse_spec=parse_spec,
)
