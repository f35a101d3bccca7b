"""Runtime fixtures: ONE Spark session (local[2]) for the whole run, local storage, DynamoDB tables."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest

from runtime.storage import LocalStorage


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from runtime.spark import build_spark_session

    session = build_spark_session(
        "ndrc-runtime-tests",
        master="local[2]",
        config={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
            "spark.driver.memory": "1g",
        },
    )
    yield session
    session.stop()


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "s3")


def write_jsonl_gz(storage: LocalStorage, uri: str, rows: Iterable[Mapping[str, Any]]) -> None:
    body = "".join(json.dumps(row) + "\n" for row in rows).encode("utf-8")
    storage.write_bytes(uri, gzip.compress(body, mtime=0))


def _create(client: Any, name: str, keys: list[tuple[str, str]]) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": n, "KeyType": kind} for n, kind in keys],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n, _ in keys],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def ddb(aws_env: str) -> Any:
    return boto3.client("dynamodb")


@pytest.fixture
def params_table(ddb: Any) -> str:
    """A fresh parameters table (PK project_name, SK job_name) with a unique name per test."""
    name = f"ml_projects_parameters_{uuid.uuid4().hex[:10]}"
    _create(ddb, name, [("project_name", "HASH"), ("job_name", "RANGE")])
    return name


@pytest.fixture
def routing_table(ddb: Any) -> str:
    name = f"ml_projects_routing_{uuid.uuid4().hex[:10]}"
    _create(ddb, name, [("org_key", "HASH")])
    return name


def job_argv(
    job: str, table: str, root: object, *extra: str, project: str = "ndr-prod", version: str = "v1"
) -> list[str]:
    """The entry point's arguments for a project-level job (not per batch) reading its spec from `table`
    with local storage under `root`; `extra` adds the job's own arguments (e.g. --reference-ts-iso)."""
    return [
        job,
        "--project-name",
        project,
        "--feature-spec-version",
        version,
        *extra,
        "--table-name",
        table,
        "--storage-root",
        str(root),
    ]


def put_item(ddb: Any, table: str, item: Mapping[str, Any]) -> None:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    ddb.put_item(TableName=table, Item={k: serializer.serialize(v) for k, v in item.items()})


@pytest.fixture
def jsonl_gz() -> Any:
    """`jsonl_gz(storage, uri, rows)` writes rows as one gzip JSON-lines object."""
    return write_jsonl_gz


@pytest.fixture
def ddb_put(ddb: Any) -> Any:
    """`ddb_put(table, item)` writes a plain-Python item (ints, strings, maps, lists)."""
    return lambda table, item: put_item(ddb, table, item)
