"""The orchestration contract: the compiler and the runtime read the same facts from runtime/contract.py."""

from __future__ import annotations

from datetime import UTC, datetime

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
