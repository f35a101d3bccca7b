"""The session settings of runtime/spark.py: local Python workers run this project's interpreter."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from runtime.spark import PYTHON_ENV, use_this_interpreter


def test_local_sessions_default_python_workers_to_this_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PYTHON_ENV, raising=False)
    use_this_interpreter()
    assert os.environ[PYTHON_ENV] == sys.executable


def test_a_python_the_user_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PYTHON_ENV, "/opt/python/bin/python3.12")
    use_this_interpreter()
    assert os.environ[PYTHON_ENV] == "/opt/python/bin/python3.12"


@pytest.mark.spark
def test_python_workers_of_the_local_session_run_the_configured_interpreter(spark: Any) -> None:
    configured = os.environ[PYTHON_ENV]  # set (when absent) by build_spark_session for the local session
    assert spark.sparkContext.pythonExec == configured
    workers = spark.sparkContext.parallelize([0], 1).map(lambda _: (sys.executable, sys.prefix))
    [(executable, prefix)] = workers.collect()
    assert os.path.realpath(executable) == os.path.realpath(configured)
    if configured == sys.executable:
        assert prefix == sys.prefix  # the venv's packages, not the system interpreter's
