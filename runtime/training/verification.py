"""Verification of the training window's FG-A + FG-C data, as a JSON report with violations.

Per UTC day of the window: the FG-A and FG-C Parquet files and rows, and the distinct 15-minute windows
present in both. Checks, each against a threshold of the spec (a missing threshold is not checked,
except `min_day_coverage`, default 0.9):
- day coverage: days with both FG-A and FG-C partitions / days in the window  >= min_day_coverage
- window coverage: distinct window starts present in the join / (96 x days)   >= min_window_coverage
- joined rows >= min_rows; distinct hosts >= min_hosts
- per feature column, null share in the join                                   <= max_null_fraction
- duplicated join keys (per group) / rows                                       <= max_duplicate_key_fraction
- required columns present in the join; schema drift: every partition's columns and types compared with
  the latest partition's (the reference), per group.
- `max_psi`: per feature, the population stability index of the window's joined values against the
  previous training window's histogram (`reference`: the `feature_distributions` of the model in service,
  runtime/modelops/drift.py); the largest must not exceed it. Without a reference (no model yet, or one trained
  before histograms were recorded) it is not evaluated and the report says why.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.features.fg_a import NOT_FEATURES
from runtime.modelops.drift import DriftReference
from runtime.storage import Storage, join
from runtime.training.dataset import numeric_features
from runtime.training.partitions import PartitionFile, discover
from runtime.training.window import TrainingWindow

WINDOWS_PER_DAY = 96
DEFAULT_MIN_DAY_COVERAGE = 0.9


def report_uri(report_prefix: str, project: str, version: str | None, reference_ts: str) -> str:
    """Where the verifier writes its report and `pipeline_missing_feature_creation` reads it."""
    return join(report_prefix, project, version or "unversioned", reference_ts[:10], "verification.json")


@dataclass(frozen=True)
class Thresholds:
    min_day_coverage: float = DEFAULT_MIN_DAY_COVERAGE
    min_window_coverage: float | None = None
    min_rows: int | None = None
    min_hosts: int | None = None
    max_null_fraction: float | None = None
    max_duplicate_key_fraction: float | None = None
    max_psi: float | None = None


@dataclass(frozen=True)
class VerificationInputs:
    fg_a_prefix: str
    fg_c_prefix: str
    join_keys: tuple[str, ...]
    required_columns: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    reference: DriftReference | None = None


def _schema(storage: Storage, uri: str) -> dict[str, str]:
    import pyarrow.parquet as pq

    schema = pq.read_schema(io.BytesIO(storage.read_bytes(uri)))
    return {f.name: str(f.type) for f in schema}


def _drift(storage: Storage, files: list[PartitionFile]) -> list[dict[str, Any]]:
    if not files:
        return []
    schemas = {f.uri: _schema(storage, f.uri) for f in files}
    reference = schemas[max(files, key=lambda f: (f.dt or "", f.uri)).uri]
    found = []
    for f in files:
        schema = schemas[f.uri]
        missing = sorted(set(reference) - set(schema))
        extra = sorted(set(schema) - set(reference))
        changed = sorted(c for c in set(schema) & set(reference) if schema[c] != reference[c])
        if missing or extra or changed:
            found.append(
                {
                    "file": f.uri,
                    "dt": f.dt,
                    "missing": missing,
                    "extra": extra,
                    "changed_types": {c: [reference[c], schema[c]] for c in changed},
                }
            )
    return found


def verify(storage: Storage, inputs: VerificationInputs, window: TrainingWindow, version: str | None) -> dict[str, Any]:
    import pandas as pd

    from runtime.training.dataset import read_partitions

    fg_a_files = discover(storage, inputs.fg_a_prefix, feature_spec_version=version, accept_dt=window.holds_date)
    fg_c_files = discover(storage, inputs.fg_c_prefix, feature_spec_version=version, accept_dt=window.holds_date)
    fg_a, fg_c = read_partitions(storage, fg_a_files), read_partitions(storage, fg_c_files)
    keys = list(inputs.join_keys)
    days = [d.isoformat() for d in window.dates()]
    per_day: dict[str, dict[str, Any]] = {
        d: {"fg_a_files": 0, "fg_c_files": 0, "fg_a_rows": 0, "fg_c_rows": 0, "windows": 0} for d in days
    }
    for group, files in (("fg_a", fg_a_files), ("fg_c", fg_c_files)):
        for f in files:
            if f.dt in per_day:
                per_day[f.dt][f"{group}_files"] += 1
    for group, frame in (("fg_a", fg_a), ("fg_c", fg_c)):
        if not frame.empty and "dt" in frame.columns:
            for dt, rows in frame.groupby("dt").size().items():
                if dt in per_day:
                    per_day[str(dt)][f"{group}_rows"] = int(rows)

    usable = all(k in fg_a.columns for k in keys) and all(k in fg_c.columns for k in keys)
    joined = pd.DataFrame()
    duplicates = {"fg_a": 0, "fg_c": 0}
    if usable:
        duplicates = {"fg_a": int(fg_a.duplicated(keys).sum()), "fg_c": int(fg_c.duplicated(keys).sum())}
        right = fg_c[[c for c in fg_c.columns if c in keys or c not in fg_a.columns]].drop_duplicates(keys)
        joined = fg_a.drop_duplicates(keys).merge(right, on=keys, how="inner")
    if not joined.empty and "window_start_ts" in joined.columns:
        starts = pd.to_datetime(joined["window_start_ts"], utc=True)
        for dt, count in starts.groupby(starts.dt.strftime("%Y-%m-%d")).nunique().items():
            if dt in per_day:
                per_day[str(dt)]["windows"] = int(count)

    covered = [d for d in days if per_day[d]["fg_a_files"] and per_day[d]["fg_c_files"]]
    features = numeric_features(joined, NOT_FEATURES | frozenset(keys)) if not joined.empty else []
    rows = len(joined)
    null_fraction = {c: float(joined[c].isna().mean()) for c in features} if rows else {}
    t = inputs.thresholds
    measured = {
        "day_coverage": len(covered) / len(days) if days else 0.0,
        "window_coverage": sum(per_day[d]["windows"] for d in days) / (WINDOWS_PER_DAY * len(days)) if days else 0.0,
        "rows": rows,
        "hosts": int(joined["host_ip"].nunique()) if rows and "host_ip" in joined.columns else 0,
        "max_null_fraction": max(null_fraction.values(), default=0.0),
        "duplicate_key_fraction": max(duplicates["fg_a"] / max(len(fg_a), 1), duplicates["fg_c"] / max(len(fg_c), 1)),
    }
    violations: list[str] = []

    def at_least(name: str, value: float, bound: float | None, what: str) -> None:
        if bound is not None and value < bound:
            violations.append(f"{what} {value:.4g} is below {name} {bound:g}")

    def at_most(name: str, value: float, bound: float | None, what: str) -> None:
        if bound is not None and value > bound:
            violations.append(f"{what} {value:.4g} is above {name} {bound:g}")

    missing_days = {
        "fg_a": [d for d in days if not per_day[d]["fg_a_files"]],
        "fg_c": [d for d in days if not per_day[d]["fg_c_files"]],
    }
    at_least(
        "min_day_coverage",
        measured["day_coverage"],
        t.min_day_coverage,
        f"day coverage ({len(covered)} of {len(days)} days have FG-A and FG-C partitions)",
    )
    at_least("min_window_coverage", measured["window_coverage"], t.min_window_coverage, "15-minute window coverage")
    at_least("min_rows", rows, t.min_rows, "joined rows")
    at_least("min_hosts", measured["hosts"], t.min_hosts, "distinct hosts")
    worst = max(null_fraction, key=lambda c: null_fraction[c], default=None)
    at_most("max_null_fraction", measured["max_null_fraction"], t.max_null_fraction, f"null share of {worst}")
    at_most(
        "max_duplicate_key_fraction",
        measured["duplicate_key_fraction"],
        t.max_duplicate_key_fraction,
        "duplicated join keys share",
    )
    if not usable:
        violations.append(f"join keys {', '.join(keys)} are missing from FG-A or FG-C")
    if missing_columns := [c for c in inputs.required_columns if c not in joined.columns]:
        violations.append(f"required columns missing from the joined data: {', '.join(missing_columns)}")
    psi, not_evaluated = _psi(joined, inputs.reference) if t.max_psi is not None else ({}, {})
    if psi:
        measured["max_psi"] = max(psi.values())
        worst_psi = max(psi, key=lambda c: psi[c])
        source = inputs.reference.source if inputs.reference else ""
        at_most("max_psi", measured["max_psi"], t.max_psi, f"PSI of {worst_psi} against {source}")
    drift = {"fg_a": _drift(storage, fg_a_files), "fg_c": _drift(storage, fg_c_files)}
    for group, found in drift.items():
        if found:
            violations.append(f"{group} schema drift in {len(found)} file(s), e.g. {found[0]['file']}")
    return {
        "window": window.as_dict(),
        "inputs": {"fg_a": inputs.fg_a_prefix, "fg_c": inputs.fg_c_prefix, "join_keys": keys},
        "measured": measured,
        "thresholds": {k: v for k, v in vars(t).items()},
        "not_evaluated": not_evaluated,
        "psi": psi,
        "psi_reference": inputs.reference.source if psi and inputs.reference else None,
        "missing_days": missing_days,
        "per_day": per_day,
        "null_fraction": null_fraction,
        "duplicate_keys": duplicates,
        "schema_drift": drift,
        "violations": violations,
        "passed": not violations,
    }


def _psi(joined: Any, reference: DriftReference | None) -> tuple[dict[str, float], dict[str, str]]:
    from runtime.modelops.drift import feature_psi

    if reference is None or reference.distributions is None:
        reason = reference.missing_reason if reference else "no reference distribution was looked up"
        return {}, {"max_psi": reason}
    if joined.empty:
        return {}, {"max_psi": "no joined rows to compare"}
    columns = {
        name: joined[name].to_numpy(dtype="float64", na_value=float("nan"))
        for name in reference.distributions
        if name in joined.columns
    }
    found = feature_psi(reference.distributions, columns)
    if not found:
        return {}, {"max_psi": f"none of the features of {reference.source} is in the joined data"}
    return found, {}


def thresholds_from(raw: Mapping[str, Any]) -> Thresholds:
    def pick(name: str, cast: type) -> Any:
        value = raw.get(name)
        return None if value is None else cast(value)

    return Thresholds(
        min_day_coverage=float(raw.get("min_day_coverage", DEFAULT_MIN_DAY_COVERAGE)),
        min_window_coverage=pick("min_window_coverage", float),
        min_rows=pick("min_rows", int),
        min_hosts=pick("min_hosts", int),
        max_null_fraction=pick("max_null_fraction", float),
        max_duplicate_key_fraction=pick("max_duplicate_key_fraction", float),
        max_psi=pick("max_psi", float),
    )
