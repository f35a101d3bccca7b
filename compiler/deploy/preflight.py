"""Checks of every write against DynamoDB's documented limits before the first write, so a publish never
half-applies for a reason known in advance (numbers, item size, key attributes)."""

from __future__ import annotations

from typing import Any

from compiler.deploy.deployed import HASH_ATTRIBUTE, UPDATED_ATTRIBUTE
from compiler.deploy.diff import plain_item
from compiler.deploy.plan import Change
from compiler.dynamodb_json import MAX_ITEM_BYTES, item_size
from compiler.validation.numbers import typed_number_problems

# What publish adds to every item: the content hash and a timestamp like 2025-01-15T10:08:41.123456Z.
SERVER_MANAGED_EXAMPLE = {HASH_ATTRIBUTE: "0" * 64, UPDATED_ATTRIBUTE: "2025-01-15T10:08:41.123456Z"}


def item_problems(change: Change, keys: tuple[str, ...]) -> list[str]:
    payload: Any = change.payload
    if change.action == "delete":
        payload = payload.get("Key") if isinstance(payload, dict) else None
    if not isinstance(payload, dict):
        return ["the item is not a DynamoDB item"]
    problems = [f"{path}: {problem}" for path, problem in typed_number_problems(payload)]
    for key in keys:
        value = payload.get(key)
        if not (isinstance(value, dict) and isinstance(value.get("S"), str) and value["S"]):
            problems.append(f"{key}: a key attribute must be a non-empty string")
    if change.action != "delete" and not problems:
        size = item_size({**plain_item(payload), **SERVER_MANAGED_EXAMPLE})
        if size > MAX_ITEM_BYTES:
            problems.append(f"the item is {size:,} bytes; DynamoDB items are limited to {MAX_ITEM_BYTES:,} bytes")
    return problems


def write_problems(changes: list[Change], layouts: dict[str, tuple[str, ...]]) -> list[str]:
    """One line per problem of a DynamoDB write DynamoDB would reject."""
    found = []
    for change in changes:
        if change.kind != "dynamodb_item" or change.target not in layouts:
            continue
        found += [f"{change.target} {change.label}: {p}" for p in item_problems(change, layouts[change.target])]
    return found
