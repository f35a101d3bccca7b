"""What consumers of FG-A rely on (docs: RUNTIME_CONTRACT, FG-A output): identity columns and metric discovery.

The one definition of FG-A's non-metric columns; the other lists derive from it:
- `IDENTITY_COLUMNS`: the row's window and batch. Every per-window feature group carries them (FG-C copies
  them from FG-A and fails without them), so they are what FG-A and FG-C rows share.
- `HOST_ATTRIBUTES`: what FG-A says about the host, not a measurement. FG-C does not carry them (it reads
  `segment` for its baseline lookup, when present).
- `OUTPUT_IDENTITY_COLUMNS`: both, in FG-A's output order (the builder's projection follows it).
- `NOT_FEATURES`: no model ever uses these as features (training and inference exclude them).
- `MODEL_JOIN_KEYS`: the default keys of the FG-A + FG-C join of training and inference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

METRIC_COLUMN = re.compile(r"^(?P<metric>.+)_w_(?P<size>15m|1h|8h|24h)$")
NUMERIC_TYPES = frozenset({"tinyint", "smallint", "int", "bigint", "float", "double"})
IDENTITY_COLUMNS: tuple[str, ...] = (
    "host_ip",
    "window_label",
    "window_start_ts",
    "window_end_ts",
    "project_name",
    "feature_spec_version",
    "mini_batch_id",
    "dt",
)
HOST_ATTRIBUTES: tuple[str, ...] = ("segment", "is_vdi")
OUTPUT_IDENTITY_COLUMNS: tuple[str, ...] = (*IDENTITY_COLUMNS, *HOST_ATTRIBUTES)
NOT_FEATURES: frozenset[str] = frozenset(OUTPUT_IDENTITY_COLUMNS)
MODEL_JOIN_KEYS: tuple[str, ...] = ("host_ip", "window_label", "window_end_ts")
"""The default `join_keys` on which an FG-A row meets its FG-C row for the model: training, its data verifier,
inference and the prediction join use the same ones (a model scores rows joined as it was trained)."""


def metric_columns(dtypes: Iterable[tuple[str, str]]) -> list[str]:
    """Every numeric `<metric>_w_<size>` column, in schema order (`dtypes` as Spark's `DataFrame.dtypes`)."""
    return [
        name
        for name, dtype in dtypes
        if METRIC_COLUMN.match(name) and (dtype in NUMERIC_TYPES or dtype.startswith("decimal"))
    ]
