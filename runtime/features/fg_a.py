"""What consumers of FG-A rely on (docs: RUNTIME_CONTRACT, FG-A output): identity columns and metric discovery."""

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


def metric_columns(dtypes: Iterable[tuple[str, str]]) -> list[str]:
    """Every numeric `<metric>_w_<size>` column, in schema order (`dtypes` as Spark's `DataFrame.dtypes`)."""
    return [
        name
        for name, dtype in dtypes
        if METRIC_COLUMN.match(name) and (dtype in NUMERIC_TYPES or dtype.startswith("decimal"))
    ]
