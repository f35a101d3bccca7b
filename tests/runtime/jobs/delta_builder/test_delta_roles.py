"""Role expansion, hand-computed: default outbound/inbound roles and a custom single role."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.jobs.delta_builder.enrichment import apply_enrichment
from runtime.jobs.delta_builder.roles import expand_roles
from runtime.jobs.delta_builder.spec import DEFAULT_ROLES, EnrichmentSpec, RoleSpec
from runtime.ports import PortList

pytestmark = pytest.mark.spark

COLUMNS = (
    "role",
    "host_ip",
    "host_port",
    "host_hostname",
    "host_is_vdi",
    "peer_ip",
    "peer_port",
    "peer_hostname",
    "peer_is_vdi",
    "peer_port_set",
    "bytes_sent",
    "bytes_recv",
    "app",
)


@pytest.fixture
def flows(spark: Any) -> Any:
    frame = spark.createDataFrame(
        [
            ("10.1.0.5", "10.0.0.10", 50001, 1433, 1000, 5000, "vdi-fin-01", "srv-db", "mssql-db"),
            ("10.1.0.6", "52.1.2.3", 50002, 443, 300, 7000, "wks-1", None, "ssl"),
        ],
        "source_ip string, destination_ip string, source_port int, destination_port int, source_bytes long, "
        "destination_bytes long, source_hostname string, destination_hostname string, app string",
    )
    port_sets = {"database": PortList((1433,), ()), "web": PortList((443,), ((8000, 8099),))}
    return apply_enrichment(frame, EnrichmentSpec(vdi_hostname_prefixes=("VDI-",)), port_sets)


def rows(frame: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(row[c] for c in COLUMNS) for row in frame.collect())


def test_default_roles(flows: Any) -> None:
    assert rows(expand_roles(flows, DEFAULT_ROLES)) == sorted(
        [
            (
                "outbound",
                "10.1.0.5",
                50001,
                "vdi-fin-01",
                True,
                "10.0.0.10",
                1433,
                "srv-db",
                False,
                "database",
                1000,
                5000,
                "mssql-db",
            ),
            (
                "inbound",
                "10.0.0.10",
                1433,
                "srv-db",
                False,
                "10.1.0.5",
                1433,
                "vdi-fin-01",
                True,
                "database",
                5000,
                1000,
                "mssql-db",
            ),
            ("outbound", "10.1.0.6", 50002, "wks-1", False, "52.1.2.3", 443, None, False, "web", 300, 7000, "ssl"),
            ("inbound", "52.1.2.3", 443, None, False, "10.1.0.6", 443, "wks-1", False, "web", 7000, 300, "ssl"),
        ]
    )


def test_custom_role_uses_the_configured_columns(flows: Any) -> None:
    role = RoleSpec("responder", "destination_ip", "source_ip", "destination_bytes", "source_bytes", "source_port")
    assert rows(expand_roles(flows, (role,))) == sorted(
        [
            (
                "responder",
                "10.0.0.10",
                1433,
                "srv-db",
                False,
                "10.1.0.5",
                50001,
                "vdi-fin-01",
                True,
                None,
                5000,
                1000,
                "mssql-db",
            ),
            ("responder", "52.1.2.3", 443, None, False, "10.1.0.6", 50002, "wks-1", False, None, 7000, 300, "ssl"),
        ]
    )
