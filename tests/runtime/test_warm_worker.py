"""The warm worker: successive jobs in one process, nothing of one job left in the Spark session for the next."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from compiler.local.processing import LocalCommand
from compiler.local.step_runners import StepResult, WarmPool
from compiler.orchestration.bundle import ARCHIVE, LAUNCHER, runtime_bundle
from runtime.warm_worker import reset_session


@pytest.mark.spark
def test_reset_session_drops_caches_temp_views_and_runtime_settings(spark: Any) -> None:
    # RESET returns to the values the session started with (its SparkContext's), whatever earlier jobs of the
    # same test process set at runtime since
    initial = spark.sparkContext.getConf().get("spark.sql.shuffle.partitions")
    frame = spark.range(10)
    frame.createOrReplaceTempView("leaked_view")
    frame.createOrReplaceGlobalTempView("leaked_global")
    spark.table("leaked_view").cache().count()
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    spark.conf.set("ndrc.test.leaked", "yes")
    assert spark.catalog.isCached("leaked_view")

    reset_session(spark)

    assert [t.name for t in spark.catalog.listTables() if t.isTemporary] == []
    assert spark.catalog.listTables("global_temp") == []
    assert spark.conf.get("spark.sql.shuffle.partitions") == initial
    assert spark.conf.get("ndrc.test.leaked", None) is None
    assert spark.sql("SELECT count(*) FROM range(3)").collect()[0][0] == 3  # the session still works


def _bundle(tmp_path: Path) -> Path:
    bundle = runtime_bundle()
    code = tmp_path / "code"
    code.mkdir()
    (code / ARCHIVE).write_bytes(bundle.archive)
    (code / LAUNCHER).write_bytes(bundle.launcher)
    return code


def test_one_worker_runs_successive_jobs_from_the_bundle_each_with_its_own_environment_and_log(
    tmp_path: Path,
) -> None:
    code = _bundle(tmp_path)
    pool = WarmPool({"PATH": os.environ["PATH"]}, size=1, log_dir=tmp_path, scratch=tmp_path)
    workers = []
    try:
        logs = []
        for index, argv in enumerate(
            (
                ["no_such_job", "--project-name", "p"],
                ["pipeline_entry", "--project-name", "p", "--jobs", "delta_builder"],
            )
        ):
            command = LocalCommand(
                "S", code / LAUNCHER, tuple(argv), {"STEP_INDEX": str(index)}, (str(code / ARCHIVE),), code
            )
            logs.append(tmp_path / f"step-{index}.log")
            result = pool.run(command, logs[-1], tmp_path)
            workers = list(pool._all)
            assert result.warm
            assert result.exit_code == (2 if index == 0 else 1)
        assert pool.started == 1  # the second job reused the first job's process
        assert "unknown job 'no_such_job'" in logs[0].read_text()
        failed = [json.loads(line) for line in logs[1].read_text().splitlines() if line.startswith("{")]
        # The step's environment replaced the worker's: no region, so it fails before any AWS call.
        assert (failed[-1]["event"], failed[-1]["error"]) == ("job_failed", "NoRegionError")
        assert "unknown job" not in logs[1].read_text()
    finally:
        pool.close()
    assert len(workers) == 1 and not workers[0].alive()  # close() ended it


@pytest.mark.spark
def test_a_prewarmed_worker_has_run_its_spark_query_before_its_first_spark_step_which_reuses_it(
    tmp_path: Path,
) -> None:
    from runtime.warm_worker import PREWARM_ROWS

    code = _bundle(tmp_path)
    pool = WarmPool({"PATH": os.environ["PATH"]}, size=1, log_dir=tmp_path, scratch=tmp_path)
    try:
        assert pool.prewarm(code) == 1
        assert pool.prewarm(code) == 0  # the pool is full: nothing more starts
        # a plain Python step (no --py-files) does not queue behind the JVM start: it runs cold
        plain = LocalCommand("P", code / LAUNCHER, ("no_such_job",), {}, (), code)
        assert pool.run(plain, tmp_path / "plain.log", tmp_path) == StepResult(2, warm=False)
        # a Spark step waits for the prewarmed worker and runs in it
        spark_step = LocalCommand("S", code / LAUNCHER, ("no_such_job",), {}, (str(code / ARCHIVE),), code)
        assert pool.run(spark_step, tmp_path / "step.log", tmp_path) == StepResult(2, warm=True)
        assert pool.started == 1
        answer = pool._all[0].prewarm_answer
        assert answer is not None and answer["prewarmed"] is True, answer
        # one row per (source host, 15-minute window) of the query's rows, recomputed here
        assert answer["rows"] == len({(i % 8, (i % 60) // 15) for i in range(PREWARM_ROWS)})
        assert "unknown job 'no_such_job'" in (tmp_path / "step.log").read_text()
        assert not list(tmp_path.glob("ndrc-prewarm-*"))  # its scratch folder is gone
    finally:
        pool.close()
