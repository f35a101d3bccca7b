"""The shared writer leaves exactly a batch's new output after a re-run (issue 9, item 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime.config.output import OutputSpec
from runtime.spark_io.writers import batch_folders, escape_partition_value, write_partitioned
from runtime.storage import LocalStorage

pytestmark = pytest.mark.spark

OUT = "s3://features/out/"
SCHEMA = "feature_spec_version string, dt string, window_label string, mini_batch_id string, host_ip string, n long"


def rows(batch: str, dt: str, count: int, window: str = "2025-01-15T10:08Z") -> list[tuple[Any, ...]]:
    return [("v1", dt, window, batch, f"10.0.0.{i}", i) for i in range(count)]


def write(spark: Any, storage: LocalStorage, data: list[tuple[Any, ...]], batch: str, **output: Any) -> None:
    spec = OutputSpec(OUT, **output)
    write_partitioned(spark.createDataFrame(data, SCHEMA), spec, storage, "test", batch)


def counts(spark: Any, storage: LocalStorage) -> dict[str, int]:
    if not storage.list_objects(OUT):
        return {}
    frame = spark.read.parquet(storage.spark_uri(OUT))
    return {r["mini_batch_id"]: r["count"] for r in frame.groupBy("mini_batch_id").count().collect()}


def test_rerun_with_empty_output_removes_the_previous_rows(spark: Any, storage: LocalStorage) -> None:
    write(spark, storage, rows("b1", "2025-01-15", 50), "b1")
    write(spark, storage, rows("b2", "2025-01-15", 7), "b2")
    write(spark, storage, [], "b1")  # redelivered, every row now invalid
    assert counts(spark, storage) == {"b2": 7}
    assert not storage.local_path(OUT + "feature_spec_version=v1/dt=2025-01-15/mini_batch_id=b1").exists()


def test_rerun_on_another_dt_leaves_one_copy(spark: Any, storage: LocalStorage) -> None:
    write(spark, storage, rows("b1", "2025-01-15", 50), "b1")
    write(spark, storage, rows("b2", "2025-01-15", 3), "b2")
    write(spark, storage, rows("b1", "2025-01-16", 40), "b1")  # window now derived from another timestamp
    assert counts(spark, storage) == {"b1": 40, "b2": 3}
    assert not storage.local_path(OUT + "feature_spec_version=v1/dt=2025-01-15/mini_batch_id=b1").exists()
    assert storage.local_path(OUT + "feature_spec_version=v1/dt=2025-01-15/mini_batch_id=b2").is_dir()


def test_a_moved_batch_leaves_no_empty_date_folder(spark: Any, storage: LocalStorage) -> None:
    write(spark, storage, rows("b1", "2025-01-15", 5), "b1")
    write(spark, storage, rows("b1", "2025-01-16", 5), "b1")
    assert not storage.local_path(OUT + "feature_spec_version=v1/dt=2025-01-15").exists()
    assert storage.list_dirs(OUT + "feature_spec_version=v1/") == [OUT + "feature_spec_version=v1/dt=2025-01-16/"]


def test_window_label_partitions(spark: Any, storage: LocalStorage) -> None:
    first = [r for w in ("2025-01-15T10:08Z", "2025-01-15T10:23Z") for r in rows("b1", "2025-01-15", 30, w)]
    write(spark, storage, first, "b1", partition_keys=("window_label",))
    write(spark, storage, rows("b2", "2025-01-15", 4), "b2", partition_keys=("window_label",))
    write(spark, storage, rows("b1", "2025-01-15", 10, "2025-01-15T10:38Z"), "b1", partition_keys=("window_label",))
    assert counts(spark, storage) == {"b1": 10, "b2": 4}
    frame = spark.read.parquet(storage.spark_uri(OUT)).filter("mini_batch_id = 'b1'")
    assert {r["window_label"] for r in frame.select("window_label").collect()} == {"2025-01-15T10:38Z"}


def test_append_mode_keeps_everything(spark: Any, storage: LocalStorage) -> None:
    write(spark, storage, rows("b1", "2025-01-15", 5), "b1", write_mode="append")
    write(spark, storage, rows("b1", "2025-01-16", 5), "b1", write_mode="append")
    assert counts(spark, storage) == {"b1": 10}


def test_batch_id_with_special_characters_under_a_root_with_a_space(spark: Any, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage root")
    batch = "id=a+b c"
    write(spark, storage, rows(batch, "2025-01-15", 6), batch)
    write(spark, storage, rows(batch, "2025-01-16", 2), batch)
    assert counts(spark, storage) == {batch: 2}
    assert batch_folders(storage, OUT, ("feature_spec_version", "dt", "mini_batch_id"), batch) == [
        OUT + "feature_spec_version=v1/dt=2025-01-16/mini_batch_id=id%3Da+b c/"
    ]


def test_escape_matches_spark(spark: Any, storage: LocalStorage) -> None:
    value = "a=b:c/d%e#f?g*h+i j{k}[l]^m'n\"o\\p"
    frame = spark.createDataFrame([("v1", value, 1)], "feature_spec_version string, mini_batch_id string, n int")
    write_partitioned(frame, OutputSpec(OUT, partition_keys=("feature_spec_version",)), storage, "t", value)
    [leaf] = [p.name for p in storage.local_path(OUT + "feature_spec_version=v1").iterdir()]
    assert leaf == "mini_batch_id=" + escape_partition_value(value)
