"""The `local` environment's emulator: a background moto server on loopback, tracked by a pid file.

`ndrc local up|down|status` manage it; the `provision`, `plan`, `publish` and `run` commands call
`ensure_running` for an
environment whose endpoint is on loopback, so `local` works without a separate start step. The
emulator keeps its state in memory: `down` (or a reboot) forgets every table and state machine.

Each emulator knows its workspace: it is started with the workspace path and a random token, reports both
at `/ndrc-emulator/identity`, and the pid file (`.ndrc/emulator.pid`, JSON) records its pid, port and token.
So another checkout's emulator on the same port is never reused or stopped: commands refuse with one
sentence naming that workspace and suggesting `ndrc local up --port N`; once started on another port, every
command of this workspace uses it (unless AWS_ENDPOINT_URL names an endpoint explicitly).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from compiler.deploy.aws import is_emulator
from compiler.errors import UsageError
from compiler.load.workspace import Workspace
from compiler.local.emulator import LOOPBACK, PORT_IN_USE_EXIT, PipelineOptions, free_port, identify
from compiler.local.runjob import LOCAL_MODEL_SERVER_URL, storage_root
from compiler.model import EnvironmentConfig

STATE_DIR = ".ndrc"
PID_FILE = "emulator.pid"
LOG_FILE = "emulator.log"
MODULE = "compiler.local.emulator"


@dataclass(frozen=True)
class EmulatorStatus:
    state: str  # running | stopped | external | foreign | occupied
    endpoint: str
    pid: int | None = None
    log: Path | None = None
    owner: str | None = None  # the workspace of another checkout's emulator
    note: str = ""

    def describe(self) -> str:
        if self.note:
            return self.note
        if self.state == "running":
            return f"emulator running at {self.endpoint} (pid {self.pid}, log {self.log})"
        if self.state == "external":
            return f"an emulator not started by ndrc answers at {self.endpoint}; using it"
        port = urlparse(self.endpoint).port
        if self.state == "foreign":
            return (
                f"the emulator at {self.endpoint} belongs to another workspace ({self.owner}), not this one; "
                f"stop it there (`ndrc local down`) or run this workspace's emulator on another port: "
                f"`ndrc local up --port {free_port()}`"
            )
        if self.state == "occupied":
            return (
                f"port {port} on {LOOPBACK} is in use by a program that is not an AWS emulator; free it or "
                f"run the emulator on another port: `ndrc local up --port {free_port()}`"
            )
        return f"emulator stopped (would listen at {self.endpoint})"


@dataclass(frozen=True)
class PidRecord:
    pid: int
    port: int | None
    token: str | None


def _paths(workspace: Workspace) -> tuple[Path, Path, Path]:
    folder = workspace.root / STATE_DIR
    return folder / PID_FILE, folder / LOG_FILE, folder / "emulator.lock"


def endpoint_of(environment: EnvironmentConfig) -> tuple[str, int]:
    if not is_emulator(environment):
        raise UsageError(
            f"environment {environment.name!r} has no endpoint_url on 127.0.0.1; "
            "`ndrc local` manages the emulator of a local environment only"
        )
    parsed = urlparse(str(environment.endpoint_url))
    return f"http://{LOOPBACK}:{parsed.port or 80}", parsed.port or 80


def _endpoint(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


def _read_record(pid_file: Path) -> PidRecord | None:
    try:
        text = pid_file.read_text().strip()
    except OSError:
        return None
    try:
        if text.isdigit():  # written by an older ndrc: a bare pid
            return PidRecord(int(text), None, None)
        data = json.loads(text)
        return PidRecord(int(data["pid"]), int(data["port"]), str(data["token"]))
    except (ValueError, KeyError, TypeError):
        return None


def _our_record(pid_file: Path) -> PidRecord | None:
    """The pid file's record if that process is alive and is our emulator (not a recycled pid)."""
    record = _read_record(pid_file)
    if record is None:
        return None
    try:
        os.kill(record.pid, 0)
    except OSError:
        return None
    cmdline = Path(f"/proc/{record.pid}/cmdline")
    if cmdline.exists():
        arguments = cmdline.read_bytes()
        if MODULE.encode() not in arguments or (record.token and record.token.encode() not in arguments):
            return None
    return record


def _classify(workspace: Workspace, endpoint: str, timeout: float = 0.5) -> EmulatorStatus:
    """What answers at an endpoint, from this workspace's point of view."""
    found = identify(endpoint, timeout)
    if found is None:
        return EmulatorStatus("stopped", endpoint)
    if found.get("ndrc_emulator") == 1:
        owner = found.get("workspace")
        if owner == str(workspace.root):
            return EmulatorStatus("running", endpoint, found.get("pid"), _paths(workspace)[1])
        if owner:
            return EmulatorStatus("foreign", endpoint, found.get("pid"), owner=str(owner))
        return EmulatorStatus("external", endpoint)
    return EmulatorStatus("external" if found.get("ndrc_emulator") == 0 else "occupied", endpoint)


def status(workspace: Workspace, environment: EnvironmentConfig, prefer_record: bool = True) -> EmulatorStatus:
    """This workspace's emulator (at the port its pid file records), else what answers at the endpoint."""
    endpoint, _ = endpoint_of(environment)
    pid_file, log, _ = _paths(workspace)
    record = _our_record(pid_file)
    if record is not None and (prefer_record or record.port is None or _endpoint(record.port) == endpoint):
        return EmulatorStatus("running", _endpoint(record.port) if record.port else endpoint, record.pid, log)
    return _classify(workspace, endpoint)


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(
    workspace: Workspace,
    environment: EnvironmentConfig,
    timeout: float = 30.0,
    port: int | None = None,
    model_url: str = LOCAL_MODEL_SERVER_URL,
    step_budget: int | None = None,
) -> EmulatorStatus:
    """Start this workspace's emulator in the background (on `port`, default the environment's) unless it
    runs; refuse a port another checkout's emulator or another program holds. Its pipeline steps call the
    model server at `model_url` and run `step_budget` at once (default $NDRC_LOCAL_STEP_BUDGET, else 2)."""
    _, configured = endpoint_of(environment)
    chosen = port or configured
    endpoint = _endpoint(chosen)
    pid_file, log, lock = _paths(workspace)
    with _locked(lock):
        record = _our_record(pid_file)
        if record is not None:
            if port is not None and record.port not in (None, port):
                raise UsageError(
                    f"this workspace's emulator already runs on port {record.port}; `ndrc local down` first to move it"
                )
            return EmulatorStatus("running", _endpoint(record.port or chosen), record.pid, log)
        current = _classify(workspace, endpoint)
        if current.state in ("running", "external"):
            return current
        if current.state != "stopped":
            raise UsageError(current.describe())
        token = secrets.token_hex(16)
        with log.open("wb") as output:  # a fresh log per start: no stale lines from earlier runs
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    MODULE,
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(chosen),
                    "--workspace",
                    str(workspace.root),
                    "--token",
                    token,
                    *pipeline_arguments(workspace, environment, model_url, step_budget),
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=workspace.root,
                env=_emulator_environment(environment),
            )
        pid_file.write_text(json.dumps({"pid": process.pid, "port": chosen, "token": token}) + "\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            found = identify(endpoint, timeout=0.5, patience=0.0)  # this loop asks again itself
            if found is not None and found.get("token") == token:
                return EmulatorStatus("running", endpoint, process.pid, log)
            time.sleep(0.1)
        code = process.poll()
        _stop(process.pid)
        pid_file.unlink(missing_ok=True)
        if code == PORT_IN_USE_EXIT:
            raise UsageError(EmulatorStatus("occupied", endpoint).describe())
        if code is not None:
            raise UsageError(f"the emulator exited at start (exit code {code}); its output is in {log}")
        raise UsageError(f"the emulator did not answer at {endpoint} within {timeout:.0f} s; its output is in {log}")


PIPELINE_WORK_DIR = "pipelines"
STEP_BUDGET_ENV = "NDRC_LOCAL_STEP_BUDGET"


def pipeline_arguments(
    workspace: Workspace,
    environment: EnvironmentConfig,
    model_url: str = LOCAL_MODEL_SERVER_URL,
    step_budget: int | None = None,
) -> list[str]:
    """An environment with a local storage root gets an emulator that runs its SageMaker pipelines (steps in
    warm workers, $NDRC_LOCAL_STEP_BUDGET at once, default 2), with the local model server as the SageMaker
    runtime endpoint and the environment's MLflow tracking URI."""
    root = storage_root(workspace, environment)
    if root is None:
        return []
    extra = [("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", model_url)]
    if tracking := environment.settings.get("mlflow_tracking_uri"):
        extra.append(("MLFLOW_TRACKING_URI", str(tracking)))
    try:
        budget = step_budget or max(1, int(os.environ.get(STEP_BUDGET_ENV) or 2))
    except ValueError:
        raise UsageError(f"{STEP_BUDGET_ENV} must be a whole number of steps") from None
    options = PipelineOptions(
        str(workspace.root / STATE_DIR / PIPELINE_WORK_DIR), str(root), budget, environment=tuple(extra)
    )
    return options.arguments()


def _emulator_environment(environment: EnvironmentConfig) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    variables["AWS_DEFAULT_REGION"] = environment.region
    return variables


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


def down(workspace: Workspace, environment: EnvironmentConfig) -> EmulatorStatus:
    """Stop the emulator this workspace started (never one it did not start, and it says so)."""
    endpoint, _ = endpoint_of(environment)
    pid_file, _, lock = _paths(workspace)
    with _locked(lock):
        record = _our_record(pid_file)
        if record is not None:
            _stop(record.pid)
        pid_file.unlink(missing_ok=True)
    if record is not None:
        stopped = _endpoint(record.port) if record.port else endpoint
        return EmulatorStatus("stopped", stopped, record.pid, note=f"emulator stopped (was at {stopped})")
    other = _classify(workspace, endpoint)
    if other.state == "foreign":
        return EmulatorStatus(
            "stopped",
            endpoint,
            note=(
                f"this workspace's emulator is not running; nothing stopped: the emulator at {endpoint} belongs to "
                f"another workspace ({other.owner}) and was left running"
            ),
        )
    if other.state in ("external", "running"):
        return EmulatorStatus(
            "stopped",
            endpoint,
            note=(f"this workspace did not start the emulator at {endpoint}; nothing stopped, it was left running"),
        )
    return EmulatorStatus("stopped", endpoint)


def ensure_running(workspace: Workspace, environment: EnvironmentConfig) -> EmulatorStatus | None:
    """For an emulator environment: this workspace's emulator (started if needed), or the emulator that
    AWS_ENDPOINT_URL names; another checkout's emulator or another program on the port is refused.
    Callers talk to the returned status's endpoint. Else (a real AWS environment) do nothing."""
    if not is_emulator(environment):
        return None
    explicit = bool(os.environ.get("AWS_ENDPOINT_URL"))
    current = status(workspace, environment, prefer_record=not explicit)
    if current.state in ("running", "external"):
        return current
    if current.state != "stopped":
        raise UsageError(current.describe())
    return up(workspace, environment)


def with_endpoint(environment: EnvironmentConfig, endpoint: str) -> EnvironmentConfig:
    """The environment talking to `endpoint` (the port this workspace's emulator really listens on)."""
    if environment.endpoint_url == endpoint:
        return environment
    return EnvironmentConfig(environment.name, {**environment.settings, "endpoint_url": endpoint})
