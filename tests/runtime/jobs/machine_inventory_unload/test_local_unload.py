"""The local engine end to end (`python -m runtime machine_inventory_unload` with a storage root): the
world's inventory in, the UNLOAD layout out, rows recomputed independently with DuckDB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from devtools.traffic import TrafficOptions
from devtools.world import InventoryLocation, WorldOptions, generate_world
from runtime.entrypoint import main
from runtime.storage import LocalStorage

pytestmark = pytest.mark.emulator

PROJECT = "ndr-inventory"
LOCATION = InventoryLocation("itam-local", "itam", "itam", "machine_inventory")
SPEC: dict[str, Any] = {
    "redshift": {
        "cluster_identifier": LOCATION.cluster_identifier,
        "database": LOCATION.database,
        "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ndr/redshift/unload-Q7xK2p",
        "region": "us-east-1",
        "iam_role": "arn:aws:iam::123456789012:role/ndr-redshift-unload-local",
    },
    "query": {
        "schema": LOCATION.schema,
        "table": LOCATION.table,
        "ip_column": "ip_address",
        "name_column": "hostname",
        "active_filter": "status = 'active'",
        "additional_filters": ["ip_address IS NOT NULL", "decommissioned_at IS NULL"],
    },
    "output": {
        "s3_prefix": "s3://features/ndr-inventory/reference/machine_inventory/",
        "partitioning": ["snapshot_month"],
    },
}
OUTPUT = "features/ndr-inventory/reference/machine_inventory"


@pytest.fixture
def world(tmp_path: Path) -> tuple[LocalStorage, Path]:
    storage = LocalStorage(tmp_path / "s3")
    options = WorldOptions(traffic=TrafficOptions(hosts=24, seed=11), days=3, batches_per_day=2, rows_per_batch=5)
    run = generate_world("s3://ingest", options, storage=storage, inventory=LOCATION)
    return storage, run.inventory_path


def unload(
    table: str, storage: LocalStorage, spec: dict[str, Any], capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "machine_inventory_unload",
            "--project-name",
            PROJECT,
            "--table-name",
            table,
            "--storage-root",
            str(storage.root),
            *extra,
        ]
    )
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else {"stderr": out.err})


def rows(query: str) -> list[tuple[Any, ...]]:
    return duckdb.connect().execute(query).fetchall()


def test_the_snapshot_is_the_active_inventory_of_the_reference_month(
    params_table: str, ddb_put: Any, world: tuple[LocalStorage, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    storage, inventory = world
    ddb_put(params_table, {"project_name": PROJECT, "job_name": "machine_inventory_unload", "spec": SPEC})
    # 01:30 at UTC+2 on 1 February is still January in UTC.
    code, summary = unload(params_table, storage, SPEC, capsys, "--reference-ts-iso", "2025-02-01T01:30:00+02:00")
    assert code == 0, summary
    month_dir = storage.root / OUTPUT / "snapshot_month=2025-01"
    assert summary["engine"] == "duckdb" and summary["snapshot_month"] == "2025-01"
    assert summary["output_uri"] == f"s3://{OUTPUT}/snapshot_month=2025-01/"
    assert (
        summary["files"] == ["part-00000.parquet"] and sorted(p.name for p in month_dir.iterdir()) == summary["files"]
    )
    expected = rows(
        f"SELECT ip_address, hostname FROM read_parquet('{inventory}') "
        "WHERE status = 'active' AND ip_address IS NOT NULL AND decommissioned_at IS NULL ORDER BY 1, 2"
    )
    written = rows(f"SELECT ip_address, machine_name FROM read_parquet('{month_dir}/*.parquet') ORDER BY 1, 2")
    assert written == expected and summary["rows"] == len(expected)
    # 24 machines and the 20 internal servers, one current lease each; expired leases and retired machines left out
    assert len(expected) == 24 + 20
    columns = (
        duckdb.connect()
        .execute(f"DESCRIBE SELECT * FROM read_parquet('{month_dir}/*.parquet', hive_partitioning = false)")
        .fetchall()
    )
    assert [(c[0], c[1]) for c in columns] == [("ip_address", "VARCHAR"), ("machine_name", "VARCHAR")]


def test_extra_partitions_and_a_rerun_replace_the_month(
    params_table: str, ddb_put: Any, world: tuple[LocalStorage, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    storage, inventory = world
    spec = {**SPEC, "output": {**SPEC["output"], "partitioning": ["snapshot_month", "site"]}}
    ddb_put(params_table, {"project_name": PROJECT, "job_name": "machine_inventory_unload", "spec": spec})
    code, summary = unload(params_table, storage, spec, capsys, "--reference-ts-iso", "2025-03-10T00:00:00Z")
    assert code == 0, summary
    month_dir = storage.root / OUTPUT / "snapshot_month=2025-03"
    assert sorted(p.name for p in month_dir.iterdir()) == [
        "site=BRANCH-A",
        "site=BRANCH-B",
        "site=DC",
        "site=HQ",
        "site=VDI-POOL",
    ]
    assert all(f.startswith("site=") and f.endswith(".parquet") for f in summary["files"])
    written = rows(
        f"SELECT site, ip_address, machine_name FROM read_parquet('{month_dir}/*/*.parquet', hive_partitioning = true) "
        "ORDER BY 1, 2, 3"
    )
    expected = rows(
        f"SELECT site, ip_address, hostname FROM read_parquet('{inventory}') "
        "WHERE status = 'active' AND ip_address IS NOT NULL AND decommissioned_at IS NULL ORDER BY 1, 2, 3"
    )
    assert written == expected

    narrower = {**spec, "query": {**spec["query"], "additional_filters": ["machine_kind = 'vdi'"]}}
    ddb_put(params_table, {"project_name": PROJECT, "job_name": "machine_inventory_unload", "spec": narrower})
    code, summary = unload(params_table, storage, narrower, capsys, "--reference-ts-iso", "2025-03-31T23:59:59Z")
    assert code == 0, summary
    assert sorted(p.name for p in month_dir.iterdir()) == ["site=VDI-POOL"]  # the earlier run's partitions are gone
    vdi = rows(f"SELECT machine_name FROM read_parquet('{month_dir}/*/*.parquet') ORDER BY 1")
    assert [name for (name,) in vdi] == [f"VDI-FINANCE-{i:04d}" for i in range(5)] and summary["rows"] == 5
    assert sorted(p.name for p in month_dir.parent.iterdir()) == ["snapshot_month=2025-03"]  # no staging left


def test_a_missing_table_fails_in_one_line_naming_what_is_there(
    params_table: str, ddb_put: Any, world: tuple[LocalStorage, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    storage, _ = world
    spec = {**SPEC, "query": {**SPEC["query"], "table": "hosts"}}
    ddb_put(params_table, {"project_name": PROJECT, "job_name": "machine_inventory_unload", "spec": spec})
    code, result = unload(params_table, storage, spec, capsys, "--reference-ts-iso", "2025-01-15T00:00:00Z")
    assert code == 1
    failure = json.loads(result["stderr"].strip().splitlines()[-1])
    assert failure["event"] == "job_failed" and "tables present: itam.machine_inventory" in failure["cause"]
    assert [p for p in (storage.root / OUTPUT).rglob("*")] == []  # nothing written, no staging left
