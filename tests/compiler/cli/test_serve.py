"""`ndrc local serve`: a real server process, reached with the real boto3 sagemaker-runtime client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from compiler.cli import cli
from devtools.fixture_model import fit_fixture_model

FEATURES = ["sessions_cnt_w_15m", "bytes_src_sum_w_15m"]


def test_serve_answers_invoke_endpoint(tmp_path: Path) -> None:
    description = tmp_path / "fixture_model.json"
    description.write_text(json.dumps({"feature_names": FEATURES, "seed": 3, "model_version": "fixture-cli"}))
    command = [
        sys.executable,
        "-c",
        "from compiler.cli import main; main()",
        "local",
        "serve",
        "--model",
        str(description),
        "--loader",
        "devtools.fixture_model:load_fixture_model",
        "--port",
        "0",
        "--endpoint-name",
        "ndr-local-if",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("serving model fixture-cli (2 features) on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[-1].strip()
        client = boto3.client(
            "sagemaker-runtime",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        body = b"3,40000\n120,9000000\n"
        response = client.invoke_endpoint(EndpointName="ndr-local-if", Body=body, ContentType="text/csv")
        expected = fit_fixture_model(FEATURES, seed=3, model_version="fixture-cli").score([[3, 40000], [120, 9e6]])
        assert json.loads(response["Body"].read()) == {"model_version": "fixture-cli", "scores": expected}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_refuses_a_missing_model_and_a_bad_loader(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        cli,
        [
            "local",
            "serve",
            "--model",
            str(tmp_path / "none.tar.gz"),
            "--loader",
            "devtools.fixture_model:load_fixture_model",
        ],
    )
    assert missing.exit_code == 2 and "no model at" in missing.output
    bad = runner.invoke(cli, ["local", "serve", "--model", str(tmp_path), "--loader", "no_such_module:f"])
    assert bad.exit_code == 2 and "cannot import the model loader module 'no_such_module'" in bad.output
    faults = runner.invoke(cli, ["local", "serve", "--model", str(tmp_path), "--faults", "boom=1"])
    assert faults.exit_code == 2 and "unknown fault setting" in faults.output


def test_local_runs_send_invocations_to_the_local_model_server(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compiler.local.runjob import LOCAL_MODEL_SERVER_URL, job_environment
    from compiler.validation.workspace_config import load_workspace

    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", raising=False)
    workspace = load_workspace(repo_root)
    variables = job_environment(workspace, workspace.environment("local"))
    assert variables["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == LOCAL_MODEL_SERVER_URL == "http://127.0.0.1:8080"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "http://127.0.0.1:9999")
    assert job_environment(workspace, workspace.environment("local"))["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == (
        "http://127.0.0.1:9999"
    )
