"""FG-A joined with FG-C over the training window, as a pandas frame and a feature matrix.

Features are the numeric (integer or floating, not boolean) columns of either group that are not
identity columns (join keys, window bounds, project/version/batch/date partitions, segment, is_vdi),
sorted by name so the order never depends on file order. FG-C columns that repeat an FG-A column are
taken from FG-A. Rows are the inner join on `join_keys`, restricted to start <= window_start_ts < end,
sorted by the join keys.

Rows that carry no baseline are left out: FG-C names the baseline each horizon used in
`baseline_source_<horizon>` (null when FG-B had neither a host nor a segment baseline for the row), and a
row whose every `baseline_source_*` is null has every deviation null (the windows before a project's first
FG-B baseline). Imputed, such rows all sit at the training medians and teach the forest that "no deviation"
is the normal; they are counted (`rows_without_baseline`) in the training report instead. Frames without
`baseline_source_*` columns (FG-C written without them) keep every row.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from runtime.errors import RuntimeJobError
from runtime.features.fg_a import NOT_FEATURES
from runtime.storage import Storage
from runtime.training.partitions import PartitionFile, discover
from runtime.training.window import TrainingWindow


@dataclass(frozen=True)
class TrainingFrame:
    frame: pd.DataFrame
    feature_names: tuple[str, ...]
    fg_a_files: tuple[str, ...]
    fg_c_files: tuple[str, ...]
    rows_without_baseline: int = 0

    def matrix(self, names: tuple[str, ...] | None = None) -> np.ndarray:
        columns = list(names or self.feature_names)
        return self.frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)


def read_partitions(storage: Storage, files: list[PartitionFile]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frames = []
    for f in files:
        table = pq.read_table(io.BytesIO(storage.read_bytes(f.uri)))
        frame = table.to_pandas()
        for key, value in f.values.items():
            if key not in frame.columns:
                frame[key] = value
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True, sort=False)


def numeric_features(frame: pd.DataFrame, exclude: frozenset[str]) -> list[str]:
    return sorted(
        c
        for c in frame.columns
        if c not in exclude and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    )


BASELINE_SOURCE_PREFIX = "baseline_source_"


def without_baseline(frame: pd.DataFrame) -> pd.Series:
    """True for the rows whose every `baseline_source_<horizon>` is null (False everywhere without such columns)."""
    sources = [c for c in frame.columns if c.startswith(BASELINE_SOURCE_PREFIX)]
    if not sources:
        return pd.Series(False, index=frame.index)
    return frame[sources].isna().all(axis=1)


def _utc(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series, utc=True)
    return values.dt.tz_convert("UTC")


def load_training_frame(
    storage: Storage,
    *,
    fg_a_prefix: str,
    fg_c_prefix: str,
    join_keys: tuple[str, ...],
    window: TrainingWindow,
    feature_spec_version: str | None,
) -> TrainingFrame:
    fg_a_files = discover(storage, fg_a_prefix, feature_spec_version=feature_spec_version, accept_dt=window.holds_date)
    fg_c_files = discover(storage, fg_c_prefix, feature_spec_version=feature_spec_version, accept_dt=window.holds_date)
    span = f"{window.start:%Y-%m-%d} .. {window.end:%Y-%m-%d} (exclusive)"
    if not fg_a_files:
        raise RuntimeJobError(f"no FG-A partitions under {fg_a_prefix} in the training window {span}")
    if not fg_c_files:
        raise RuntimeJobError(f"no FG-C partitions under {fg_c_prefix} in the training window {span}")
    fg_a, fg_c = read_partitions(storage, fg_a_files), read_partitions(storage, fg_c_files)
    for name, frame in (("FG-A", fg_a), ("FG-C", fg_c)):
        if missing := [k for k in join_keys if k not in frame.columns]:
            raise RuntimeJobError(f"{name} has no join key column(s) {', '.join(missing)}")
        for column in ("window_start_ts", "window_end_ts"):
            if column in frame.columns:
                frame[column] = _utc(frame[column])
    fg_c = fg_c[[c for c in fg_c.columns if c in join_keys or c not in fg_a.columns]]
    for name, frame in (("FG-A", fg_a), ("FG-C", fg_c)):
        if duplicated := int(frame.duplicated(list(join_keys)).sum()):
            raise RuntimeJobError(f"{name} has {duplicated} rows repeating a join key ({', '.join(join_keys)})")
    joined = fg_a.merge(fg_c, on=list(join_keys), how="inner")
    if "window_start_ts" in joined.columns:
        start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
        joined = joined[(joined["window_start_ts"] >= start) & (joined["window_start_ts"] < end)]
    joined = joined.sort_values(list(join_keys), kind="mergesort").reset_index(drop=True)
    features = tuple(numeric_features(joined, NOT_FEATURES | frozenset(join_keys)))
    if joined.empty:
        raise RuntimeJobError(f"FG-A and FG-C share no rows on {', '.join(join_keys)} in the window {span}")
    unbaselined = without_baseline(joined)
    if bool(unbaselined.all()):
        raise RuntimeJobError(
            f"none of the {len(joined)} FG-A + FG-C rows in the window {span} has an FG-B baseline (every "
            "baseline_source_* is null): build FG-B baselines before training"
        )
    joined = joined[~unbaselined].reset_index(drop=True)
    if not features:
        raise RuntimeJobError("the joined FG-A + FG-C data has no numeric feature columns")
    return TrainingFrame(
        joined,
        features,
        tuple(f.uri for f in fg_a_files),
        tuple(f.uri for f in fg_c_files),
        int(unbaselined.sum()),
    )
