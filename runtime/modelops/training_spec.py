"""What the lifecycle steps take from the project's `if_training` item: the model version and the
`deployment` block. Read as the raw payload (not through the job registry), so these steps do not depend on
how `if_training` types its own spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from runtime.config.ddb import decode_item, describe_client_error, dynamodb_client, resolve_table_name
from runtime.contract import sort_key
from runtime.errors import SpecNotFoundError

TRAINING_JOB = "if_training"


@dataclass(frozen=True)
class TrainingSettings:
    key: str
    model_version: str | None
    model_name: str | None
    deployment: Mapping[str, Any] = field(default_factory=dict)


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def load_payload(
    job_name: str, project_name: str, feature_spec_version: str | None, table_name: str | None, client: Any = None
) -> tuple[str, dict[str, Any]]:
    """`(job_name#version | job_name, the item's spec payload)` of the project's item for `job_name`."""
    table = resolve_table_name(table_name)
    client = client or dynamodb_client()
    keys = [sort_key(job_name, feature_spec_version)] if feature_spec_version else []
    for key in [*keys, job_name]:
        try:
            response = client.get_item(
                TableName=table, Key={"project_name": {"S": project_name}, "job_name": {"S": key}}
            )
        except ClientError as err:
            raise describe_client_error(err, table, "GetItem") from err
        if "Item" in response:
            item = decode_item(response["Item"])
            return key, _mapping(item.get("spec") or item.get("parameters") or {})
    raise SpecNotFoundError(
        f"no {job_name} spec in table {table!r} for project_name={project_name!r} (tried {[*keys, job_name]})"
    )


def load_training_settings(
    project_name: str, feature_spec_version: str | None, table_name: str | None, client: Any = None
) -> TrainingSettings:
    key, payload = load_payload(TRAINING_JOB, project_name, feature_spec_version, table_name, client)
    model = _mapping(payload.get("model"))
    deployment = _mapping(payload.get("deployment"))
    version, name = model.get("version"), model.get("name")
    return TrainingSettings(key, str(version) if version else None, str(name) if name else None, dict(deployment))
