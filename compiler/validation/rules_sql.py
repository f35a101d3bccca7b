"""SQL in specs, checked at compile time: the `machine_inventory_unload` query must be one read-only SELECT.

The runtime builds the UNLOAD from the same parser (`runtime/jobs/machine_inventory_unload/sql.py`), so a
spec that passes here is one the job can build; a `DELETE`, two statements or a broken filter are located
errors now instead of a failed pipeline step next month.
"""

from __future__ import annotations

import functools
from typing import Any

from compiler.diagnostics import Diagnostic, error
from compiler.load.yamlload import LoadedYaml
from compiler.model import JobItem
from compiler.rule_catalog import INVENTORY_COLUMNS, INVENTORY_FILTER, INVENTORY_SQL

INVENTORY_JOB = "machine_inventory_unload"
SNAPSHOT_PARTITION = "snapshot_month"


@functools.lru_cache(maxsize=1024)
def _user_select(text: str) -> tuple[str | None, tuple[str, ...] | None]:
    """(the problem, the columns the SELECT returns — None for `*`); workspaces repeat the same SQL across
    projects, and parsing is the costly part of validating an inventory spec."""
    from runtime.jobs.machine_inventory_unload import sql

    try:
        parsed = sql.parse_user_select(text)
    except sql.InventorySqlError as problem:
        return str(problem), None
    returned = sql.output_columns(parsed)
    return None, (tuple(returned) if returned is not None else None)


@functools.lru_cache(maxsize=1024)
def _filter_problem(text: str, label: str) -> str | None:
    from runtime.jobs.machine_inventory_unload import sql

    try:
        sql.parse_filter(text, label)
    except sql.InventorySqlError as problem:
        return str(problem)
    return None


def inventory_sql(item: JobItem, document: LoadedYaml, payload_key: str) -> list[Diagnostic]:
    """`query.sql` parses as exactly one SELECT; filters are single predicates; the columns the spec names
    (ip_column, name_column, extra partition columns) are columns the user's SELECT returns."""
    query, output = item.spec.get("query"), item.spec.get("output")
    if item.job_name != INVENTORY_JOB or not isinstance(query, dict):
        return []
    problems: list[Diagnostic] = []

    def located(path: tuple[str | int, ...], rule: str, problem: str) -> None:
        problems.append(error(document.locate((payload_key, *path)), rule, problem))

    returned: tuple[str, ...] | None = None
    if isinstance(query.get("sql"), str):
        problem, returned = _user_select(query["sql"])
        if problem is not None:
            located(("query", "sql"), INVENTORY_SQL, problem)
    filters: list[tuple[tuple[str | int, ...], str, Any]] = [
        (("query", "active_filter"), "query.active_filter", query.get("active_filter"))
    ]
    extra = query.get("additional_filters")
    for index, text in enumerate(extra if isinstance(extra, list) else []):
        filters.append((("query", "additional_filters", index), f"query.additional_filters[{index}]", text))
    for path, label, text in filters:
        if isinstance(text, str) and text.strip():
            filter_problem = _filter_problem(text, label)
            if filter_problem is not None:
                located(path, INVENTORY_FILTER, filter_problem)
    if returned is not None:
        lowered = {name.lower() for name in returned}
        wanted: list[tuple[tuple[str | int, ...], str]] = [
            (("query", key), query[key]) for key in ("ip_column", "name_column") if isinstance(query.get(key), str)
        ]
        defaults = {"ip_column": "ip_address", "name_column": "machine_name"}
        for key, output_key in (("ip_column", "ip_output_column"), ("name_column", "name_output_column")):
            if key not in query:
                chosen = output.get(output_key) if isinstance(output, dict) else None
                wanted.append((("query", "sql"), chosen if isinstance(chosen, str) else defaults[key]))
        partitions = output.get("partitioning") if isinstance(output, dict) else None
        for index, name in enumerate(partitions if isinstance(partitions, list) else []):
            if isinstance(name, str) and name != SNAPSHOT_PARTITION:
                wanted.append((("output", "partitioning", index), name))
        for path, name in wanted:
            if name.lower() not in lowered:
                located(
                    path,
                    INVENTORY_COLUMNS,
                    f"column {name!r} is not returned by query.sql (it returns: {', '.join(returned)})",
                )
    return problems
