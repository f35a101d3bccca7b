"""The inventory SELECT and UNLOAD text, exactly; quoting that survives Redshift's literal rules."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from sqlglot.tokens import TokenType

from runtime.errors import SpecError
from runtime.jobs.machine_inventory_unload import sql
from runtime.jobs.machine_inventory_unload.spec import InventoryUnloadSpec

ROLE = "arn:aws:iam::123456789012:role/ndr-redshift-unload"
TARGET = "s3://features/ndr-prod/reference/machine_inventory/snapshot_month=2025-01/"
REDSHIFT = {
    "cluster_identifier": "globex-itam-prod",
    "database": "itam",
    "secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ndr/redshift/unload-Q7xK2p",
    "region": "eu-west-1",
    "iam_role": ROLE,
}


def spec(query: dict[str, Any], **output: Any) -> InventoryUnloadSpec:
    payload = {"redshift": REDSHIFT, "query": query, "output": {"s3_prefix": "s3://features/inv/", **output}}
    return InventoryUnloadSpec.from_payload("ndr-prod", payload, "ndr-prod/machine_inventory_unload")


def selects(query: dict[str, Any], **output: Any) -> tuple[str, str]:
    built = sql.build_select(spec(query, **output).select)
    return sql.redshift_sql(built), sql.duckdb_sql(built)


def test_table_query_with_filters_quoted_identifiers_and_aliases() -> None:
    redshift, duckdb = selects(
        {
            "schema": "itam",
            "table": "machine_inventory",
            "ip_column": "ip_address",
            "name_column": "hostname",
            "active_filter": "status = 'active'",
            "additional_filters": ["ip_address IS NOT NULL", "decommissioned_at IS NULL"],
        }
    )
    assert redshift == (
        'SELECT "ip_address" AS "ip_address", "hostname" AS "machine_name" FROM "itam"."machine_inventory" '
        "WHERE (status = 'active' AND NOT ip_address IS NULL) AND decommissioned_at IS NULL"
    )  # sqlglot's Redshift dialect spells IS NOT NULL as NOT ... IS NULL (same meaning)
    assert duckdb == redshift


def test_defaults_and_custom_output_columns() -> None:
    redshift, _ = selects({"schema": "cmdb", "table": "Hosts"}, ip_output_column="ip", name_output_column="host")
    assert redshift == 'SELECT "ip" AS "ip", "host" AS "host" FROM "cmdb"."Hosts"'


def test_a_quote_and_a_backslash_in_a_filter() -> None:
    redshift, duckdb = selects(
        {"schema": "itam", "table": "t", "active_filter": "owner = 'O''Brien' AND path LIKE 'C:\\\\%'"}
    )
    assert redshift == (
        'SELECT "ip_address" AS "ip_address", "machine_name" AS "machine_name" FROM "itam"."t" '
        "WHERE owner = 'O\\'Brien' AND path LIKE 'C:\\\\%'"
    )
    assert duckdb.endswith("WHERE owner = 'O''Brien' AND path LIKE 'C:\\%'")
    unload = sql.unload_statement(redshift, TARGET, ROLE)
    assert unload == (
        'UNLOAD (\'SELECT "ip_address" AS "ip_address", "machine_name" AS "machine_name" FROM "itam"."t" '
        "WHERE owner = ''O\\\\''Brien'' AND path LIKE ''C:\\\\\\\\%''') "
        f"TO '{TARGET}' IAM_ROLE '{ROLE}' FORMAT PARQUET CLEANPATH"
    )
    # Redshift's literal rules (as sqlglot's Redshift tokenizer applies them) give back the exact SELECT.
    literal = unload[len("UNLOAD (") : unload.index(") TO '")]
    tokens = sqlglot.tokenize(literal, read="redshift")
    assert [(token.token_type, token.text) for token in tokens] == [(TokenType.STRING, redshift)]


def test_user_sql_becomes_the_source_and_extra_partitions_are_selected() -> None:
    user = (
        "SELECT host.ip_address, host.fqdn AS machine_name, site.site_code AS site FROM cmdb.hosts AS host "
        "JOIN cmdb.sites AS site ON site.site_id = host.site_id WHERE host.lifecycle_state = 'in_service'"
    )
    redshift, _ = selects({"sql": user, "active_filter": "site <> 'LAB'"}, partitioning=["snapshot_month", "site"])
    assert redshift == (
        'SELECT "ip_address" AS "ip_address", "machine_name" AS "machine_name", "site" FROM ('
        f"{user}) AS \"inventory\" WHERE site <> 'LAB'"
    )
    unload = sql.unload_statement(redshift, TARGET, ROLE, ("site",))
    assert unload.endswith(f"TO '{TARGET}' IAM_ROLE '{ROLE}' FORMAT PARQUET PARTITION BY (\"site\") CLEANPATH")


def test_redshift_functions_are_transpiled_for_duckdb() -> None:
    redshift, duckdb = selects(
        {"sql": "SELECT NVL(ip, '0.0.0.0') AS ip_address, machine_name, GETDATE() AS seen FROM a.b"}
    )
    assert redshift == (
        'SELECT "ip_address" AS "ip_address", "machine_name" AS "machine_name" FROM ('
        "SELECT COALESCE(ip, '0.0.0.0') AS ip_address, machine_name, GETDATE() AS seen FROM a.b) AS \"inventory\""
    )
    assert duckdb == redshift.replace("GETDATE()", "CURRENT_TIMESTAMP")


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"sql": "DELETE FROM itam.machine_inventory"}, "must be a SELECT statement (found DELETE)"),
        ({"sql": "SELECT 1 AS a; SELECT 2 AS b"}, "exactly one SELECT statement (found 2 statements)"),
        ({"sql": "SELECT a INTO t2 FROM t"}, "must only read, but contains SELECT ... INTO"),
        ({"sql": "SELECT * FROM (SELECT 1"}, "does not parse"),
        ({"schema": "a", "table": "b", "active_filter": "1 = 1; DROP TABLE a.b"}, "one SQL predicate"),
        ({"schema": "a", "table": "b", "additional_filters": ["x = 1) OR (1 = 1"]}, "additional_filters[0]"),
        ({"ip_column": "ip"}, "needs sql, or both schema and table"),
    ],
)
def test_bad_sql_is_a_spec_error(query: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError, match=r"spec\.query") as raised:
        spec(query)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ({"partitioning": ["site"]}, "spec.output.partitioning must include snapshot_month"),
        ({"output_format": "CSV"}, "spec.output.output_format must be PARQUET"),
        ({"ip_output_column": "x", "name_output_column": "x"}, "must all differ"),
    ],
)
def test_bad_output_is_a_spec_error(output: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError, match="ndr-prod/machine_inventory_unload") as raised:
        spec({"schema": "a", "table": "b"}, **output)
    assert problem in str(raised.value)


def test_output_columns_of_a_user_select() -> None:
    assert sql.output_columns(sql.parse_user_select("SELECT a.ip AS ip_address, b.n machine, c FROM t")) == (
        "ip_address",
        "machine",
        "c",
    )
    assert sql.output_columns(sql.parse_user_select("SELECT * FROM t")) is None
    assert sql.quote_literal("it's C:\\") == "'it''s C:\\\\'"
