"""DynamoDB plumbing for spec loading: table name resolution, client, item decoding."""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from runtime.contract import LEGACY_PARAMETERS_TABLE_ENV, PARAMETERS_TABLE_ENV, ROUTING_TABLE_ENV
from runtime.errors import RuntimeJobError, SpecTableNotConfiguredError

DEFAULT_ROUTING_TABLE = "ml_projects_routing"


def resolve_table_name(table_name: str | None = None) -> str:
    """Argument, else ML_PROJECTS_PARAMETERS_TABLE_NAME, else the legacy JOB_SPEC_DDB_TABLE_NAME."""
    for candidate in (table_name, os.environ.get(PARAMETERS_TABLE_ENV), os.environ.get(LEGACY_PARAMETERS_TABLE_ENV)):
        if candidate:
            return candidate
    raise SpecTableNotConfiguredError(
        f"no parameters table configured: pass table_name or set {PARAMETERS_TABLE_ENV} "
        f"(legacy {LEGACY_PARAMETERS_TABLE_ENV})"
    )


def resolve_routing_table_name(table_name: str | None = None) -> str:
    return table_name or os.environ.get(ROUTING_TABLE_ENV) or DEFAULT_ROUTING_TABLE


def dynamodb_client() -> Any:
    import boto3

    return boto3.client("dynamodb")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    return value


def decode_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB JSON (typed attribute values) to plain Python: numbers as int/float, sets as lists."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: _plain(deserializer.deserialize(value)) for key, value in item.items()}


def describe_client_error(err: Exception, table: str, action: str) -> RuntimeJobError:
    """A readable error for a botocore ClientError on `table`."""
    response = getattr(err, "response", {}) or {}
    code = response.get("Error", {}).get("Code", type(err).__name__)
    message = response.get("Error", {}).get("Message", str(err))
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "the default AWS endpoint")
    if code == "ResourceNotFoundException":
        return RuntimeJobError(f"{action}: DynamoDB table {table!r} does not exist at {endpoint}")
    return RuntimeJobError(f"{action} on DynamoDB table {table!r} failed: {code}: {message}")
