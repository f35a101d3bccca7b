"""The typed delta_builder JobSpec: defaults, full payloads and readable errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime.errors import SpecError
from runtime.jobs.delta_builder.spec import DEFAULT_ROLES, DeltaJobSpec, RoleSpec

MINIMAL: dict[str, Any] = {
    "project_name": "p",
    "job_name": "delta_builder",
    "feature_spec_version": "v1",
    "input": {"s3_prefix": "s3://in/p/"},
    "output": {"s3_prefix": "s3://out/delta/"},
}


def parse(payload: dict[str, Any]) -> DeltaJobSpec:
    return DeltaJobSpec.from_payload(payload, "item p/delta_builder#v1")


def with_(path: str, value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(MINIMAL)
    node = payload
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return payload


def test_minimal_payload_gets_documented_defaults() -> None:
    spec = parse(MINIMAL)
    assert spec.input.format == "json" and spec.input.compression == "gzip"
    assert spec.dq.drop_malformed_ip and spec.dq.emit_metrics
    assert spec.roles == DEFAULT_ROLES
    assert spec.output.partition_keys == ("feature_spec_version", "dt", "mini_batch_id")
    assert spec.output.write_mode == "overwrite_partitions"
    assert spec.input.source_field("source_ip") == "source_ip"


def test_full_payload() -> None:
    payload = copy.deepcopy(MINIMAL)
    payload.update(
        input={
            "s3_prefix": "s3://in/",
            "format": "JSON",
            "compression": "gzip",
            "schema_projection": ["src", "dst", "sport", "dport", "bs", "br", "start", "end", "app"],
            "field_mapping": {
                "source_ip": "src",
                "destination_ip": "dst",
                "source_port": "sport",
                "destination_port": "dport",
                "source_bytes": "bs",
                "destination_bytes": "br",
                "event_start": "start",
                "event_end": "end",
            },
        },
        dq={"drop_malformed_ip": False, "emit_metrics": False},
        enrichment={"vdi_hostname_prefixes": ["vdi-"], "port_sets_location": "s3://cfg/ports.json"},
        roles=[
            {
                "name": "src_view",
                "host_ip": "source_ip",
                "peer_ip": "destination_ip",
                "bytes_sent": "source_bytes",
                "bytes_recv": "destination_bytes",
                "peer_port": "destination_port",
            }
        ],
        operators=[{"type": "window_bucket", "params": {"minutes": 15}}],
    )
    payload["output"] = {"s3_prefix": "s3://o/", "partition_keys": ["dt"], "write_mode": "append"}
    spec = parse(payload)
    assert spec.input.source_field("source_ip") == "src"
    assert not spec.dq.drop_malformed_ip and spec.dq.duration_non_negative and not spec.dq.emit_metrics
    assert spec.enrichment.vdi_hostname_prefixes == ("vdi-",)
    assert spec.roles == (
        RoleSpec("src_view", "source_ip", "destination_ip", "source_bytes", "destination_bytes", "destination_port"),
    )
    assert spec.operators[0].type == "window_bucket" and spec.operators[0].params == {"minutes": 15}
    assert not spec.output.idempotent


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({k: v for k, v in MINIMAL.items() if k != "input"}, "spec.input.s3_prefix is required but missing"),
        ({k: v for k, v in MINIMAL.items() if k != "feature_spec_version"}, "spec.feature_spec_version is required"),
        (with_("input.format", "csv"), "spec.input.format must be one of json, parquet"),
        (with_("dq.drop_malformed_ip", "yes"), "spec.dq.drop_malformed_ip must be true or false"),
        (with_("input.field_mapping", {"source_ip": 3}), "values must be non-empty strings (bad keys: source_ip)"),
        (with_("input.schema_projection", ["src"]), "must include the mapped source fields"),
        (with_("roles", []), "spec.roles must list at least one role"),
        (
            with_(
                "roles",
                [
                    {
                        "name": "r",
                        "host_ip": "source_ip",
                        "peer_ip": "source_ip",
                        "bytes_sent": "source_bytes",
                        "bytes_recv": "destination_bytes",
                        "peer_port": "destination_port",
                    }
                ],
            ),
            "must differ",
        ),
        (with_("roles", [{"name": "r", "host_ip": "src"}]), "spec.roles[0].host_ip must be one of"),
        (with_("operators", [{"type": "teleport"}]), "operators[0].type: unknown operator type 'teleport'"),
        (with_("output.write_mode", "upsert"), "spec.output.write_mode must be one of"),
        (with_("output.partition_keys", ["dt", "dt"]), "must not repeat a key"),
    ],
)
def test_errors_name_the_item_and_path(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse(payload)
    assert message in str(info.value)
    assert str(info.value).startswith("item p/delta_builder#v1")
