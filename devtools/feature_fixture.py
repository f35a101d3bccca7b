"""Synthetic FG-A + FG-C Parquet partitions in the runtime contract's layout, with one injected anomalous host.

For model tests and the training benchmark until the synthetic world's feature run lands. Layout:
`<prefix>/feature_spec_version=<v>/dt=<YYYY-MM-DD>/mini_batch_id=<id>/part-00000.parquet`, one mini-batch
per day holding that day's windows. FG-A: `<metric>_w_<15m|1h|8h|24h>` per host and window; FG-C:
`<fg_a 15m column>_{z,logratio,pctl}_7d` and `baseline_source_7d` (null deviations for hosts without a
baseline). The anomalous host sends ~30x its usual traffic to ~20x its usual peers in `anomaly_windows`
of its windows on the last day.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

METRICS = ("sessions_cnt", "bytes_src_sum", "bytes_dst_sum", "distinct_peers_cnt", "distinct_peer_ports_cnt")
SIZES = {"15m": 1, "1h": 4, "8h": 32, "24h": 96}
DEVIATION_METRICS = ("sessions_cnt_w_15m", "bytes_src_sum_w_15m", "bytes_dst_sum_w_15m")
HORIZON = "7d"


@dataclass(frozen=True)
class FixtureOptions:
    hosts: int = 20
    days: int = 21
    windows_per_day: int = 12
    start: date = date(2025, 4, 1)
    seed: int = 7
    anomalous_host: str = "10.0.0.99"
    anomaly_windows: int = 6
    feature_spec_version: str = "v1"
    project_name: str = "ndr-prod"
    hosts_without_baseline: int = 2


@dataclass(frozen=True)
class Fixture:
    fg_a: pd.DataFrame
    fg_c: pd.DataFrame
    anomalous_rows: pd.DataFrame = field(repr=False)

    @property
    def feature_count(self) -> int:
        keys = {"host_ip", "window_label", "window_start_ts", "window_end_ts"}
        numeric = [
            c
            for frame in (self.fg_a, self.fg_c)
            for c in frame.columns
            if c not in keys and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ]
        return len(numeric)


def host_ips(n: int, anomalous: str) -> list[str]:
    return [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(n - 1)] + [anomalous]


def window_starts(options: FixtureOptions) -> list[datetime]:
    """Windows start at :08/:23/:38/:53; `windows_per_day` of them, evenly spaced, from 00:08 UTC."""
    quarters = max(1, 96 // options.windows_per_day)
    first = datetime.combine(options.start, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=8)
    return [
        first + timedelta(days=day, minutes=15 * quarters * w)
        for day in range(options.days)
        for w in range(options.windows_per_day)
    ]


def build_fixture(options: FixtureOptions = FixtureOptions()) -> Fixture:
    rng = np.random.default_rng(options.seed)
    hosts = host_ips(options.hosts, options.anomalous_host)
    starts = window_starts(options)
    base = {h: rng.uniform(5, 50) for h in hosts}
    peers = {h: rng.uniform(2, 10) for h in hosts}
    last_day = options.start + timedelta(days=options.days - 1)
    last_day_windows = [s for s in starts if s.date() == last_day]
    anomalous = set(last_day_windows[-options.anomaly_windows :])
    rows = []
    for start in starts:
        for host in hosts:
            burst = host == options.anomalous_host and start in anomalous
            traffic = base[host] * (30.0 if burst else 1.0)
            row: dict[str, object] = {
                "host_ip": host,
                "window_label": start.strftime("%Y-%m-%dT%H:%MZ"),
                "window_start_ts": start,
                "window_end_ts": start + timedelta(minutes=15),
                "project_name": options.project_name,
                "segment": "corp" if host.endswith(("1", "3", "5", "7")) else None,
                "is_vdi": False,
            }
            for size, factor in SIZES.items():
                sessions = int(rng.poisson(traffic * factor))
                row[f"sessions_cnt_w_{size}"] = sessions
                row[f"bytes_src_sum_w_{size}"] = int(sessions * rng.uniform(800, 1200))
                row[f"bytes_dst_sum_w_{size}"] = int(sessions * rng.uniform(3000, 5000))
                spread = peers[host] * (20.0 if burst else 1.0)
                row[f"distinct_peers_cnt_w_{size}"] = int(rng.poisson(spread * min(factor, 8)))
                row[f"distinct_peer_ports_cnt_w_{size}"] = int(rng.poisson(2 * min(factor, 4)) + (40 if burst else 0))
            rows.append(row)
    fg_a = pd.DataFrame(rows)
    fg_c = fg_a[["host_ip", "window_label", "window_start_ts", "window_end_ts", "project_name"]].copy()
    no_baseline = set(hosts[: options.hosts_without_baseline])
    has_baseline = ~fg_a["host_ip"].isin(no_baseline)
    for column in DEVIATION_METRICS:
        median = fg_a.groupby("host_ip")[column].transform("median").astype(float)
        mad = fg_a.groupby("host_ip")[column].transform(lambda s: (s - s.median()).abs().median()).astype(float)
        z = ((fg_a[column] - median) / (1.4826 * mad + 1e-6)).clip(-6, 6)
        fg_c[f"{column}_z_{HORIZON}"] = z.where(has_baseline)
        fg_c[f"{column}_logratio_{HORIZON}"] = np.log((fg_a[column] + 1) / (median + 1)).where(has_baseline)
        fg_c[f"{column}_pctl_{HORIZON}"] = fg_a.groupby("host_ip")[column].rank(pct=True).where(has_baseline)
    fg_c[f"baseline_source_{HORIZON}"] = pd.Series("host", index=fg_a.index).where(has_baseline)
    anomalous_rows = fg_a[(fg_a["host_ip"] == options.anomalous_host) & fg_a["window_start_ts"].isin(list(anomalous))][
        ["host_ip", "window_label"]
    ]
    return Fixture(fg_a, fg_c, anomalous_rows.reset_index(drop=True))


def partition_files(frame: pd.DataFrame, prefix: str, feature_spec_version: str) -> dict[str, bytes]:
    """URI -> Parquet bytes, one file per day (mini_batch_id `day-<YYYYMMDD>`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = {}
    days = frame["window_start_ts"].dt.strftime("%Y-%m-%d")
    for dt in sorted(days.unique()):
        part = frame[days == dt].reset_index(drop=True)
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), buffer)
        batch = "day-" + dt.replace("-", "")
        partition = f"feature_spec_version={feature_spec_version}/dt={dt}/mini_batch_id={batch}"
        uri = f"{prefix.rstrip('/')}/{partition}/part-00000.parquet"
        files[uri] = buffer.getvalue()
    return files


def write_fixture(
    fixture: Fixture, fg_a_prefix: str, fg_c_prefix: str, write: Callable[[str, bytes], None], version: str = "v1"
) -> list[str]:
    written = []
    for frame, prefix in ((fixture.fg_a, fg_a_prefix), (fixture.fg_c, fg_c_prefix)):
        for uri, data in partition_files(frame, prefix, version).items():
            write(uri, data)
            written.append(uri)
    return written
