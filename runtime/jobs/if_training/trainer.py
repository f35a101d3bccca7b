"""`if_training` end to end: data -> preprocessing -> selection -> tuning -> final forest -> artifacts.

Writes (per the runtime contract):
    <artifacts_s3_prefix>/<project>/<model.version>/model.tar.gz
    <report_s3_prefix>/<project>/<model.version>/report.json and report.html
    <model_image_prefix>/<project>/<model.version>/model.tar.gz   the frozen copy: written once; a rerun
        that produces the same bytes leaves it, different bytes for the same version are refused.
"""

from __future__ import annotations

import json
import platform
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from runtime.errors import RuntimeJobError
from runtime.jobs.if_training.spec import IfTrainingSpec
from runtime.jobs.if_training.tuning import Trial, TuningResult, bounded_params, isolation_forest, tune
from runtime.modelops.drift import feature_distributions
from runtime.models.artifact import (
    FEATURES_FILE,
    FOREST_FILE,
    PREPROCESSING_FILE,
    build_archive,
    canonical_json,
    sha256,
)
from runtime.models.forest import ForestScorer, forest_to_dict
from runtime.models.preprocessing import fit_preprocessor
from runtime.storage import Storage, join
from runtime.training.dataset import TrainingFrame, load_training_frame
from runtime.training.report import render_html
from runtime.training.selection import SelectionResult, all_features, permutation_importance, select_features
from runtime.training.tracking import Tracker
from runtime.training.window import TrainingWindow

LIBRARIES = ("numpy", "scipy", "scikit-learn", "pandas", "pyarrow", "mlflow-skinny", "ndrc")
PERMUTATION_ROWS = 5000


@dataclass(frozen=True)
class TrainingOutcome:
    archive: bytes
    archive_sha256: str
    model_uri: str
    report_json_uri: str
    report_html_uri: str
    model_image_uri: str | None
    report: dict[str, Any]
    run_ids: dict[str, str]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def split_share(forest_data: dict[str, Any], names: tuple[str, ...]) -> dict[str, float]:
    counts = np.zeros(len(names))
    for tree in forest_data["trees"]:
        for local in tree["feature"]:
            if local >= 0:
                counts[tree["features"][local]] += 1
    total = counts.sum() or 1.0
    return {name: float(c / total) for name, c in zip(names, counts, strict=True)}


def _trial_record(prefix: str, trial: Trial) -> dict[str, Any]:
    return {
        "name": f"{prefix}-trial-{trial.number:03d}",
        "number": trial.number,
        "params": trial.params,
        "metrics": trial.metrics,
        "seconds": round(trial.seconds, 3),
    }


def train(spec: IfTrainingSpec, window: TrainingWindow, storage: Storage, tracking_uri: str) -> TrainingOutcome:
    data = load_training_frame(
        storage,
        fg_a_prefix=spec.fg_a_prefix,
        fg_c_prefix=spec.fg_c_prefix,
        join_keys=spec.join_keys,
        window=window,
        feature_spec_version=spec.feature_spec_version,
    )
    seed = spec.hyperparameters.random_state
    candidates = data.feature_names
    raw = data.matrix()
    preprocessed = fit_preprocessor(raw, candidates, spec.preprocessing).transform(raw)
    observed = np.isfinite(raw)
    sel = spec.selection
    selection = (
        select_features(
            preprocessed,
            candidates,
            variance_threshold=sel.variance_threshold,
            corr_threshold=sel.corr_threshold,
            runs=sel.stability_runs,
            seed=seed,
            observed=observed,
        )
        if sel.enabled
        else all_features(preprocessed, candidates, observed)
    )
    if not selection.selected:
        raise RuntimeJobError(
            f"feature selection kept no feature of {len(candidates)} (variance_threshold "
            f"{sel.variance_threshold}, corr_threshold {sel.corr_threshold}): lower the thresholds"
        )
    names = selection.selected
    preprocessor = fit_preprocessor(data.matrix(names), names, spec.preprocessing)
    matrix = preprocessor.transform(data.matrix(names))

    tags = {"project_name": spec.project_name, "model_version": spec.model_version, "model_name": spec.model_name}
    tracker = Tracker(tracking_uri, spec.experiments.experiment_name, tags)
    prefix = spec.experiments.trial_prefix
    with tempfile.TemporaryDirectory(prefix="ndrc-trials-") as scratch:

        def log_trial(trial: Trial) -> None:
            record = _trial_record(prefix, trial)
            artifacts = None
            if spec.experiments.capture_artifacts:
                path = Path(scratch) / f"{record['name']}.json"
                path.write_text(json.dumps(record, indent=2, sort_keys=True))
                artifacts = {"trial": path}
            tracker.log_run(record["name"], {**trial.params, "seed": seed}, trial.metrics, artifacts)

        tuning = tune(spec.tuning, spec.hyperparameters, matrix, seed, on_trial=log_trial)
        params = bounded_params(tuning.best.params, len(matrix))
        forest_data = forest_to_dict(isolation_forest(params, seed).fit(matrix))
        scorer = ForestScorer(forest_data, len(names))
        scores = scorer.score(matrix)
        contamination = float(params["contamination"])
        threshold = float(np.quantile(scores, 1.0 - contamination))

        importance: dict[str, Any] = {"split_share": split_share(forest_data, names)}
        if sel.permutation_eval:
            rows = np.random.default_rng(seed).permutation(len(matrix))[:PERMUTATION_ROWS]
            importance["permutation"] = permutation_importance(scorer.score, matrix[np.sort(rows)], names, seed)

        files = {
            FOREST_FILE: canonical_json(forest_data),
            PREPROCESSING_FILE: canonical_json(preprocessor.to_dict()),
            FEATURES_FILE: canonical_json(list(names)),
        }
        manifest = {
            "model_name": spec.model_name,
            "model_version": spec.model_version,
            "model_type": "isolation_forest",
            "project_name": spec.project_name,
            "feature_spec_version": spec.feature_spec_version,
            "feature_names": list(names),
            "data_window": window.as_dict(),
            "join_keys": list(spec.join_keys),
            "seed": seed,
            "hyperparameters": params,
            "score": "2 ** (-mean path length / c(max_samples)) after preprocessing; higher = more anomalous",
            "score_thresholds": {"alert": threshold, "contamination": contamination},
            "training": {
                "rows": len(matrix),
                "hosts": int(data.frame["host_ip"].nunique()),
                "rows_without_baseline": data.rows_without_baseline,
            },
            "feature_distributions": feature_distributions(data.matrix(names), names),
            "tuning": {
                "method": spec.tuning.method,
                "trials": len(tuning.trials),
                "best_trial": tuning.best.number,
                "objective": tuning.best.metrics["objective"],
            },
            "libraries": library_versions(),
        }
        archive = build_archive(files, manifest)
        digest = sha256(archive)
        report = _report(spec, window, data, candidates, selection, importance, tuning, manifest, digest, prefix)

        location = f"{spec.project_name}/{spec.model_version}"
        model_uri = join(spec.artifacts_prefix, location, "model.tar.gz")
        report_json_uri = join(spec.report_prefix, location, "report.json")
        report_html_uri = join(spec.report_prefix, location, "report.html")
        storage.write_bytes(model_uri, archive)
        html = render_html(report, [float(s) for s in scores])
        report_bytes = json.dumps(report, indent=2, sort_keys=True).encode()
        storage.write_bytes(report_json_uri, report_bytes)
        storage.write_bytes(report_html_uri, html.encode())
        image_uri = _freeze(storage, spec, location, archive)

        final_artifacts: dict[str, Path] = {}
        if spec.experiments.capture_artifacts:
            final = Path(scratch) / "final"
            for relative, content in (
                ("model/model.tar.gz", archive),
                ("report/report.json", report_bytes),
                ("report/report.html", html.encode()),
            ):
                (final / relative).parent.mkdir(parents=True, exist_ok=True)
                (final / relative).write_bytes(content)
            final_artifacts = {"model": final / "model/model.tar.gz", "report": final / "report"}
        tracker.log_run(
            f"{prefix}-final",
            {
                **params,
                "seed": seed,
                "features": len(names),
                "window_start": window.as_dict()["start_ts"],
                "window_end": window.as_dict()["end_ts"],
                "archive_sha256": digest,
            },
            {
                "alert_threshold": threshold,
                "rows": float(len(matrix)),
                "selection_stability": selection.stability,
                **{f"best_{k}": v for k, v in tuning.best.metrics.items()},
            },
            final_artifacts,
        )
    return TrainingOutcome(
        archive, digest, model_uri, report_json_uri, report_html_uri, image_uri, report, dict(tracker.run_ids)
    )


def _freeze(storage: Storage, spec: IfTrainingSpec, location: str, archive: bytes) -> str | None:
    if not spec.model_image_prefix:
        return None
    uri = join(spec.model_image_prefix, location, "model.tar.gz")
    if storage.exists(uri):
        if sha256(storage.read_bytes(uri)) != sha256(archive):
            raise RuntimeJobError(
                f"{uri} is the frozen copy of model version {spec.model_version} and differs from this run's "
                "model: bump model.version to publish a new model"
            )
        return uri
    storage.write_bytes(uri, archive)
    return uri


def _report(
    spec: IfTrainingSpec,
    window: TrainingWindow,
    data: TrainingFrame,
    candidates: tuple[str, ...],
    selection: SelectionResult,
    importance: dict[str, Any],
    tuning: TuningResult,
    manifest: dict[str, Any],
    digest: str,
    prefix: str,
) -> dict[str, Any]:
    return {
        "model": {
            "name": spec.model_name,
            "version": spec.model_version,
            "archive_sha256": digest,
            "feature_names": manifest["feature_names"],
            "seed": manifest["seed"],
            "hyperparameters": manifest["hyperparameters"],
            "score_thresholds": manifest["score_thresholds"],
        },
        "data_window": window.as_dict(),
        "data": {
            "rows": len(data.frame),
            "rows_without_baseline": data.rows_without_baseline,
            "hosts": int(data.frame["host_ip"].nunique()),
            "candidate_features": list(candidates),
            "fg_a_files": len(data.fg_a_files),
            "fg_c_files": len(data.fg_c_files),
        },
        "feature_selection": {
            "enabled": spec.selection.enabled,
            "runs": selection.runs,
            "stability": selection.stability,
            "frequency": selection.frequency,
            "variance": selection.variance,
            "selected": list(selection.selected),
        },
        "importance": importance,
        "tuning": {
            "method": spec.tuning.method,
            "max_trials": spec.tuning.max_trials,
            "stopped_by_timeout": tuning.stopped_by_timeout,
            "objective_weights": dict(spec.tuning.objective_weights),
            "best_trial": tuning.best.number,
            "trials": [_trial_record(prefix, t) for t in tuning.trials],
        },
        "libraries": manifest["libraries"],
    }
