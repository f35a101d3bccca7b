"""Runs SageMaker pipeline executions locally: the stored definition's steps in `DependsOn` order, independent
steps at once within a step budget shared by every execution, each Processing step through a `StepRunner`.

Semantics follow SageMaker Pipelines: a step starts once every step it depends on succeeded; when a step
fails no further step starts, the steps already running finish, and the execution ends `Failed` with the
failing steps' reasons; else `Succeeded`. Steps that never started are not listed (as
`ListPipelineExecutionSteps` lists only started steps). `ParallelismConfiguration.MaxParallelExecutionSteps`
caps one execution's running steps. Step retry policies are not applied: they retry SageMaker service faults
(`Step.SERVICE_FAULT`, `Step.THROTTLING`, capacity errors) that a local run does not have.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from compiler.local.pipeline_definition import Definition, DefinitionError, ExecutionContext, resolve
from compiler.local.processing import Fetcher, local_command
from compiler.local.step_runners import StepRunner, failure_cause, tail

PROCESSING = "Processing"
MAX_REASON = 1024  # FailureReason is at most 1,024 characters in SageMaker's API


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StepRecord:
    name: str
    start: datetime
    log: Path
    job_arn: str
    status: str = "Starting"  # until the step budget has room for it; StartTime is then reset
    end: datetime | None = None
    failure_reason: str | None = None
    warm: bool = False


@dataclass
class ExecutionRecord:
    arn: str
    pipeline_name: str
    start: datetime
    status: str = "Executing"
    end: datetime | None = None
    failure_reason: str | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class Execution:
    """One execution to run: its definition, its resolved parameters and where its files go."""

    arn: str
    pipeline_name: str
    execution_id: str
    definition: Definition
    parameters: dict[str, object]
    max_parallel_steps: int | None = None


class StepSlots:
    """The step budget: at most `budget` steps run at once, and a freed slot goes to the waiting step of the
    oldest execution (then the step that asked first). So an execution started earlier is not held back by
    the steps of executions started after it (the demo's training beside another project's backfill); in
    SageMaker every step has its own instances and no such queue exists."""

    def __init__(self, budget: int) -> None:
        self._free = budget
        self._waiting: list[tuple[float, int]] = []
        self._asked = itertools.count()
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def held(self, execution_start: float) -> Iterator[None]:
        with self._changed:
            ticket = (execution_start, next(self._asked))
            heapq.heappush(self._waiting, ticket)
            while not (self._free > 0 and self._waiting[0] == ticket):
                self._changed.wait()
            heapq.heappop(self._waiting)
            self._free -= 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._free += 1
                self._changed.notify_all()


MAX_STEP_THREADS = 256  # threads waiting for a slot or running a step (a step runs in a process of its own)


class PipelineExecutor:
    def __init__(self, runner: StepRunner, fetch: Fetcher, budget: int, work_dir: Path) -> None:
        self.runner = runner
        self.fetch = fetch
        self.budget = max(1, budget)
        self.work_dir = work_dir
        self._slots = StepSlots(self.budget)
        self._steps = ThreadPoolExecutor(max_workers=MAX_STEP_THREADS, thread_name_prefix="pipeline-step")
        self._lock = threading.Lock()
        self._records: dict[str, ExecutionRecord] = {}
        self._threads: list[threading.Thread] = []

    def record(self, arn: str) -> ExecutionRecord | None:
        """A consistent copy of one execution's record (None if this executor never ran it)."""
        with self._lock:
            found = self._records.get(arn)
            if found is None:
                return None
            return replace(found, steps={name: replace(step) for name, step in found.steps.items()})

    def start(self, execution: Execution, on_end: Callable[[ExecutionRecord], None] | None = None) -> None:
        record = ExecutionRecord(execution.arn, execution.pipeline_name, _now())
        with self._lock:
            self._records[execution.arn] = record
        thread = threading.Thread(
            target=self._drive, args=(execution, record, on_end), daemon=True, name=f"pipeline-{execution.execution_id}"
        )
        self._threads.append(thread)
        thread.start()

    def prewarm(self, code_uri: str) -> None:
        """In the background: fetch the runtime bundle at `code_uri` (as a step's input would be) and have the
        runner start its warm workers' Spark now (a cold runner has nothing to warm). A failure is only
        logged: the steps then start Spark themselves."""

        def warm() -> None:
            try:
                self.runner.prewarm(self.fetch(code_uri))
            except Exception as err:
                print(json.dumps({"event": "prewarm_failed", "code": code_uri, "cause": str(err)[:500]}), flush=True)

        threading.Thread(target=warm, daemon=True, name="prewarm").start()

    def wait_idle(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def close(self) -> None:
        self._steps.shutdown(wait=False, cancel_futures=True)
        self.runner.close()

    def _drive(
        self, execution: Execution, record: ExecutionRecord, on_end: Callable[[ExecutionRecord], None] | None
    ) -> None:
        definition = execution.definition
        context = ExecutionContext(
            execution.parameters, execution.execution_id, execution.arn, record.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        cap = execution.max_parallel_steps or len(definition.steps) or 1
        running: dict[Future[None], str] = {}
        started: set[str] = set()
        failed = False
        while True:
            with self._lock:
                succeeded = {name for name, step in record.steps.items() if step.status == "Succeeded"}
                failed = any(step.status == "Failed" for step in record.steps.values())
            if not failed:
                for name in definition.order():
                    if len(running) >= cap:
                        break
                    step = definition.steps[name]
                    if name not in started and all(dep in succeeded for dep in step.depends_on):
                        started.add(name)
                        self._begin(execution, record, name)
                        running[self._steps.submit(self._run_step, execution, record, name, context)] = name
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
        with self._lock:
            failures = [f"{s.name}: {s.failure_reason}" for s in record.steps.values() if s.status == "Failed"]
            record.status = "Failed" if failures else "Succeeded"
            if failures:
                record.failure_reason = f"Step failure: One or multiple steps failed. {'; '.join(failures)}"[
                    :MAX_REASON
                ]
            record.end = _now()
            final = replace(record)
        if on_end is not None:
            on_end(final)

    def _begin(self, execution: Execution, record: ExecutionRecord, name: str) -> None:
        folder = self.work_dir / execution.execution_id
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(f"{execution.arn}/{name}".encode()).hexdigest()[:12]
        region_account = ":".join(execution.arn.split(":")[3:5])
        job_arn = f"arn:aws:sagemaker:{region_account}:processing-job/pipelines-{execution.execution_id}-{digest}"
        with self._lock:
            record.steps[name] = StepRecord(name, _now(), folder / f"{name}.log", job_arn)

    def _finish(self, record: ExecutionRecord, name: str, reason: str | None, warm: bool = False) -> None:
        with self._lock:
            step = record.steps[name]
            step.status = "Failed" if reason else "Succeeded"
            step.failure_reason = reason[:MAX_REASON] if reason else None
            step.end = _now()
            step.warm = warm

    def _run_step(self, execution: Execution, record: ExecutionRecord, name: str, context: ExecutionContext) -> None:
        with self._slots.held(record.start.timestamp()):
            self._run_step_in_slot(execution, record, name, context)

    def _run_step_in_slot(
        self, execution: Execution, record: ExecutionRecord, name: str, context: ExecutionContext
    ) -> None:
        step = execution.definition.steps[name]
        with self._lock:
            record.steps[name].status = "Executing"
            record.steps[name].start = _now()
            log = record.steps[name].log
        try:
            if step.type != PROCESSING:
                raise DefinitionError(f"step type {step.type!r} is not emulated locally (Processing steps are)")
            command = local_command(name, resolve(step.arguments, context), self.fetch)
        except DefinitionError as err:
            self._finish(record, name, f"ClientError: {err}")
            return
        except Exception as err:
            self._finish(record, name, f"ClientError: {type(err).__name__}: {err}")
            return
        cwd = log.parent / f"{name}.cwd"
        cwd.mkdir(exist_ok=True)
        try:
            result = self.runner.run(command, log, cwd)
        except Exception as err:
            self._finish(record, name, f"InternalServerError: {type(err).__name__}: {err}")
            return
        if result.exit_code == 0:
            self._finish(record, name, None, result.warm)
            return
        cause = failure_cause(log) or " ".join(tail(log, 600).split()) or "no output"
        self._finish(record, name, f"AlgorithmError: exit code {result.exit_code}: {cause}", result.warm)
