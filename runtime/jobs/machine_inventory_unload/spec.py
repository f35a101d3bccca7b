"""The typed `machine_inventory_unload` spec: Redshift connection, what to select, where to unload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.payload import PayloadReader

SNAPSHOT_PARTITION = "snapshot_month"
DEFAULT_IP_OUTPUT_COLUMN = "ip_address"
DEFAULT_NAME_OUTPUT_COLUMN = "machine_name"
OUTPUT_FORMATS = ("parquet",)


@dataclass(frozen=True)
class InventorySelect:
    """What the SELECT is built from: a table (schema.table) or a user query, plus filters and columns."""

    ip_column: str
    name_column: str
    ip_output_column: str
    name_output_column: str
    schema: str | None = None
    table: str | None = None
    user_sql: str | None = None
    active_filter: str | None = None
    additional_filters: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    """Partition columns besides snapshot_month: selected from the source as they are."""


@dataclass(frozen=True)
class RedshiftTarget:
    cluster_identifier: str
    database: str
    secret_arn: str | None
    region: str | None
    iam_role: str
    db_user: str | None = None


@dataclass(frozen=True)
class UnloadOutput:
    s3_prefix: str
    partitioning: tuple[str, ...] = (SNAPSHOT_PARTITION,)
    ip_output_column: str = DEFAULT_IP_OUTPUT_COLUMN
    name_output_column: str = DEFAULT_NAME_OUTPUT_COLUMN

    @property
    def extra_partitions(self) -> tuple[str, ...]:
        """Partition columns written by the engine; snapshot_month is in the target path instead."""
        return tuple(name for name in self.partitioning if name != SNAPSHOT_PARTITION)


@dataclass(frozen=True)
class InventoryUnloadSpec:
    project_name: str
    redshift: RedshiftTarget
    select: InventorySelect
    output: UnloadOutput

    @classmethod
    def from_payload(cls, project_name: str, payload: Mapping[str, Any], where: str) -> InventoryUnloadSpec:
        r = PayloadReader(payload, where)
        output = _output(r)
        select = InventorySelect(
            ip_column=r.string("query.ip_column", output.ip_output_column),
            name_column=r.string("query.name_column", output.name_output_column),
            ip_output_column=output.ip_output_column,
            name_output_column=output.name_output_column,
            schema=r.string("query.schema", None),
            table=r.string("query.table", None),
            user_sql=r.string("query.sql", None),
            active_filter=r.string("query.active_filter", None),
            additional_filters=r.strings("query.additional_filters", ()),
            extra_columns=output.extra_partitions,
        )
        if select.user_sql is None and not (select.schema and select.table):
            raise r.fail("query", "needs sql, or both schema and table")
        redshift = RedshiftTarget(
            cluster_identifier=r.string("redshift.cluster_identifier"),
            database=r.string("redshift.database"),
            secret_arn=r.string("redshift.secret_arn", None),
            region=r.string("redshift.region", None),
            iam_role=r.string("redshift.iam_role"),
            db_user=r.string("redshift.db_user", None),
        )
        if redshift.secret_arn is None and redshift.db_user is None:
            raise r.fail("redshift", "needs secret_arn (Secrets Manager) or db_user (temporary credentials)")
        spec = cls(project_name, redshift, select, output)
        from runtime.jobs.machine_inventory_unload.sql import InventorySqlError, build_select  # sqlglot: lazily

        try:
            build_select(select)
        except InventorySqlError as problem:
            raise r.fail("query", f"is not valid SQL: {problem}") from None
        return spec


def _output(r: PayloadReader) -> UnloadOutput:
    fmt = r.string("output.output_format", "PARQUET").lower()
    if fmt not in OUTPUT_FORMATS:
        raise r.fail("output.output_format", f"must be PARQUET (got {fmt.upper()!r})")
    partitioning = r.strings("output.partitioning", (SNAPSHOT_PARTITION,))
    if SNAPSHOT_PARTITION not in partitioning:
        raise r.fail("output.partitioning", f"must include {SNAPSHOT_PARTITION} (got {list(partitioning)})")
    if len(set(partitioning)) != len(partitioning):
        raise r.fail("output.partitioning", f"must not repeat a column (got {list(partitioning)})")
    output = UnloadOutput(
        s3_prefix=r.string("output.s3_prefix"),
        partitioning=tuple(partitioning),
        ip_output_column=r.string("output.ip_output_column", DEFAULT_IP_OUTPUT_COLUMN),
        name_output_column=r.string("output.name_output_column", DEFAULT_NAME_OUTPUT_COLUMN),
    )
    clashes = {output.ip_output_column, output.name_output_column} & set(output.partitioning)
    if output.ip_output_column == output.name_output_column or clashes:
        raise r.fail("output", "ip_output_column, name_output_column and the partition columns must all differ")
    return output
