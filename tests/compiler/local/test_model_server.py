"""`ndrc local up` starts the model server of the local inference endpoint; `ndrc local down` stops it.

Which model: what the emulator's SageMaker says the endpoint runs (after `pipeline_model_deploy`), else the
attributes document inference reads. The server is the real `python -m runtime.serving` process, called with
the real boto3 `sagemaker-runtime` client.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest
import yaml
from sklearn.ensemble import IsolationForest

from compiler.load.workspace import Workspace
from compiler.local import model_server
from compiler.local.emulator import free_port
from compiler.model import EnvironmentConfig
from runtime.models.artifact import FEATURES_FILE, FOREST_FILE, PREPROCESSING_FILE, build_archive, canonical_json
from runtime.models.forest import forest_to_dict
from runtime.models.options import PreprocessingOptions
from runtime.models.preprocessing import fit_preprocessor

REPO_ROOT = Path(__file__).resolve().parents[3]
NDRC = str(Path(sys.executable).with_name("ndrc"))
ENDPOINT = "ndr-prod-if-v1"  # specs/ndr-prod/inference_predictions#v1.yaml
ATTRIBUTES = "ndr-models-local/ndr-prod/v1/if_training/attributes"
NAMES = ("a", "b")


def archive(version: str) -> bytes:
    raw = np.random.default_rng(0).normal(size=(200, 2))
    pre = fit_preprocessor(raw, NAMES, PreprocessingOptions())
    forest = IsolationForest(n_estimators=10, random_state=0).fit(pre.transform(raw))
    files = {
        FOREST_FILE: canonical_json(forest_to_dict(forest)),
        PREPROCESSING_FILE: canonical_json(pre.to_dict()),
        FEATURES_FILE: canonical_json(list(NAMES)),
    }
    return build_archive(files, {"model_version": version, "feature_names": list(NAMES)})


def put_model(root: Path, key: str, version: str) -> str:
    path = root / ".ndrc/local/s3/ndr-models-local" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(archive(version))
    return f"s3://ndr-models-local/{key}"


def put_attributes(root: Path, artifact_uri: str, name: str = "if-2025.01/attributes.json") -> None:
    path = root / ".ndrc/local/s3" / ATTRIBUTES / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model_version": "if-2025.01", "lineage": {"artifact_uri": artifact_uri}}))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "specs", root / "specs")
    shutil.copy(REPO_ROOT / "ndrc.yaml", root / "ndrc.yaml")
    return root


def open_local(root: Path) -> tuple[Workspace, EnvironmentConfig]:
    from compiler.validation.workspace_config import load_workspace

    workspace = load_workspace(root)
    return workspace, workspace.environment("local")


def test_the_endpoints_come_from_the_inference_items(workspace: Path) -> None:
    ws, env = open_local(workspace)
    endpoints = model_server.inference_endpoints(ws, env)
    found = {e.name: e for e in endpoints}
    assert [e.name for e in endpoints] == ["ndr-acme-prod-if-v1", ENDPOINT, "ndr-prod-if-v2"]  # project, version
    assert (found[ENDPOINT].model_version, found["ndr-prod-if-v2"].model_version) == ("if-2025.01", "if-2025.03")
    assert found[ENDPOINT].attributes_prefix == f"s3://{ATTRIBUTES}/"


def test_resolve_uses_the_attributes_document_and_says_what_it_left_out(workspace: Path) -> None:
    root = workspace / ".ndrc/local/s3"
    endpoints = [model_server.Endpoint(ENDPOINT, f"s3://{ATTRIBUTES}/", "if-2025.01", "a.yaml"),
                 model_server.Endpoint("other", None, None, "b.yaml")]  # fmt: skip
    chosen, notes = model_server.resolve(endpoints, root, None)
    assert chosen is None and "endpoint 'ndr-prod-if-v1' (a.yaml) has no model yet" in notes[0]
    uri = put_model(workspace, "ndr-prod/v1/if_training/ndr-prod/if-2025.01/model.tar.gz", "if-2025.01")
    put_attributes(workspace, uri)
    chosen, notes = model_server.resolve(endpoints, root, None)
    assert chosen == model_server.ServedModel(ENDPOINT, uri, model_server.local_path(uri, root), "attributes")
    assert notes == ["endpoint 'other' (b.yaml) not served: one local model server serves 'ndr-prod-if-v1'"]
    put_attributes(workspace, "s3://ndr-models-local/../../etc/passwd")
    assert "leaves the local storage root" in model_server.resolve(endpoints, root, None)[1][0]


@pytest.mark.emulator
def test_resolve_follows_a_deployed_endpoint_to_its_model_package(aws_env: str, workspace: Path) -> None:
    root = workspace / ".ndrc/local/s3"
    uri = put_model(workspace, "deployed/model.tar.gz", "deployed")
    sm = boto3.client("sagemaker")
    group = f"group-{free_port()}"
    sm.create_model_package_group(ModelPackageGroupName=group)
    package = sm.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1", "ModelDataUrl": uri}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    name = f"ep-{free_port()}"
    role = "arn:aws:iam::123456789012:role/r"
    sm.create_model(ModelName=name, PrimaryContainer={"ModelPackageName": package}, ExecutionRoleArn=role)
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
                             "InstanceType": "ml.c5.xlarge"}],
    )  # fmt: skip
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    assert model_server.deployed_artifact(sm, name) == uri
    assert model_server.deployed_artifact(sm, "not-deployed") is None
    chosen, _ = model_server.resolve([model_server.Endpoint(name)], root, sm)
    assert chosen is not None and chosen.found_by == "endpoint" and chosen.artifact_uri == uri


@pytest.fixture
def isolated(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int]]:
    """The workspace with its own emulator port and model port, no AWS settings; stopped at the end."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(workspace / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(workspace / "no-aws-credentials"))
    config = yaml.safe_load((workspace / "ndrc.yaml").read_text())
    config["environments"]["local"]["endpoint_url"] = f"http://127.0.0.1:{free_port()}"
    (workspace / "ndrc.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    yield workspace, free_port()
    subprocess.run([NDRC, "local", "down"], cwd=workspace, capture_output=True, timeout=60, check=False)


def ndrc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([NDRC, *args], cwd=root, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.emulator
def test_local_up_serves_the_described_model_and_down_stops_it(isolated: tuple[Path, int]) -> None:
    root, port = isolated
    uri = put_model(root, "ndr-prod/v1/if_training/ndr-prod/if-2025.01/model.tar.gz", "if-2025.01")
    put_attributes(root, uri)
    up = ndrc(root, "local", "up", "--model-port", str(port))
    assert up.returncode == 0, up.stderr
    assert f"model server running at http://127.0.0.1:{port}" in up.stdout
    assert f"endpoint 'ndr-prod-if-v1' serves {uri} (found by attributes)" in up.stdout
    assert "endpoint 'ndr-prod-if-v2' (specs/ndr-prod/inference_predictions#v2.yaml) not served" in up.stdout
    record = json.loads((root / ".ndrc/model-server.pid").read_text())
    assert b"runtime.serving" in Path(f"/proc/{record['pid']}/cmdline").read_bytes()

    runtime = boto3.client("sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    reply = runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=b"0,0\n9,-9\n", ContentType="text/csv")
    body = json.loads(reply["Body"].read())
    assert body["model_version"] == "if-2025.01" and body["scores"][0] < body["scores"][1]
    with pytest.raises(runtime.exceptions.ValidationError):  # it answers for its endpoint only
        runtime.invoke_endpoint(EndpointName="ndr-prod-if-v2", Body=b"0,0\n", ContentType="text/csv")

    again = ndrc(root, "local", "up", "--model-port", str(port))
    assert f"(pid {record['pid']})" in again.stdout  # the same artifact: the running server is kept

    down = ndrc(root, "local", "down")
    assert down.returncode == 0 and "model server stopped" in down.stdout
    assert not (root / ".ndrc/model-server.pid").exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)


@pytest.mark.emulator
def test_local_up_without_a_model_starts_only_the_emulator(isolated: tuple[Path, int]) -> None:
    root, port = isolated
    up = ndrc(root, "local", "up", "--model-port", str(port))
    assert up.returncode == 0, up.stderr
    assert "emulator running" in up.stdout and "model server not started" in up.stdout
    assert "endpoint 'ndr-prod-if-v1' (specs/ndr-prod/inference_predictions#v1.yaml) has no model yet" in up.stdout
    assert not (root / ".ndrc/model-server.pid").exists()
