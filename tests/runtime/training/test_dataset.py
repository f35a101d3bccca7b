"""Partition discovery and the FG-A + FG-C join, on Parquet files in local storage."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from devtools.feature_fixture import FixtureOptions, build_fixture, partition_files, write_fixture
from runtime.errors import RuntimeJobError
from runtime.storage import LocalStorage
from runtime.training.dataset import load_training_frame
from runtime.training.partitions import discover
from runtime.training.window import TrainingWindow

FG_A, FG_C = "s3://f/fg_a/", "s3://f/fg_c/"
WINDOW = TrainingWindow.before(datetime(2025, 6, 1, tzinfo=UTC), 4, 1)
KEYS = ("host_ip", "window_label", "window_end_ts")


def _storage(tmp_path: Path, hosts_without_baseline: int = 2) -> tuple[LocalStorage, pd.DataFrame]:
    storage = LocalStorage(tmp_path)
    fixture = build_fixture(
        FixtureOptions(
            hosts=3, days=2, windows_per_day=4, start=date(2025, 4, 30), hosts_without_baseline=hosts_without_baseline
        )
    )
    write_fixture(fixture, FG_A, FG_C, storage.write_bytes)
    for uri, data in partition_files(fixture.fg_a, FG_A, "v2").items():  # another version: never read
        storage.write_bytes(uri, data)
    return storage, fixture.fg_a


def test_only_the_window_days_of_the_version_are_listed(tmp_path: Path) -> None:
    storage, _ = _storage(tmp_path)
    files = discover(storage, FG_A, feature_spec_version="v1", accept_dt=WINDOW.holds_date)
    assert [(f.dt, f.values["feature_spec_version"], f.values["mini_batch_id"]) for f in files] == [
        ("2025-04-30", "v1", "day-20250430")
    ]


def test_the_join_keeps_window_rows_and_sorted_numeric_features(tmp_path: Path) -> None:
    storage, fg_a = _storage(tmp_path)
    data = load_training_frame(
        storage, fg_a_prefix=FG_A, fg_c_prefix=FG_C, join_keys=KEYS, window=WINDOW, feature_spec_version="v1"
    )
    in_window = fg_a[fg_a["window_start_ts"] < pd.Timestamp("2025-05-01", tz="UTC")]
    # 3 hosts x 4 windows in the window; the fixture's first 2 hosts have no FG-B baseline (every
    # baseline_source_* null): their 8 rows are left out and counted
    assert len(in_window) == 12 and data.rows_without_baseline == 8 and len(data.frame) == 4
    assert data.frame["baseline_source_7d"].notna().all() and data.frame["host_ip"].nunique() == 1
    assert list(data.feature_names) == sorted(data.feature_names)
    assert "is_vdi" not in data.feature_names and "sessions_cnt_w_15m_z_7d" in data.feature_names
    assert data.frame["dt"].unique().tolist() == ["2025-04-30"]


def test_repeated_join_keys_are_refused(tmp_path: Path) -> None:
    storage, fg_a = _storage(tmp_path)
    day = fg_a[fg_a["window_start_ts"].dt.day == 30]
    for uri, data in partition_files(pd.concat([day, day.head(2)]), FG_A, "v1").items():
        storage.write_bytes(uri, data)
    with pytest.raises(RuntimeJobError, match="FG-A has 2 rows repeating a join key"):
        load_training_frame(
            storage, fg_a_prefix=FG_A, fg_c_prefix=FG_C, join_keys=KEYS, window=WINDOW, feature_spec_version="v1"
        )


def test_every_row_is_kept_when_every_host_has_a_baseline(tmp_path: Path) -> None:
    storage, _ = _storage(tmp_path, hosts_without_baseline=0)
    data = load_training_frame(
        storage, fg_a_prefix=FG_A, fg_c_prefix=FG_C, join_keys=KEYS, window=WINDOW, feature_spec_version="v1"
    )
    assert (len(data.frame), data.rows_without_baseline) == (12, 0)


def test_a_window_where_no_row_has_a_baseline_is_refused(tmp_path: Path) -> None:
    storage, _ = _storage(tmp_path, hosts_without_baseline=3)
    with pytest.raises(RuntimeJobError, match=r"none of the 12 FG-A \+ FG-C rows .* has an FG-B baseline"):
        load_training_frame(
            storage, fg_a_prefix=FG_A, fg_c_prefix=FG_C, join_keys=KEYS, window=WINDOW, feature_spec_version="v1"
        )
