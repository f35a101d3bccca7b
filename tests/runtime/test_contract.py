"""The orchestration contract: the compiler and the runtime read the same facts from runtime/contract.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from compiler.orchestration.jsonata import source
from runtime import contract
from runtime.orchestration.window import floor_to_cron


def test_sort_key_round_trips() -> None:
    assert contract.sort_key("fg_c_builder", "v1") == "fg_c_builder#v1"
    assert contract.sort_key("machine_inventory_unload", None) == "machine_inventory_unload"
    assert contract.split_sort_key("fg_c_builder#v1") == ("fg_c_builder", "v1")
    assert contract.split_sort_key("machine_inventory_unload") == ("machine_inventory_unload", None)


def test_cron_expression_fires_at_the_floor_minutes() -> None:
    minutes, *rest = contract.WINDOW_CRON_EXPRESSION.split()
    first, step = minutes.split("/")
    start, end = (int(part) for part in first.split("-"))
    assert tuple(range(start, end + 1, int(step))) == contract.WINDOW_FLOOR_MINUTES
    assert rest == ["*", "*", "*", "?", "*"]


def test_window_floor_uses_the_contract_minutes() -> None:
    for minute in range(60):
        floored = floor_to_cron(datetime(2025, 1, 15, 10, minute, tzinfo=UTC))
        assert floored.minute in contract.WINDOW_FLOOR_MINUTES


REPO = Path(__file__).resolve().parents[2]
# Field names of the state machines' own JSON that happen to equal a contract value (not table attributes).
SAME_NAME_ELSEWHERE = {("compiler/orchestration/stepfunctions.py", "lock_key"), ("window_context.jsonata", "lock_key")}
# JSONata that spells a contract value out because a substituted JSON literal ("...") would change the
# compiled artifact's bytes; a test below ties each one to the contract.
SPELLED_OUT = {("project.jsonata", "project_parameters")}


def _facts() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(contract).items()
        if name.isupper() and isinstance(value, str) and len(value) > 2 and name != "BATCH_FILE_SUFFIX"
    }


def test_no_module_copies_a_contract_fact() -> None:
    copies = []
    for folder in ("compiler", "runtime", "devtools"):
        for path in sorted((REPO / folder).rglob("*")):
            if path.suffix not in (".py", ".jsonata") or path == REPO / "runtime" / "contract.py":
                continue
            text = path.read_text(encoding="utf-8")
            relative = path.relative_to(REPO).as_posix()
            for name, value in _facts().items():
                if {(relative, value), (path.name, value)} & (SAME_NAME_ELSEWHERE | SPELLED_OUT):
                    continue
                if f'"{value}"' in text or f"'{value}'" in text:
                    copies.append(f"{relative}: {name} {value!r}")
            floor = ",\\s*".join(str(minute) for minute in contract.WINDOW_FLOOR_MINUTES)
            if re.search(rf"\b{floor}\b", text):
                copies.append(f"{relative}: WINDOW_FLOOR_MINUTES")
    assert copies == []


def test_the_event_expression_checks_the_contract_file_suffix() -> None:
    """The JSONata that validates an S3 key spells the suffix out (a JSON literal would change the artifact)."""
    suffix = contract.BATCH_FILE_SUFFIX
    text = source("event")
    assert f"$substring($file, -{len(suffix)}) = '{suffix}'" in text
    assert f"must end in {suffix}" in text


def test_the_project_expression_reads_the_contract_parameters_job() -> None:
    job, delimiter = contract.PROJECT_PARAMETERS_JOB, contract.VERSION_DELIMITER
    text = source("project")
    assert f"$versionsOf('{job}')" in text
    assert f"$i.job_name.S = '{job}{delimiter}' & $version" in text
