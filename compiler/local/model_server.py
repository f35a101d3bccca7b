"""The local environment's model server: the model an `inference_predictions` endpoint serves, in the background.

`ndrc local up` calls `up` after starting the emulator, `ndrc local down` calls `down`; another command (e.g. a
demo after `pipeline_model_deploy`) calls `up` again to serve what was deployed since: a server already serving
that artifact is kept, one serving another artifact is replaced.

Which model, per `inference_predictions` item of the environment (its `model.endpoint_name`), first found wins:
1. `endpoint`: what `pipeline_model_deploy` deployed in this emulator's life: DescribeEndpoint -> the endpoint
   config's first variant -> DescribeModel -> the container's `ModelDataUrl` (or its model package's);
2. `attributes`: the model the attributes document names (`model.attributes_s3_prefix`, `<model_version>/
   attributes.json` else `latest.json`, `lineage.artifact_uri`): what `inference_predictions` itself reads, and
   what survives an emulator restart (the emulator keeps its state in memory, the local storage is on disk).
The artifact is read from the local storage root (`s3://bucket/key` -> `<root>/bucket/key`). One server serves
one model (on `LOCAL_MODEL_SERVER_URL`'s port, where `ndrc run` points boto3's `sagemaker-runtime`), answering
only for its endpoint name; when items name several endpoints, the first resolvable one is served and the
status says which were not.

The server is `python -m runtime.serving serve` (the model image's own entry point), tracked by
`.ndrc/model-server.pid` (JSON: pid, port, endpoint, artifact) with its output in `.ndrc/model-server.log`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from compiler.deploy.aws import Aws
from compiler.load.workspace import Workspace
from compiler.local.emulator import LOOPBACK
from compiler.local.runjob import LOCAL_MODEL_SERVER_URL, storage_root
from compiler.model import EnvironmentConfig
from compiler.validation.validate import validate_workspace

STATE_DIR = ".ndrc"
PID_FILE = "model-server.pid"
LOG_FILE = "model-server.log"
MODULE = "runtime.serving"
INFERENCE_JOB = "inference_predictions"
DEFAULT_PORT = urlparse(LOCAL_MODEL_SERVER_URL).port or 8080


@dataclass(frozen=True)
class Endpoint:
    """An endpoint an `inference_predictions` item calls, and where its model's attributes are."""

    name: str
    attributes_prefix: str | None = None
    model_version: str | None = None
    source: str = ""  # the spec file, for messages


@dataclass(frozen=True)
class ServedModel:
    endpoint_name: str
    artifact_uri: str
    path: Path
    found_by: str  # endpoint | attributes


@dataclass(frozen=True)
class ModelServerStatus:
    state: str  # running | stopped | not_started
    url: str | None = None
    pid: int | None = None
    model: ServedModel | None = None
    log: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        if self.state == "running" and self.model is not None:
            line = (
                f"model server running at {self.url} (pid {self.pid}): endpoint {self.model.endpoint_name!r} "
                f"serves {self.model.artifact_uri} (found by {self.model.found_by})"
            )
        elif self.state == "running":
            line = f"model server running at {self.url} (pid {self.pid})"
        elif self.state == "not_started":
            line = "model server not started"
        else:
            line = "model server stopped"
        return "; ".join((line, *self.notes))


def inference_endpoints(workspace: Workspace, environment: EnvironmentConfig) -> list[Endpoint]:
    """The endpoints the environment's `inference_predictions` items call, in item order (project, version)."""
    endpoints = []
    for item in validate_workspace(workspace, environment).compiled.items:
        model = item.spec.get("model") if item.job_name == INFERENCE_JOB else None
        if isinstance(model, dict) and model.get("endpoint_name"):
            version = model.get("model_version")
            endpoints.append(
                Endpoint(
                    str(model["endpoint_name"]),
                    model.get("attributes_s3_prefix"),
                    str(version) if version else None,
                    item.source,
                )
            )
    return endpoints


def local_path(uri: str, root: Path) -> Path:
    """`s3://bucket/key` under the local storage root; anything else is refused."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    path = (root / parsed.netloc / parsed.path.lstrip("/")).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"{uri!r} leaves the local storage root")
    return path


def deployed_artifact(sagemaker: Any, endpoint_name: str) -> str | None:
    """The `ModelDataUrl` behind a deployed endpoint, or None when the endpoint is not there."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        config_name = sagemaker.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
        variants = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
        container = sagemaker.describe_model(ModelName=variants[0]["ModelName"]).get("PrimaryContainer", {})
        if container.get("ModelDataUrl"):
            return str(container["ModelDataUrl"])
        if package := container.get("ModelPackageName"):
            spec = sagemaker.describe_model_package(ModelPackageName=package)["InferenceSpecification"]
            return str(spec["Containers"][0]["ModelDataUrl"])
    except (BotoCoreError, ClientError, KeyError, IndexError):
        return None
    return None


def attributes_artifact(endpoint: Endpoint, root: Path) -> str | None:
    """`lineage.artifact_uri` of the attributes document inference reads for this endpoint's model."""
    if not endpoint.attributes_prefix:
        return None
    name = f"{endpoint.model_version}/attributes.json" if endpoint.model_version else "latest.json"
    try:
        document = json.loads(local_path(endpoint.attributes_prefix.rstrip("/") + "/" + name, root).read_text())
        uri = document["lineage"]["artifact_uri"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(uri) if uri else None


def resolve(endpoints: Sequence[Endpoint], root: Path, sagemaker: Any | None) -> tuple[ServedModel | None, list[str]]:
    """The first endpoint whose model resolves to a file under `root`, and a note per endpoint left out."""
    notes: list[str] = []
    chosen: ServedModel | None = None
    for endpoint in endpoints:
        if chosen is not None:
            if endpoint.name != chosen.endpoint_name:
                notes.append(
                    f"endpoint {endpoint.name!r} ({endpoint.source}) not served: one local model server "
                    f"serves {chosen.endpoint_name!r}"
                )
            continue
        lookups = (
            ("endpoint", deployed_artifact(sagemaker, endpoint.name) if sagemaker else None),
            ("attributes", attributes_artifact(endpoint, root)),
        )
        for found_by, uri in lookups:
            if not uri:
                continue
            try:
                path = local_path(uri, root)
            except ValueError as err:
                notes.append(f"endpoint {endpoint.name!r}: {err}")
                continue
            if path.is_file():
                chosen = ServedModel(endpoint.name, uri, path, found_by)
                break
            notes.append(f"endpoint {endpoint.name!r}: {uri} ({found_by}) is not in the local storage")
        else:
            notes.append(
                f"endpoint {endpoint.name!r} ({endpoint.source}) has no model yet: deploy one "
                "(pipeline_model_deploy) or describe one (if_training, then pipeline_model_attributes)"
            )
    return chosen, notes


def _paths(workspace: Workspace) -> tuple[Path, Path]:
    folder = workspace.root / STATE_DIR
    return folder / PID_FILE, folder / LOG_FILE


def _record(pid_file: Path) -> dict[str, Any] | None:
    """The pid file's record, if that process is alive and is a model server (not a recycled pid)."""
    try:
        record = json.loads(pid_file.read_text())
        pid = int(record["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and MODULE.encode() not in cmdline.read_bytes():
        return None
    return dict(record)


def _stop(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=0.5) as reply:
            return int(reply.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _status_of(record: dict[str, Any], log: Path) -> ModelServerStatus:
    model = ServedModel(record["endpoint"], record["artifact_uri"], Path(record["path"]), record["found_by"])
    return ModelServerStatus("running", f"http://{LOOPBACK}:{record['port']}", int(record["pid"]), model, log)


def status(workspace: Workspace) -> ModelServerStatus:
    pid_file, log = _paths(workspace)
    record = _record(pid_file)
    return _status_of(record, log) if record else ModelServerStatus("stopped")


def up(
    workspace: Workspace,
    environment: EnvironmentConfig,
    *,
    port: int = DEFAULT_PORT,
    sagemaker: Any | None = None,
    timeout: float = 30.0,
) -> ModelServerStatus:
    """Serve the model of the environment's inference endpoint (see the module docstring); `sagemaker` is a
    client of the emulator (None: only the attributes documents are consulted). Without a model, nothing starts
    and the status says why; a server already serving the resolved artifact is kept."""
    root = storage_root(workspace, environment)
    if root is None:
        return ModelServerStatus("not_started", notes=(f"environment {environment.name!r} has no local storage root",))
    chosen, notes = resolve(inference_endpoints(workspace, environment), root, sagemaker)
    pid_file, log = _paths(workspace)
    current = _record(pid_file)
    if (
        current
        and chosen
        and (current["path"], current["endpoint"], current["port"]) == (str(chosen.path), chosen.endpoint_name, port)
    ):
        return _status_of(current, log)
    if current:
        _stop(int(current["pid"]))
        pid_file.unlink(missing_ok=True)
    if chosen is None:
        return ModelServerStatus("not_started", notes=tuple(notes) or ("no inference_predictions endpoint",))
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", MODULE, "serve", "--model", str(chosen.path), "--host", LOOPBACK,
             "--port", str(port), "--endpoint-name", chosen.endpoint_name],
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=workspace.root,
        )  # fmt: skip
    record = {
        "pid": process.pid,
        "port": port,
        "endpoint": chosen.endpoint_name,
        "artifact_uri": chosen.artifact_uri,
        "path": str(chosen.path),
        "found_by": chosen.found_by,
    }
    pid_file.write_text(json.dumps(record, sort_keys=True) + "\n")
    url = f"http://{LOOPBACK}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if _answers(url):
            return ModelServerStatus("running", url, process.pid, chosen, log, tuple(notes))
        time.sleep(0.1)
    code = process.poll()
    _stop(process.pid)
    pid_file.unlink(missing_ok=True)
    reason = f"exited with code {code}" if code is not None else f"did not answer within {timeout:.0f} s"
    return ModelServerStatus("not_started", notes=(f"the model server {reason}; its output is in {log}", *notes))


def serve_deployed_model(
    workspace: Workspace, environment: EnvironmentConfig, port: int = DEFAULT_PORT
) -> ModelServerStatus:
    """`up` with a SageMaker client of the environment's emulator: what `ndrc local up` runs, and what to call
    after `pipeline_model_deploy` to serve the newly deployed model."""
    return up(workspace, environment, port=port, sagemaker=Aws(environment).client("sagemaker"))


def down(workspace: Workspace) -> ModelServerStatus:
    """Stop the model server this workspace started (none: nothing to do)."""
    pid_file, _ = _paths(workspace)
    record = _record(pid_file)
    if record is not None:
        _stop(int(record["pid"]))
    pid_file.unlink(missing_ok=True)
    if record is None:
        return ModelServerStatus("stopped")
    return ModelServerStatus("stopped", notes=(f"was at http://{LOOPBACK}:{record['port']}",))
