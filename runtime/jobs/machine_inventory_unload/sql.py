"""The inventory SELECT and the UNLOAD statement around it, built with sqlglot in the Redshift dialect.

The SELECT is assembled as a syntax tree, never by pasting text: identifiers from the spec are quoted, and
filters and a user `query.sql` are parsed first (exactly one SELECT, exactly one predicate per filter), so a
spec value cannot smuggle a second statement in. The compiler runs the same checks (`compiler/validation/rules_sql.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from runtime.jobs.machine_inventory_unload.spec import SNAPSHOT_PARTITION, InventorySelect

DIALECT = "redshift"
SOURCE_ALIAS = "inventory"
# Statements or clauses that write: never allowed inside the unloaded query or a filter.
_WRITING_NODES: tuple[type[exp.Expr], ...] = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Copy,
    exp.Command,
    exp.Into,
)


class InventorySqlError(ValueError):
    """A spec value that is not the SQL it must be; `line`/`column` are 1-based inside that value."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = f" (at SQL line {self.line}, column {self.column})" if self.line is not None else ""
        return self.message + where


def _parsed(text: str, what: str) -> list[exp.Expr]:
    try:
        return [statement for statement in sqlglot.parse(text, read=DIALECT) if statement is not None]
    except ParseError as problem:
        first = problem.errors[0] if problem.errors else {}
        description = first.get("description") or str(problem).splitlines()[0]
        description = re.sub(r" for <class '[^']+'>", "", description)  # sqlglot's internal class names
        raise InventorySqlError(f"{what} does not parse: {description}", first.get("line"), first.get("col")) from None
    except TokenError as problem:
        raise InventorySqlError(f"{what} does not parse: {problem}") from None


def _statement_kind(statement: exp.Expr) -> str:
    return statement.key.upper() if not isinstance(statement, exp.Command) else str(statement.this).upper()


def _refuse_writes(tree: exp.Expr, what: str) -> None:
    for node in tree.walk():
        if isinstance(node, _WRITING_NODES):
            kind = "SELECT ... INTO" if isinstance(node, exp.Into) else _statement_kind(node)
            raise InventorySqlError(f"{what} must only read, but contains {kind}")


def parse_user_select(sql: str) -> exp.Query:
    """`query.sql`: exactly one SELECT (a set operation of SELECTs counts), reading only."""
    statements = _parsed(sql, "query.sql")
    if len(statements) != 1:
        raise InventorySqlError(f"query.sql must be exactly one SELECT statement (found {len(statements)} statements)")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise InventorySqlError(f"query.sql must be a SELECT statement (found {_statement_kind(statement)})")
    _refuse_writes(statement, "query.sql")
    return statement


def parse_filter(text: str, what: str) -> exp.Expr:
    """One filter: a single boolean expression (`status = 'active'`), not a statement."""
    statements = _parsed(text, what)
    if len(statements) != 1 or not isinstance(statements[0], exp.Condition):
        found = "nothing" if not statements else ", ".join(_statement_kind(s) for s in statements)
        raise InventorySqlError(f"{what} must be one SQL predicate such as \"status = 'active'\" (found {found})")
    _refuse_writes(statements[0], what)
    return statements[0]


def output_columns(query: exp.Query) -> tuple[str, ...] | None:
    """The column names a query returns, or None when a `*` makes them unknowable before running it."""
    if any(isinstance(select, exp.Star) or select.is_star for select in query.selects):
        return None
    return tuple(query.named_selects)


def _column(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def build_select(spec: InventorySelect) -> exp.Select:
    """SELECT "<ip>" AS "<ip_out>", "<name>" AS "<name_out>"[, "<partition col>"...] FROM <source> [WHERE ...]."""
    if spec.user_sql is not None:
        source: exp.Expr = parse_user_select(spec.user_sql).subquery(exp.to_identifier(SOURCE_ALIAS, True))
    elif spec.schema and spec.table:
        source = exp.table_(spec.table, db=spec.schema, quoted=True)
    else:
        raise InventorySqlError("query needs sql, or both schema and table")
    projections: list[exp.Expr] = [
        exp.alias_(_column(spec.ip_column), spec.ip_output_column, quoted=True),
        exp.alias_(_column(spec.name_column), spec.name_output_column, quoted=True),
        *(_column(name) for name in spec.extra_columns),
    ]
    select = exp.select(*projections).from_(source)
    filters = [parse_filter(spec.active_filter, "query.active_filter")] if spec.active_filter else []
    filters += [
        parse_filter(text, f"query.additional_filters[{index}]") for index, text in enumerate(spec.additional_filters)
    ]
    for condition in filters:
        select = select.where(condition, copy=False)
    return select


def quote_literal(text: str) -> str:
    """A Redshift string literal: embedded single quotes and backslashes doubled, as QUOTE_LITERAL does
    (https://docs.aws.amazon.com/redshift/latest/dg/r_QUOTE_LITERAL.html)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def unload_statement(select_sql: str, target_uri: str, iam_role: str, partition_by: Sequence[str] = ()) -> str:
    """`UNLOAD ('<select>') TO '<target>' IAM_ROLE '<role>' FORMAT PARQUET [PARTITION BY (...)] CLEANPATH`.

    CLEANPATH empties the target (or, with PARTITION BY, the partitions written) first, so a re-run of
    a month replaces that month's snapshot instead of failing on existing files or mixing two runs.
    """
    statement = (
        f"UNLOAD ({quote_literal(select_sql)}) TO {quote_literal(target_uri)} IAM_ROLE {quote_literal(iam_role)}"
    )
    statement += " FORMAT PARQUET"
    if partition_by:
        columns = ", ".join(exp.to_identifier(name, quoted=True).sql(dialect=DIALECT) for name in partition_by)
        statement += f" PARTITION BY ({columns})"
    return statement + " CLEANPATH"


def redshift_sql(select: exp.Select) -> str:
    return select.sql(dialect=DIALECT)


def duckdb_sql(select: exp.Select) -> str:
    """The same SELECT transpiled for the local engine."""
    return select.sql(dialect="duckdb")


__all__ = ["SNAPSHOT_PARTITION", "InventorySelect", "InventorySqlError"]
