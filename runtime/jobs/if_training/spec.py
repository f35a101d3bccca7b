"""The typed `if_training` spec: inputs, window, output, model, preprocessing, selection, tuning, experiments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.config.payload import PayloadReader
from runtime.features.fg_a import MODEL_JOIN_KEYS
from runtime.models.options import OUTLIER_METHODS, SCALING_METHODS, PreprocessingOptions

TUNING_METHODS = ("bayesian", "random", "grid")
TUNABLE = ("n_estimators", "max_samples", "contamination", "max_features")
INTEGER_PARAMS = ("n_estimators", "max_samples")
OBJECTIVE_TERMS = ("score_separation", "stability", "alert_rate_penalty")
DEFAULT_OBJECTIVE_WEIGHTS = {"score_separation": 0.6, "stability": 0.3, "alert_rate_penalty": 0.1}


def number(r: PayloadReader, path: str, default: float) -> float:
    value = r.raw(path, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise r.fail(path, f"must be a number (got {value!r})")
    return float(value)


def integer(r: PayloadReader, path: str, default: int, minimum: int = 1) -> int:
    value = r.raw(path, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise r.fail(path, f"must be an integer >= {minimum} (got {value!r})")
    return int(value)


@dataclass(frozen=True)
class Hyperparameters:
    n_estimators: int = 100
    max_samples: int | float | str = "auto"
    contamination: float = 0.01
    max_features: float = 1.0
    random_state: int = 42

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "max_samples": self.max_samples,
            "contamination": self.contamination,
            "max_features": self.max_features,
        }


@dataclass(frozen=True)
class SelectionOptions:
    enabled: bool = True
    variance_threshold: float = 1e-4
    corr_threshold: float = 0.95
    stability_runs: int = 5
    permutation_eval: bool = False


@dataclass(frozen=True)
class SearchDimension:
    name: str
    low: float
    high: float

    @property
    def integer(self) -> bool:
        return self.name in INTEGER_PARAMS


@dataclass(frozen=True)
class TuningOptions:
    method: str = "random"
    max_trials: int = 1
    timeout_seconds: int = 3600
    search_space: tuple[SearchDimension, ...] = ()
    objective_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_OBJECTIVE_WEIGHTS))


@dataclass(frozen=True)
class ExperimentOptions:
    experiment_name: str
    trial_prefix: str = "trial"
    capture_artifacts: bool = True


@dataclass(frozen=True)
class IfTrainingSpec:
    project_name: str
    feature_spec_version: str | None
    fg_a_prefix: str
    fg_c_prefix: str
    join_keys: tuple[str, ...]
    lookback_months: int
    gap_months: int
    artifacts_prefix: str
    report_prefix: str
    model_image_prefix: str | None
    model_version: str
    model_name: str
    hyperparameters: Hyperparameters
    preprocessing: PreprocessingOptions
    selection: SelectionOptions
    tuning: TuningOptions
    experiments: ExperimentOptions

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], where: str, project_name: str, feature_spec_version: str | None
    ) -> IfTrainingSpec:
        r = PayloadReader(payload, where)
        model_version = r.string("model.version")
        return cls(
            project_name=project_name,
            feature_spec_version=feature_spec_version,
            fg_a_prefix=r.string("feature_inputs.fg_a.s3_prefix"),
            fg_c_prefix=r.string("feature_inputs.fg_c.s3_prefix"),
            join_keys=r.strings("join_keys", MODEL_JOIN_KEYS),
            lookback_months=integer(r, "window.lookback_months", 4),
            gap_months=integer(r, "window.gap_months", 1, minimum=0),
            artifacts_prefix=r.string("output.artifacts_s3_prefix"),
            report_prefix=r.string("output.report_s3_prefix"),
            model_image_prefix=r.string("output.model_image_prefix", None),
            model_version=model_version,
            model_name=r.string("model.name", f"{project_name}-isolation-forest"),
            hyperparameters=_hyperparameters(r),
            preprocessing=_preprocessing(r),
            selection=SelectionOptions(
                enabled=r.boolean("feature_selection.enabled", True),
                variance_threshold=number(r, "feature_selection.variance_threshold", 1e-4),
                corr_threshold=number(r, "feature_selection.corr_threshold", 0.95),
                stability_runs=integer(r, "feature_selection.stability_runs", 5),
                permutation_eval=r.boolean("feature_selection.permutation_eval", False),
            ),
            tuning=_tuning(r),
            experiments=ExperimentOptions(
                experiment_name=r.string("experiments.experiment_name", f"{project_name}-if-training"),
                trial_prefix=r.string("experiments.trial_prefix", model_version),
                capture_artifacts=r.boolean("experiments.capture_artifacts", True),
            ),
        )


def _hyperparameters(r: PayloadReader) -> Hyperparameters:
    base = "model.hyperparameters"
    max_samples = r.raw(f"{base}.max_samples", "auto")
    if not (max_samples == "auto" or (isinstance(max_samples, int | float) and not isinstance(max_samples, bool))):
        raise r.fail(f"{base}.max_samples", f"must be a count, a fraction or 'auto' (got {max_samples!r})")
    # the alert threshold needs a share of anomalies: 'auto' means the 1% default
    auto = r.raw(f"{base}.contamination", None) == "auto"
    return Hyperparameters(
        n_estimators=integer(r, f"{base}.n_estimators", 100),
        max_samples=max_samples,
        contamination=0.01 if auto else number(r, f"{base}.contamination", 0.01),
        max_features=number(r, f"{base}.max_features", 1.0),
        random_state=integer(r, f"{base}.random_state", 42, minimum=0),
    )


def _preprocessing(r: PayloadReader) -> PreprocessingOptions:
    scaling = r.string("preprocessing.scaling_method", "robust")
    outliers = r.string("preprocessing.outlier_method", "zscore_clip")
    if scaling not in SCALING_METHODS:
        raise r.fail("preprocessing.scaling_method", f"must be one of {', '.join(SCALING_METHODS)} (got {scaling!r})")
    if outliers not in OUTLIER_METHODS:
        raise r.fail("preprocessing.outlier_method", f"must be one of {', '.join(OUTLIER_METHODS)} (got {outliers!r})")
    return PreprocessingOptions(
        eps=number(r, "preprocessing.eps", 1e-6),
        scaling_method=scaling,
        outlier_method=outliers,
        z_max=number(r, "preprocessing.z_max", 6.0),
    )


def _tuning(r: PayloadReader) -> TuningOptions:
    method = r.string("tuning.method", "random")
    if method not in TUNING_METHODS:
        raise r.fail("tuning.method", f"must be one of {', '.join(TUNING_METHODS)} (got {method!r})")
    dims = []
    for name, bounds in sorted(r.mapping("tuning.search_space", {}).items()):
        path = f"tuning.search_space.{name}"
        if name not in TUNABLE:
            raise r.fail(path, f"is not tunable (tunable: {', '.join(TUNABLE)})")
        low, high = number(r, f"{path}.low", 0.0), number(r, f"{path}.high", 0.0)
        if not r.has(f"{path}.low") or not r.has(f"{path}.high") or low > high or low <= 0:
            raise r.fail(path, f"needs 0 < low <= high (got {dict(bounds)!r})")
        dims.append(SearchDimension(name, low, high))
    weights = dict(DEFAULT_OBJECTIVE_WEIGHTS)
    for name in r.mapping("tuning.objective_weights", {}):
        if name not in OBJECTIVE_TERMS:
            raise r.fail(f"tuning.objective_weights.{name}", f"is not an objective term ({', '.join(OBJECTIVE_TERMS)})")
        weights[name] = number(r, f"tuning.objective_weights.{name}", 0.0)
    return TuningOptions(
        method=method,
        max_trials=integer(r, "tuning.max_trials", 1),
        timeout_seconds=integer(r, "tuning.timeout_seconds", 3600),
        search_space=tuple(dims),
        objective_weights=weights,
    )
