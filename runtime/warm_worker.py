"""A warm worker: one long-lived process (and, once a job asks for it, one Spark session) that runs successive
runtime jobs, like a SageMaker warm pool keeps an instance between jobs.

`python -m runtime.warm_worker` reads one JSON request per line on stdin,
`{"argv": [<job> ...], "environment": {...}, "log": "<file>"}`, runs `python -m runtime <argv>` in-process
with exactly that environment and its stdout/stderr in the log file, and answers one JSON line
`{"exit_code": N, "seconds": S}` on its own stdout. `{"prewarm": true, "environment": {...}, "log": "<file>"}`
starts the Spark session the jobs use and runs a small query shaped like theirs (gzip JSON read, aggregates,
a window, a join, a Parquet write and read), so the JVM start and the first-run class loading and code
generation are paid before the first step asks for Spark; it answers `{"prewarmed": true, "seconds": S}`
(or `"prewarmed": false` and the cause; the worker stays usable). Between jobs the Spark session is reset
(`reset_session`): cached data dropped, temporary views dropped, runtime SQL settings back to the
session's initial ones; so a job sees what a fresh process would, minus the JVM start.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO


def reset_session(session: Any) -> None:
    """Leave nothing of the previous job in the session: caches, temp views (local and global), settings."""
    session.catalog.clearCache()
    for table in session.catalog.listTables():
        if table.isTemporary:
            session.catalog.dropTempView(table.name)
    global_database = session.conf.get("spark.sql.globalTempDatabase", "global_temp")
    for table in session.catalog.listTables(global_database):
        session.catalog.dropGlobalTempView(table.name)
    session.sql("RESET")


def _active_session() -> Any:
    if "pyspark" not in sys.modules:  # no job asked for Spark yet
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


@contextlib.contextmanager
def _redirected(log_path: str) -> Iterator[None]:
    """The job's stdout and stderr (file descriptors 1 and 2, so child output too) into its log file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_request(request: dict[str, Any]) -> dict[str, Any]:
    from runtime.entrypoint import main

    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["environment"].items()})
    started = time.monotonic()
    with _redirected(str(request["log"])):
        try:
            code = main([str(word) for word in request["argv"]])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException as err:
            print(
                json.dumps({"event": "job_crashed", "error": type(err).__name__, "cause": str(err)[:2000]}),
                file=sys.stderr,
            )
            code = 1
        seconds = round(time.monotonic() - started, 3)
        try:
            session = _active_session()
            if session is not None:
                reset_session(session)
        except Exception as err:
            print(json.dumps({"event": "session_reset_failed", "cause": str(err)[:2000]}), file=sys.stderr)
            return {"exit_code": code, "seconds": seconds, "retire": True}
    return {"exit_code": code, "seconds": seconds}


PREWARM_ROWS = 64


def _prewarm_query(session: Any, folder: str) -> int:
    """A query touching what the feature jobs use, on a few rows; returns the rows read back."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = [
        (f"10.0.0.{i % 8}", f"10.1.0.{i % 5}", 1000 + i % 7, i * 1.5, f"2025-01-01T00:{i % 60:02d}:00Z")
        for i in range(PREWARM_ROWS)
    ]
    frame = session.createDataFrame(rows, "src string, dst string, port int, bytes double, ts string")
    frame.write.mode("overwrite").option("compression", "gzip").json(f"{folder}/json")
    raw = session.read.schema(frame.schema).json(f"{folder}/json").withColumn("ts", F.to_timestamp("ts"))
    per_host = raw.groupBy("src", F.window("ts", "15 minutes").alias("w")).agg(
        F.count("*").alias("n"),
        F.countDistinct("dst").alias("peers"),
        F.sum("bytes").alias("bytes"),
        F.percentile_approx("bytes", 0.5).alias("median"),
        F.collect_set("port").alias("ports"),
    )
    ranked = per_host.withColumn("rank", F.row_number().over(Window.partitionBy("src").orderBy(F.desc("bytes"))))
    joined = ranked.join(raw.groupBy("src").agg(F.max("port").alias("top_port")), "src", "left")
    joined.drop("w", "ports").write.mode("overwrite").partitionBy("rank").parquet(f"{folder}/parquet")
    return int(session.read.parquet(f"{folder}/parquet").count())


def prewarm(request: dict[str, Any]) -> dict[str, Any]:
    """Start the jobs' Spark session (with the request's environment, which the JVM inherits, as a first
    job's would) and run `_prewarm_query` in a scratch folder; the session is then reset like after a job."""
    import shutil
    import tempfile

    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["environment"].items()})
    started = time.monotonic()
    answer: dict[str, Any] = {"prewarmed": True}
    with _redirected(str(request["log"])):
        folder = tempfile.mkdtemp(prefix="ndrc-prewarm-", dir=os.getcwd())
        try:
            from runtime.entrypoint import SPARK_MASTER_ENV
            from runtime.spark import build_spark_session

            session = build_spark_session("ndrc-runtime", master=os.environ.get(SPARK_MASTER_ENV) or "local[*]")
            answer["rows"] = _prewarm_query(session, folder)
            reset_session(session)
        except Exception as err:
            answer = {"prewarmed": False, "cause": f"{type(err).__name__}: {str(err)[:2000]}"}
            print(json.dumps({"event": "prewarm_failed", "cause": answer["cause"]}), file=sys.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    answer["seconds"] = round(time.monotonic() - started, 3)
    return answer


def serve(requests: TextIO, answers: TextIO) -> None:
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        answer = prewarm(request) if request.get("prewarm") else run_request(request)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
        if answer.get("retire"):
            return


def main() -> None:
    # Answers go to a private copy of stdout: jobs print on file descriptor 1, which _redirected re-points.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
