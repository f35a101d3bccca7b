"""The run report's scores, read from what the jobs wrote to the local storage root: per-host anomaly scores
over time (the `inference_predictions` output) and the top hosts' largest FG-C deviations (`*_z_<horizon>`
columns) in their highest-scoring window."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compiler.local.demo_report import Deviation, HostScore
from runtime.inference.tables import list_parquet, read_files
from runtime.storage import LocalStorage

Z_MARKER = "_z_"


def _rows(storage_root: Path, prefix: str) -> list[dict[str, Any]]:
    storage = LocalStorage(storage_root)
    table = read_files(storage, prefix, list_parquet(storage, prefix))
    return [] if table is None else list(table.to_pylist())


def _utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def host_scores(
    storage_root: Path, predictions_prefix: str, project: str, score_column: str = "anomaly_score"
) -> list[HostScore]:
    """One score per host and window (`host_ip`, `window_end_ts`), oldest window first."""
    found = [
        HostScore(project, str(row["host_ip"]), _utc(row["window_end_ts"]), float(row[score_column]))
        for row in _rows(storage_root, predictions_prefix)
    ]
    return sorted(found, key=lambda s: (s.window_end, s.host))


def deviations(storage_root: Path, fg_c_prefix: str, peaks: dict[str, datetime], per_host: int = 4) -> list[Deviation]:
    """For each host (in the given order) the `per_host` FG-C z-scores of largest magnitude in the window
    ending at its peak."""
    rows = _rows(storage_root, fg_c_prefix)
    found: list[Deviation] = []
    for host, window_end in peaks.items():
        matching = [row for row in rows if row.get("host_ip") == host and _utc(row["window_end_ts"]) == window_end]
        z = {
            name: float(value)
            for row in matching
            for name, value in row.items()
            if Z_MARKER in name and isinstance(value, int | float) and not isinstance(value, bool)
        }
        ranked = sorted(z.items(), key=lambda item: (-abs(item[1]), item[0]))[:per_host]
        found += [Deviation(host, name, value) for name, value in ranked]
    return found


def peaks(scores: list[HostScore], top: int = 3) -> dict[str, datetime]:
    """The `top` hosts by highest score -> the window of that score (earliest on ties), highest first."""
    best: dict[str, HostScore] = {}
    for s in scores:
        if s.host not in best or s.score > best[s.host].score:
            best[s.host] = s
    ranked = sorted(best.values(), key=lambda s: (-s.score, s.host))[:top]
    return {s.host: s.window_end for s in ranked}
