"""The `local` environment's emulator: a background moto server on loopback, tracked by a pid file.

`ndrc local up|down|status` manage it; the `provision`, `plan`, `publish` and `run` commands call
`ensure_running` for an
environment whose endpoint is on loopback, so `local` works without a separate start step. The
emulator keeps its state in memory: `down` (or a reboot) forgets every table and state machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
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
from compiler.local.emulator import LOOPBACK, wait_until_ready
from compiler.model import EnvironmentConfig

STATE_DIR = ".ndrc"
PID_FILE = "emulator.pid"
LOG_FILE = "emulator.log"
MODULE = "compiler.local.emulator"


@dataclass(frozen=True)
class EmulatorStatus:
    state: str  # running | stopped | external
    endpoint: str
    pid: int | None = None
    log: Path | None = None

    def describe(self) -> str:
        if self.state == "running":
            return f"emulator running at {self.endpoint} (pid {self.pid}, log {self.log})"
        if self.state == "external":
            return f"an emulator not started by ndrc answers at {self.endpoint}; using it"
        return f"emulator stopped (would listen at {self.endpoint})"


def _paths(workspace: Workspace) -> tuple[Path, Path, Path]:
    folder = workspace.root / STATE_DIR
    return folder / PID_FILE, folder / LOG_FILE, folder / "emulator.lock"


def endpoint_of(environment: EnvironmentConfig) -> tuple[str, int]:
    if not is_emulator(environment):
        raise UsageError(f"environment {environment.name!r} has no endpoint_url on 127.0.0.1; "
                         "`ndrc local` manages the emulator of a local environment only")
    parsed = urlparse(str(environment.endpoint_url))
    return f"http://{LOOPBACK}:{parsed.port or 80}", parsed.port or 80


def _our_pid(pid_file: Path) -> int | None:
    """The pid in the pid file if that process is alive and is our emulator (not a recycled pid)."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and MODULE.encode() not in cmdline.read_bytes():
        return None
    return pid


def _answers(endpoint: str, timeout: float = 0.5) -> bool:
    return wait_until_ready(endpoint, timeout_seconds=timeout)


def status(workspace: Workspace, environment: EnvironmentConfig) -> EmulatorStatus:
    endpoint, _ = endpoint_of(environment)
    pid_file, log, _ = _paths(workspace)
    pid = _our_pid(pid_file)
    if pid is not None:
        return EmulatorStatus("running", endpoint, pid, log)
    return EmulatorStatus("external" if _answers(endpoint) else "stopped", endpoint)


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def up(workspace: Workspace, environment: EnvironmentConfig, timeout: float = 30.0) -> EmulatorStatus:
    """Start the emulator in the background unless it (or another emulator on its port) is running."""
    endpoint, port = endpoint_of(environment)
    pid_file, log, lock = _paths(workspace)
    with _locked(lock):
        current = status(workspace, environment)
        if current.state != "stopped":
            return current
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", MODULE, "--host", LOOPBACK, "--port", str(port)],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=workspace.root,
            )
        pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(endpoint):
                return EmulatorStatus("running", endpoint, process.pid, log)
        _stop(process.pid)
        pid_file.unlink(missing_ok=True)
        tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
        raise UsageError(f"the emulator did not start at {endpoint} (port busy?); log {log}:\n{tail}")


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
    """Stop the emulator this workspace started (never one it did not start)."""
    endpoint, _ = endpoint_of(environment)
    pid_file, _, lock = _paths(workspace)
    with _locked(lock):
        pid = _our_pid(pid_file)
        if pid is not None:
            _stop(pid)
        pid_file.unlink(missing_ok=True)
    return EmulatorStatus("stopped", endpoint, pid)


def ensure_running(workspace: Workspace, environment: EnvironmentConfig) -> EmulatorStatus | None:
    """For an emulator environment: start it if nothing answers at its endpoint. Else do nothing."""
    if not is_emulator(environment):
        return None
    endpoint, _ = endpoint_of(environment)
    if _answers(endpoint, timeout=0.2):
        return EmulatorStatus("external", endpoint)
    return up(workspace, environment)
