"""Population stability index (PSI) of a feature against the distribution a model was trained on.

`if_training` records, per selected feature, a reference histogram of the raw (not preprocessed) training
values in the model's manifest (`feature_distributions`):
- `edges`: the distinct training deciles (at most 9 cut points); bin i holds `edges[i-1] < x <= edges[i]`, with
  `-inf` / `+inf` closing the first and last bin, so every finite value falls in exactly one bin;
- `shares`: the share of all training rows in each bin; `missing_share`: the share that was null/NaN/inf.
  `shares` and `missing_share` add up to 1.

For new values, the same bins (plus the missing bin) give shares a_i; with e_i the reference shares,
`PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`. An empty bin on either side would make the log infinite, so every
share is floored at `SHARE_FLOOR` (1e-4) first, the usual convention. Reading: < 0.1 stable, 0.1-0.25 some shift,
> 0.25 a significant shift (the common rule of thumb; `max_psi` is the spec's own bound).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.errors import SpecNotFoundError
from runtime.storage import Storage

ATTRIBUTES_JOB = "pipeline_model_attributes"
BINS = 10
SHARE_FLOOR = 1e-4


@dataclass(frozen=True)
class Histogram:
    edges: tuple[float, ...]
    shares: tuple[float, ...]
    missing_share: float

    def to_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "shares": list(self.shares), "missing_share": self.missing_share}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Histogram:
        edges = tuple(float(v) for v in raw["edges"])
        shares = tuple(float(v) for v in raw["shares"])
        if len(shares) != len(edges) + 1 or list(edges) != sorted(set(edges)):
            raise ValueError("a histogram needs increasing distinct edges and one more share than edges")
        return cls(edges, shares, float(raw["missing_share"]))


@dataclass(frozen=True)
class DriftReference:
    """The previous training window's feature histograms (`distributions`, from `source`), or why there are
    none (`missing_reason`)."""

    source: str
    distributions: Mapping[str, Any] | None = None
    missing_reason: str = ""


def previous_training_distributions(
    storage: Storage, project_name: str, feature_spec_version: str | None, table_name: str | None
) -> DriftReference:
    """The histograms of the model in service: the project's `pipeline_model_attributes` output `latest.json`
    names its artifact (`lineage.artifact_uri`), whose verified manifest holds `feature_distributions`."""
    from runtime.modelops.artifact import read_manifest
    from runtime.modelops.attributes import latest_uri, read_attributes
    from runtime.modelops.training_spec import load_payload

    try:
        key, payload = load_payload(ATTRIBUTES_JOB, project_name, feature_spec_version, table_name)
    except SpecNotFoundError:
        return DriftReference("", None, f"no {ATTRIBUTES_JOB} item, so no model in service to compare with")
    output = payload.get("output")
    prefix = output.get("s3_prefix") if isinstance(output, Mapping) else None
    if not prefix:
        return DriftReference("", None, f"{key} has no output.s3_prefix")
    latest = latest_uri(str(prefix))
    if not storage.exists(latest):
        return DriftReference(latest, None, f"no model in service yet ({latest} does not exist)")
    lineage = read_attributes(storage, str(prefix), None).document.get("lineage")
    artifact = lineage.get("artifact_uri") if isinstance(lineage, Mapping) else None
    if not artifact:
        return DriftReference(latest, None, f"{latest} names no lineage.artifact_uri")
    manifest = read_manifest(storage, str(artifact))
    source = f"model {manifest.model_version} ({artifact})"
    distributions = manifest.raw.get("feature_distributions")
    if not isinstance(distributions, Mapping) or not distributions:
        return DriftReference(source, None, f"{source} was trained before feature histograms were recorded")
    return DriftReference(source, distributions)


def bin_shares(values: np.ndarray, edges: tuple[float, ...]) -> tuple[np.ndarray, float]:
    """The share of `values` in each bin of `edges`, and the share that is missing (null, NaN or inf)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        raise ValueError("no values")
    finite = x[np.isfinite(x)]
    counts = np.bincount(np.searchsorted(np.asarray(edges), finite, side="left"), minlength=len(edges) + 1)
    return counts / len(x), 1.0 - len(finite) / len(x)


def reference_histogram(values: np.ndarray, bins: int = BINS) -> Histogram:
    x = np.asarray(values, dtype=np.float64)
    finite = x[np.isfinite(x)]
    cuts = np.quantile(finite, np.arange(1, bins) / bins) if len(finite) else np.array([])
    edges = tuple(float(v) for v in np.unique(cuts))
    shares, missing = bin_shares(x, edges)
    return Histogram(edges, tuple(float(s) for s in shares), float(missing))


def psi(reference: Histogram, values: np.ndarray) -> float:
    actual, actual_missing = bin_shares(values, reference.edges)
    a = np.maximum(np.append(actual, actual_missing), SHARE_FLOOR)
    e = np.maximum(np.append(np.asarray(reference.shares), reference.missing_share), SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def feature_distributions(matrix: np.ndarray, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The manifest's `feature_distributions`: one reference histogram per column of `matrix`."""
    return {name: reference_histogram(matrix[:, i]).to_dict() for i, name in enumerate(names)}


def feature_psi(reference: Mapping[str, Any], columns: Mapping[str, np.ndarray]) -> dict[str, float]:
    """PSI per feature that has both a reference histogram and values, sorted by name."""
    return {
        name: psi(Histogram.from_dict(reference[name]), columns[name]) for name in sorted(set(reference) & set(columns))
    }
