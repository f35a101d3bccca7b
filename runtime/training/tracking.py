"""Experiment tracking with MLflow: one run per tuning trial and one for the final model.

The tracking URI is the `--mlflow-tracking-uri` option, else `MLFLOW_TRACKING_URI` (what `ndrc run` and
the compiled pipeline steps set from the environment's `mlflow_tracking_uri` in ndrc.yaml), else, with
local storage, a file store beside the storage root (`<root>/../mlruns`). Runs are named
`<trial_prefix>-trial-<NNN>` and `<trial_prefix>-final`, under the experiment `experiment_name`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runtime.errors import RuntimeJobError
from runtime.storage import LocalStorage, Storage

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
FILE_STORE_OPT_IN = "MLFLOW_ALLOW_FILE_STORE"


def resolve_tracking_uri(explicit: str | None, storage: Storage) -> str:
    if explicit:
        return explicit
    if configured := os.environ.get(TRACKING_URI_ENV):
        return configured
    if isinstance(storage, LocalStorage):
        return (storage.root.parent / "mlruns").resolve().as_uri()
    raise RuntimeJobError(
        f"no MLflow tracking URI: set environments.<env>.mlflow_tracking_uri in ndrc.yaml ({TRACKING_URI_ENV}) "
        "or pass --mlflow-tracking-uri"
    )


class Tracker:
    """Creates runs in one experiment through `MlflowClient` (no global MLflow state)."""

    def __init__(self, tracking_uri: str, experiment_name: str, tags: Mapping[str, str]) -> None:
        from mlflow.tracking import MlflowClient

        if tracking_uri.startswith("file:"):
            # MLflow 3 keeps the file store in maintenance mode behind this opt-in; the SQL store needs the
            # full mlflow package (a server stack) and minutes of schema migration on a fresh database.
            os.environ.setdefault(FILE_STORE_OPT_IN, "true")
        self.tracking_uri = tracking_uri
        self.mlflow = MlflowClient(tracking_uri=tracking_uri)
        found = self.mlflow.get_experiment_by_name(experiment_name)
        self.experiment_id = found.experiment_id if found else self.mlflow.create_experiment(experiment_name)
        self.tags = dict(tags)
        self.run_ids: dict[str, str] = {}

    def log_run(
        self,
        name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        artifacts: Mapping[str, Path] | None = None,
    ) -> str:
        from mlflow.entities import Metric, Param, RunTag

        run = self.mlflow.create_run(self.experiment_id, run_name=name, tags=self.tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        self.mlflow.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in sorted(metrics.items())],
            params=[Param(k, str(v)) for k, v in sorted(params.items())],
            tags=[RunTag(k, v) for k, v in sorted(self.tags.items())],
        )
        for artifact_path, local in sorted((artifacts or {}).items()):
            if local.is_dir():
                self.mlflow.log_artifacts(run_id, str(local), artifact_path=artifact_path or None)
            else:
                self.mlflow.log_artifact(run_id, str(local), artifact_path=artifact_path or None)
        self.mlflow.set_terminated(run_id, status="FINISHED")
        self.run_ids[name] = run_id
        return run_id
