"""The run report's scores read from Parquet in the jobs' layout (Hive partitions below the storage root)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from compiler.local.demo_report import Deviation
from compiler.local.run_scores import deviations, host_scores, peaks

T0 = datetime(2025, 1, 15, 10, 8, tzinfo=UTC)
PREDICTIONS = "s3://ndr-features-local/ndr-prod/v1/predictions/"
FG_C = "s3://ndr-features-local/ndr-prod/v1/fg_c/"


def _write(root: Path, prefix: str, leaf: str, rows: list[dict[str, object]]) -> None:
    folder = root / prefix.removeprefix("s3://") / leaf
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")


def test_scores_and_the_peak_windows_deviations_are_read_back(tmp_path: Path) -> None:
    windows = [T0 + timedelta(minutes=15 * i) for i in range(3)]
    for i, end in enumerate(windows):
        leaf = f"feature_spec_version=v1/dt=2025-01-15/mini_batch_id=b{i}"
        _write(
            tmp_path,
            PREDICTIONS,
            leaf,
            [
                {
                    "host_ip": "10.0.0.66",
                    "window_label": f"w{i}",
                    "window_end_ts": end,
                    "anomaly_score": 0.4 + 0.2 * i,
                    "is_anomaly": i == 2,
                },
                {
                    "host_ip": "10.0.0.7",
                    "window_label": f"w{i}",
                    "window_end_ts": end,
                    "anomaly_score": 0.45,
                    "is_anomaly": False,
                },
            ],
        )
        _write(
            tmp_path,
            FG_C,
            leaf,
            [
                {
                    "host_ip": "10.0.0.66",
                    "window_end_ts": end,
                    "sessions_cnt_w_15m_z_7d": 1.0 + i,
                    "external_peers_cnt_w_15m_z_7d": -0.5 - 2 * i,
                    "bytes_src_sum_w_15m_z_30d": None,
                    "suspicion_score_7d": 9.0,
                },
                {
                    "host_ip": "10.0.0.7",
                    "window_end_ts": end,
                    "sessions_cnt_w_15m_z_7d": 0.1 * i,
                    "external_peers_cnt_w_15m_z_7d": 0.0,
                    "bytes_src_sum_w_15m_z_30d": 0.3,
                    "suspicion_score_7d": 0.0,
                },
            ],
        )
    scores = host_scores(tmp_path, PREDICTIONS, "ndr-prod")
    assert len(scores) == 6 and [s.window_end for s in scores] == sorted(s.window_end for s in scores)
    top = peaks(scores, top=2)
    assert list(top.items()) == [("10.0.0.66", windows[2]), ("10.0.0.7", windows[0])]  # earliest of equal scores
    found = deviations(tmp_path, FG_C, top, per_host=2)
    assert found == [
        Deviation("10.0.0.66", "external_peers_cnt_w_15m_z_7d", -4.5),
        Deviation("10.0.0.66", "sessions_cnt_w_15m_z_7d", 3.0),
        Deviation("10.0.0.7", "bytes_src_sum_w_15m_z_30d", 0.3),
        Deviation("10.0.0.7", "external_peers_cnt_w_15m_z_7d", 0.0),
    ]


def test_nothing_written_yet_is_no_scores(tmp_path: Path) -> None:
    assert host_scores(tmp_path, PREDICTIONS, "ndr-prod") == [] and deviations(tmp_path, FG_C, {}) == []
