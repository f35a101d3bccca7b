"""How a local Processing step's command runs: a fresh process per step (`ColdRunner`, what a SageMaker
processing job is), or a warm worker that stays up between steps (`WarmPool`, like SageMaker warm pools).

A warm worker runs the bundle's own `runtime.warm_worker` (from the fetched `runtime.zip`, the code the
step's launcher would run) and keeps its Spark session between steps; a command whose script is not the
bundle's launcher always runs cold.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from compiler.local.processing import LocalCommand

LAUNCHER = "launcher.py"
ARCHIVE = "runtime.zip"
# Runs `runtime.warm_worker` from the bundle: the archive first on sys.path, as launcher.py does.
WORKER_BOOT = (
    "import runpy, sys; sys.path.insert(0, sys.argv[1]); sys.argv = ['runtime.warm_worker']; "
    "runpy.run_module('runtime.warm_worker', run_name='__main__', alter_sys=True)"
)


@dataclass(frozen=True)
class StepResult:
    exit_code: int
    warm: bool


class StepRunner(Protocol):
    def run(self, command: LocalCommand, log: Path, cwd: Path) -> StepResult: ...

    def prewarm(self, code_dir: Path) -> int:
        """Start the bundle's Spark ahead of its first step, in the background; the workers started."""
        ...

    def close(self) -> None: ...


@dataclass
class ColdRunner:
    base_environment: Mapping[str, str]

    def run(self, command: LocalCommand, log: Path, cwd: Path) -> StepResult:
        with log.open("ab") as output:
            code = subprocess.call(
                command.argv(),
                env=command.full_environment(self.base_environment),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return StepResult(code, warm=False)

    def prewarm(self, code_dir: Path) -> int:
        return 0  # every step starts a process (and Spark) of its own: nothing outlives a step to warm

    def close(self) -> None:
        return None


class WarmWorker:
    """One `runtime.warm_worker` process for one runtime bundle."""

    def __init__(self, code_dir: Path, environment: Mapping[str, str], log: Path, cwd: Path) -> None:
        self.code_dir = code_dir
        self.log = log
        self._log = log.open("ab")
        self.prewarm_answer: dict[str, object] | None = None
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER_BOOT, str(code_dir / ARCHIVE)],
            env=dict(environment),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )

    def prewarm(self, environment: Mapping[str, str]) -> dict[str, object] | None:
        """Have the worker start Spark now (`runtime.warm_worker.prewarm`) and wait for it; its answer
        (None when the worker died meanwhile)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps({"prewarm": True, "environment": dict(environment), "log": str(self.log)}) + "\n")
            stdin.flush()
            line = stdout.readline()
        except (OSError, ValueError):  # ValueError: the pool closed its pipes meanwhile
            return None
        self.prewarm_answer = json.loads(line) if line.strip() else None
        return self.prewarm_answer

    def run(self, argv: list[str], environment: Mapping[str, str], log: Path) -> tuple[int | None, bool]:
        """The job's exit code (None when the worker died during the step) and whether the worker may run
        another step (not after it died or retired)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps({"argv": argv, "environment": dict(environment), "log": str(log)}) + "\n")
            stdin.flush()
            line = stdout.readline()
        except OSError:
            return None, False
        if not line:
            return None, False
        answer = json.loads(line)
        return int(answer["exit_code"]), not answer.get("retire")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, at_once: bool = False) -> None:
        """End the worker: by closing its input (it exits after its current step), or `at_once` (SIGTERM:
        the emulator is going down and no one waits for the step)."""
        if at_once:
            self.process.terminate()
        if self.process.stdin:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self._log.close()


class WarmPool:
    """Warm workers per runtime bundle, at most `size` of them busy or idle per bundle; a cold run for
    commands that are not the bundle's launcher.

    `prewarm` starts a bundle's workers before any step needs them. While they start Spark, a Spark step of
    that bundle waits for one (it would wait as long for a JVM of its own, and a third JVM would only slow
    the two starting), and a plain Python step (no `--py-files`: spec resolution, the extractor, ...) runs
    cold instead of queueing behind a JVM start."""

    def __init__(self, base_environment: Mapping[str, str], size: int, log_dir: Path, scratch: Path) -> None:
        self.base_environment = dict(base_environment)
        self.size = size
        self.log_dir = log_dir
        self.scratch = scratch
        self._idle: dict[Path, list[WarmWorker]] = {}
        self._all: list[WarmWorker] = []
        self._lock = threading.Condition()
        self._cold = ColdRunner(self.base_environment)
        self._warming: dict[Path, int] = {}
        self.started = 0

    def _acquire(self, command: LocalCommand) -> WarmWorker | None:
        """An idle worker of the command's bundle, else a new one; None: run this plain Python step cold
        (the bundle's workers are still prewarming)."""
        assert command.code_dir is not None
        with self._lock:
            idle = self._idle.setdefault(command.code_dir, [])
            while True:
                while idle:
                    worker = idle.pop()
                    if worker.alive():
                        return worker
                    self._all.remove(worker)
                    worker.stop()
                if not self._warming.get(command.code_dir):
                    return self._new_worker(command.code_dir, command.full_environment(self.base_environment))
                if not command.python_path:
                    return None
                self._lock.wait()

    def _new_worker(self, code_dir: Path, environment: Mapping[str, str]) -> WarmWorker:
        self.started += 1
        worker = WarmWorker(code_dir, environment, self.log_dir / f"warm-worker-{self.started}.log", self.scratch)
        self._all.append(worker)
        return worker

    def prewarm(self, code_dir: Path) -> int:
        """Start the bundle's workers (up to the pool size) and have each start Spark now, in the background,
        as a Spark step of the bundle would (its archive on PYTHONPATH, so Spark's Python workers import the
        bundle's code). Returns the workers started."""
        environment = dict(self.base_environment)
        existing = environment.get("PYTHONPATH")
        environment["PYTHONPATH"] = os.pathsep.join([str(code_dir / ARCHIVE), *([existing] if existing else [])])
        with self._lock:
            present = sum(1 for worker in self._all if worker.code_dir == code_dir)
            workers = [self._new_worker(code_dir, environment) for _ in range(max(0, self.size - present))]
            self._warming[code_dir] = self._warming.get(code_dir, 0) + len(workers)
        for worker in workers:
            threading.Thread(target=self._prewarm_one, args=(worker, environment), daemon=True).start()
        return len(workers)

    def _prewarm_one(self, worker: WarmWorker, environment: Mapping[str, str]) -> None:
        worker.prewarm(environment)
        with self._lock:
            if self._warming.get(worker.code_dir):  # else the pool was closed meanwhile
                self._warming[worker.code_dir] -= 1
            if worker in self._all:
                self._idle.setdefault(worker.code_dir, []).append(worker)
            self._lock.notify_all()

    def _release(self, worker: WarmWorker, reusable: bool) -> None:
        with self._lock:
            self._lock.notify_all()
            if reusable and worker.alive():
                self._idle.setdefault(worker.code_dir, []).append(worker)
                return
            if worker in self._all:
                self._all.remove(worker)
        worker.stop()

    def run(self, command: LocalCommand, log: Path, cwd: Path) -> StepResult:
        if command.code_dir is None or command.script.name != LAUNCHER:
            return self._cold.run(command, log, cwd)
        worker = self._acquire(command)
        if worker is None:
            return self._cold.run(command, log, cwd)
        code, reusable = worker.run(list(command.arguments), command.full_environment(self.base_environment), log)
        self._release(worker, reusable)
        if code is None:
            with log.open("a") as output:
                output.write('{"event": "warm_worker_died", "cause": "the warm worker ended during the step"}\n')
            return StepResult(1, warm=True)
        return StepResult(code, warm=True)

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = list(self._all), [], {}
            self._warming = {}
            self._lock.notify_all()
        for worker in workers:
            worker.stop(at_once=True)


def tail(path: Path, limit: int = 4000) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def failure_cause(log: Path) -> str | None:
    """The runtime's own one-line cause (`job_failed` / `job_crashed` JSON log line), when it wrote one."""
    cause = None
    for line in tail(log, 64_000).splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") in ("job_failed", "job_crashed", "warm_worker_died"):
            cause = f"{record.get('error', 'Error')}: {record.get('cause', '')}".strip()
    return cause
