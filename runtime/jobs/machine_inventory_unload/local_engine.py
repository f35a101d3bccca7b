"""The `local` stand-in for Redshift: the same SELECT, transpiled to DuckDB, over Parquet tables on disk.

There is no Redshift locally. A local storage root holds a pseudo-cluster next to the buckets:
`<root>/_redshift/<cluster_identifier>/<database>/<schema>/<table>/*.parquet` (`_redshift` cannot be an S3
bucket name, so it never clashes with one). Every table found there is a DuckDB view `"<schema>"."<table>"`,
the inventory SELECT runs over them, and the rows are written where UNLOAD would put them:
`<output.s3_prefix>snapshot_month=<YYYY-MM>/[<partition>=<value>/]part-*.parquet`. A re-run replaces the
month (the new files are written aside, then swapped in), as UNLOAD's CLEANPATH does.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlglot import exp

from runtime.errors import RuntimeJobError
from runtime.jobs.machine_inventory_unload.spec import RedshiftTarget
from runtime.storage import LocalStorage

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

LOCAL_WAREHOUSE_DIR = "_redshift"
SINGLE_FILE = "part-00000.parquet"


@dataclass(frozen=True)
class LocalOutcome:
    rows: int
    files: tuple[str, ...]


def database_dir(root: Path, target: RedshiftTarget) -> Path:
    return root / LOCAL_WAREHOUSE_DIR / target.cluster_identifier / target.database


def _identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql(dialect="duckdb")


def _register_tables(connection: DuckDBPyConnection, database: Path, tables: list[str]) -> None:
    """Every `<schema>/<table>/` folder holding Parquet files as the view "<schema>"."<table>"."""
    for schema_dir in sorted(p for p in database.iterdir() if p.is_dir()):
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_identifier(schema_dir.name)}")
        for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir() and any(p.glob("*.parquet"))):
            name = f"{_identifier(schema_dir.name)}.{_identifier(table_dir.name)}"
            files = _literal(str(table_dir / "*.parquet"))
            connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files})")
            tables.append(f"{schema_dir.name}.{table_dir.name}")


def run_local_unload(
    storage: LocalStorage, target: RedshiftTarget, select_sql: str, target_uri: str, partition_by: tuple[str, ...]
) -> LocalOutcome:
    """Run the DuckDB form of the SELECT and write the snapshot under `target_uri` (a folder)."""
    import duckdb

    database = database_dir(storage.root, target)
    if not database.is_dir():
        raise RuntimeJobError(
            f"no local Redshift database {target.cluster_identifier}/{target.database} at {database} "
            "(write one with `ndrc gen-traffic --days N`)"
        )
    final = storage.local_path(target_uri)
    staging = final.with_name(f".{final.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(":memory:", config={"threads": 1})
    tables: list[str] = []
    try:
        _register_tables(connection, database, tables)
        if partition_by:
            keys = ", ".join(_identifier(name) for name in partition_by)
            options = f"FORMAT PARQUET, PARTITION_BY ({keys}), FILENAME_PATTERN 'part-{{i}}'"
            destination = staging
        else:
            staging.mkdir()
            options, destination = "FORMAT PARQUET", staging / SINGLE_FILE
        written = connection.execute(f"COPY ({select_sql}) TO {_literal(str(destination))} ({options})").fetchone()
    except duckdb.Error as problem:
        shutil.rmtree(staging, ignore_errors=True)
        listed = ", ".join(tables) or "none"
        first_line = str(problem).splitlines()[0]
        raise RuntimeJobError(
            f"local Redshift stand-in ({database}) could not run the inventory SELECT: {first_line} "
            f"(tables present: {listed})"
        ) from None
    finally:
        connection.close()
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    files = tuple(sorted(str(path.relative_to(final)) for path in final.rglob("*.parquet")))
    return LocalOutcome(int(written[0]) if written else 0, files)
