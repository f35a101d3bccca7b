"""A resolved Processing step as the local command: inputs mounted, entrypoints translated."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compiler.local.pipeline_definition import DefinitionError
from compiler.local.processing import local_command

CODE = "/opt/ml/processing/input/code"


def _step(entrypoint: list[str], arguments: list[str], **extra: object) -> dict[str, object]:
    return {
        "AppSpecification": {"ContainerEntrypoint": entrypoint, "ContainerArguments": arguments},
        "ProcessingInputs": [{"InputName": "code", "S3Input": {"LocalPath": CODE, "S3Uri": "s3://a/runtime/x/"}}],
        "Environment": {"NDRC_ENV": "local"},
        **extra,
    }


def test_spark_submit_runs_the_script_with_the_py_files_on_the_python_path(tmp_path: Path) -> None:
    fetched: list[str] = []

    def fetch(uri: str) -> Path:
        fetched.append(uri)
        return tmp_path

    command = local_command(
        "S",
        _step(
            ["smspark-submit", "--py-files", f"{CODE}/runtime.zip", "--conf", "a=b", f"{CODE}/launcher.py"],
            ["delta_builder", "--project-name", "p"],
        ),
        fetch,
    )
    assert fetched == ["s3://a/runtime/x/"]
    assert command.argv() == [sys.executable, str(tmp_path / "launcher.py"), "delta_builder", "--project-name", "p"]
    assert command.code_dir == tmp_path and command.python_path == (str(tmp_path / "runtime.zip"),)
    variables = command.full_environment({"PYTHONPATH": "/other", "X": "1"})
    assert variables["PYTHONPATH"] == f"{tmp_path / 'runtime.zip'}:/other" and variables["NDRC_ENV"] == "local"


def test_python3_runs_the_script_and_other_entrypoints_are_refused(tmp_path: Path) -> None:
    command = local_command("S", _step(["python3", f"{CODE}/launcher.py"], ["pipeline_entry"]), lambda _: tmp_path)
    assert command.argv() == [sys.executable, str(tmp_path / "launcher.py"), "pipeline_entry"]
    with pytest.raises(DefinitionError, match="'/bin/sh' is not emulated"):
        local_command("S", _step(["/bin/sh", "-c"], ["echo"]), lambda _: tmp_path)
    with pytest.raises(DefinitionError, match="ProcessingOutputConfig is not emulated"):
        local_command("S", _step(["python3", "x.py"], [], ProcessingOutputConfig={"Outputs": []}), lambda _: tmp_path)
