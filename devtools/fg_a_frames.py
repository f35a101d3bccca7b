"""Synthetic FG-A output in the contract layout, for the FG-B / FG-C tests and the FG-B benchmark.

Writes `<dir>/feature_spec_version=<v>/dt=<YYYY-MM-DD>/mini_batch_id=<id>/part-00000.parquet`, one file per
15-minute window, each with one row per host: `host_ip, window_label, window_start_ts, window_end_ts,
project_name, segment, is_vdi` and the metric columns of `METRICS` (counts as int64, means as double).
Hosts have their own Poisson / log-normal levels, so baselines differ per host; one host can be given an
anomaly (metrics multiplied) in chosen windows. Same arguments, same bytes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

METRICS: tuple[str, ...] = (
    "sessions_cnt_w_15m",
    "bytes_src_sum_w_15m",
    "bytes_dst_sum_w_15m",
    "distinct_peers_cnt_w_1h",
    "duration_mean_w_15m",
)
WINDOW = timedelta(minutes=15)
FIRST_OFFSET = timedelta(minutes=8)  # windows start at 08/23/38/53
END_OFFSET = timedelta(minutes=14, seconds=41)  # the batch end inside the window


@dataclass(frozen=True)
class FgAWorld:
    hosts: int = 12
    days: int = 10
    windows_per_day: int = 96
    start_day: str = "2025-01-01"
    segments: tuple[str | None, ...] = ("corp", "pci", "servers", None)
    vdi_every: int = 0
    """Every n-th host (n > 0) is a VDI host (`is_vdi` true)."""
    anomaly_host: int | None = None
    anomaly_windows: Sequence[int] = field(default_factory=tuple)
    """Global window indexes (day * windows_per_day + k) where the anomaly host's metrics are multiplied."""
    anomaly_factor: float = 40.0
    project_name: str = "ndr-test"
    feature_spec_version: str = "v1"
    seed: int = 7

    def host_ip(self, index: int) -> str:
        return f"10.{20 + index // 250}.{index % 250 // 10}.{index % 10 + 1}"

    def window_start(self, day: int, k: int) -> datetime:
        start = datetime.fromisoformat(self.start_day).replace(tzinfo=UTC)
        minutes_per_day = 24 * 60
        spacing = timedelta(minutes=minutes_per_day // self.windows_per_day)
        return start + timedelta(days=day) + FIRST_OFFSET + spacing * k


def write_fg_a(world: FgAWorld, directory: Path) -> int:
    """Writes the world's FG-A rows under `directory`; returns the row count."""
    rng = random.Random(world.seed)
    n = world.hosts
    ips = [world.host_ip(i) for i in range(n)]
    segments = [world.segments[i % len(world.segments)] for i in range(n)]
    vdi = [world.vdi_every > 0 and i % world.vdi_every == world.vdi_every - 1 for i in range(n)]
    sessions_level = [rng.uniform(2, 40) for _ in range(n)]
    bytes_level = [rng.uniform(8, 13) for _ in range(n)]
    peers_level = [rng.uniform(1, 12) for _ in range(n)]
    anomalies = set(world.anomaly_windows)
    rows = 0

    def count(level: float, factor: float) -> int:
        return int(max(0, round(rng.gauss(level, math.sqrt(level)))) * factor)

    for day in range(world.days):
        for k in range(world.windows_per_day):
            start = world.window_start(day, k)
            index = day * world.windows_per_day + k
            factor = [1.0] * n
            if world.anomaly_host is not None and index in anomalies:
                factor[world.anomaly_host] = world.anomaly_factor
            table = pa.table(
                {
                    "host_ip": pa.array(ips, pa.string()),
                    "window_label": pa.array([f"{start:%Y-%m-%dT%H:%MZ}"] * n, pa.string()),
                    "window_start_ts": pa.array([start] * n, pa.timestamp("us", tz="UTC")),
                    "window_end_ts": pa.array([start + END_OFFSET] * n, pa.timestamp("us", tz="UTC")),
                    "project_name": pa.array([world.project_name] * n, pa.string()),
                    "segment": pa.array(segments, pa.string()),
                    "is_vdi": pa.array(vdi, pa.bool_()),
                    "sessions_cnt_w_15m": pa.array([count(sessions_level[i], factor[i]) for i in range(n)], pa.int64()),
                    "bytes_src_sum_w_15m": pa.array(
                        [int(rng.lognormvariate(bytes_level[i], 1.0) * factor[i]) for i in range(n)], pa.int64()
                    ),
                    "bytes_dst_sum_w_15m": pa.array(
                        [int(rng.lognormvariate(bytes_level[i] + 1, 0.8) * factor[i]) for i in range(n)], pa.int64()
                    ),
                    "distinct_peers_cnt_w_1h": pa.array(
                        [count(peers_level[i], factor[i]) for i in range(n)], pa.int64()
                    ),
                    "duration_mean_w_15m": pa.array(
                        [round(rng.expovariate(1 / 30.0) * factor[i], 3) for i in range(n)], pa.float64()
                    ),
                }
            )
            batch_id = batch_id_of(start)
            leaf = (
                directory
                / f"feature_spec_version={world.feature_spec_version}"
                / f"dt={start:%Y-%m-%d}"
                / f"mini_batch_id={batch_id}"
            )
            leaf.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, leaf / "part-00000.parquet")
            rows += n
    return rows


def batch_id_of(start: datetime) -> str:
    return f"b{start:%Y%m%d%H%M}"
