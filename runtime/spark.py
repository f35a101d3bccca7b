"""The Spark session the builders run in: UTC everywhere, dynamic partition overwrite."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

SPARK_LOG_LEVEL_ENV = "NDRC_SPARK_LOG_LEVEL"
PYTHON_ENV = "PYSPARK_PYTHON"
BASE_CONFIG: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.sql.adaptive.enabled": "true",
    # AQE would replace a stage whose output is empty by an empty relation, dropping the Observation
    # (row counts) inside it: metrics would lose rows_in when no row survives the filters.
    "spark.sql.adaptive.optimizer.excludedRules": "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}
LOCAL_CONFIG: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.files.maxPartitionBytes": "64m",
    # The feature datasets hold one folder per 15-minute batch (96 a day). Above this many sub-folders Spark
    # lists a folder with a Spark job, one task per sub-folder: reading 30 days of FG-A ran 30 jobs of 96
    # tasks, each task deserializing the Hadoop configuration (5x the CPU of listing on the driver, the
    # largest single cost of FG-B's run). On a local file system the driver lists 2,880 folders in
    # milliseconds; on S3 (SageMaker, no local master) the parallel listing stays.
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
    # Generated classes are cached by their source text (default: 100 entries). A warm worker's feature-15m
    # steps compile well over 100 classes a batch, so the default cache evicted a step's classes before its
    # next run: FG-A rerun on the same batch recompiled 33 classes (0 with this cache).
    "spark.sql.codegen.cache.maxEntries": "2000",
}


def use_this_interpreter() -> None:
    """Local Python workers run this interpreter (the venv's) unless the user chose one with PYSPARK_PYTHON.

    Without it PySpark starts `python3` from PATH, which may lack the project's packages or be another version.
    """
    os.environ.setdefault(PYTHON_ENV, sys.executable)


def build_spark_session(
    app_name: str = "ndrc-runtime", master: str | None = None, config: Mapping[str, str] | None = None
) -> Any:
    """getOrCreate a session; `master` (e.g. `local[*]`) adds the loopback-only local settings."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    settings = dict(BASE_CONFIG)
    if master:
        builder = builder.master(master)
        use_this_interpreter()
        settings.update(LOCAL_CONFIG)
    settings.update(config or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    for key in (
        "spark.sql.session.timeZone",
        "spark.sql.sources.partitionOverwriteMode",
        "spark.sql.adaptive.optimizer.excludedRules",
    ):
        session.conf.set(key, settings[key])
    # A failed task is logged by the executor with its whole Java stack trace; the job reports the
    # cause in one line instead. NDRC_SPARK_LOG_LEVEL=ERROR (or WARN, INFO) brings Spark's logs back.
    session.sparkContext.setLogLevel(os.environ.get(SPARK_LOG_LEVEL_ENV) or "FATAL")
    return session
