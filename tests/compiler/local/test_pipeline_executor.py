"""Scheduling of the local pipeline executor (pure logic: a recording step runner stands in for processes)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from compiler.local.pipeline_definition import execution_parameters, parse_definition
from compiler.local.pipeline_executor import Execution, ExecutionRecord, PipelineExecutor
from compiler.local.processing import LocalCommand
from compiler.local.step_runners import StepResult

ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/e1"


class RecordingRunner:
    """Runs nothing: sleeps, records which steps overlapped, fails the steps it is told to."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing
        self.running: set[str] = set()
        self.overlaps: list[frozenset[str]] = []
        self.order: list[str] = []
        self.lock = threading.Lock()

    def run(self, command: LocalCommand, log: Path, cwd: Path) -> StepResult:
        name = command.arguments[0]
        with self.lock:
            self.running.add(name)
            self.overlaps.append(frozenset(self.running))
            self.order.append(name)
        time.sleep(0.3)
        with self.lock:
            self.running.discard(name)
        if name in self.failing:
            log.write_text(json.dumps({"event": "job_failed", "error": "RuntimeJobError", "cause": f"{name} broke"}))
            return StepResult(1, warm=False)
        return StepResult(0, warm=False)

    def prewarm(self, code_dir: Path) -> int:
        return 0

    def close(self) -> None:
        return None


def _step(name: str, depends: list[str]) -> dict[str, object]:
    return {
        "Name": name,
        "Type": "Processing",
        "DependsOn": depends,
        "Arguments": {
            "AppSpecification": {
                "ContainerEntrypoint": ["python3", "job.py"],
                "ContainerArguments": [name, {"Get": "Parameters.Project"}],
            }
        },
    }


DIAMOND = json.dumps(
    {
        "Parameters": [{"Name": "Project", "Type": "String", "DefaultValue": "p"}],
        "Steps": [_step("A", []), _step("B", ["A"]), _step("C", ["A"]), _step("E", ["A"]), _step("D", ["B", "C"])],
    }
)


def _run(tmp_path: Path, failing: set[str], budget: int) -> tuple[RecordingRunner, ExecutionRecord]:
    runner = RecordingRunner(failing)
    executor = PipelineExecutor(runner, lambda uri: tmp_path, budget, tmp_path)
    definition = parse_definition(DIAMOND)
    ended: list[ExecutionRecord] = []
    executor.start(Execution(ARN, "p", "e1", definition, execution_parameters(definition, [])), ended.append)
    executor.wait_idle(timeout=30)
    executor.close()
    return runner, ended[0]


def test_independent_steps_run_together_within_the_budget_and_dependents_wait(tmp_path: Path) -> None:
    runner, record = _run(tmp_path, set(), budget=2)
    assert record.status == "Succeeded" and record.failure_reason is None
    assert max(len(overlap) for overlap in runner.overlaps) == 2  # B, C, E are independent; the budget is 2
    assert runner.order[0] == "A" and runner.order.index("D") > max(runner.order.index("B"), runner.order.index("C"))
    assert [step.status for step in record.steps.values()] == ["Succeeded"] * 5


def test_a_failed_step_starts_no_dependent_and_the_execution_says_which_step_failed(tmp_path: Path) -> None:
    runner, record = _run(tmp_path, {"B"}, budget=3)
    assert record.status == "Failed"
    assert "D" not in runner.order and "D" not in record.steps  # never started, never listed
    assert record.steps["C"].status == "Succeeded"  # already running when B failed: it finishes
    assert record.failure_reason == (
        "Step failure: One or multiple steps failed. B: AlgorithmError: exit code 1: RuntimeJobError: B broke"
    )


def test_a_step_waiting_for_the_budget_is_starting_and_its_time_counts_from_when_it_ran(tmp_path: Path) -> None:
    runner, record = _run(tmp_path, set(), budget=1)
    assert max(len(overlap) for overlap in runner.overlaps) == 1
    durations = [(step.end - step.start).total_seconds() for step in record.steps.values() if step.end]
    assert len(durations) == 5 and max(durations) < 0.3 + 0.25  # not the ~0.9 s B, C and E queue for


def test_a_freed_step_slot_goes_to_the_step_of_the_oldest_execution() -> None:
    import threading
    import time

    from compiler.local.pipeline_executor import StepSlots

    slots = StepSlots(1)
    order: list[str] = []

    def step(name: str, execution_start: float) -> None:
        with slots.held(execution_start):
            order.append(name)

    with slots.held(0.0):
        threads = [
            threading.Thread(target=step, args=("younger", 2.0)),
            threading.Thread(target=step, args=("older", 1.0)),
        ]
        for thread in threads:
            thread.start()
            while len(slots._waiting) < threads.index(thread) + 1:  # each is queued before the next asks
                time.sleep(0.01)
    for thread in threads:
        thread.join(10)
    assert order == ["older", "younger"]
