"""Role expansion: each flow becomes one row per role (e.g. outbound from the source's view, inbound
from the destination's), in one pass with `explode` over an array of structs (no union, no re-read)."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from runtime.jobs.delta_builder.spec import RoleSpec

ROLE_FIELDS: tuple[str, ...] = (
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
)
_SIDE_ATTRIBUTES: tuple[str, ...] = ("ip", "port", "bytes", "hostname", "is_vdi", "port_set")
_ROLE_SOURCE_COLUMNS = frozenset(f"{side}_{attr}" for side in ("source", "destination") for attr in _SIDE_ATTRIBUTES)
"""The flow's per-side columns, which role expansion turns into host/peer columns (the rest is carried)."""


def _side(column_name: str) -> str:
    return column_name.split("_", 1)[0]


def _optional(frame: DataFrame, name: str, type_name: str) -> Column:
    return F.col(name) if name in frame.columns else F.lit(None).cast(type_name)


def role_struct(frame: DataFrame, role: RoleSpec) -> Column:
    host, peer = _side(role.host_ip), _side(role.peer_ip)
    peer_port_side = _side(role.peer_port)
    return F.struct(
        F.lit(role.name).alias("role"),
        F.col(role.host_ip).alias("host_ip"),
        F.col(f"{host}_port").alias("host_port"),
        _optional(frame, f"{host}_hostname", "string").alias("host_hostname"),
        F.col(f"{host}_is_vdi").alias("host_is_vdi"),
        F.col(role.peer_ip).alias("peer_ip"),
        F.col(role.peer_port).alias("peer_port"),
        _optional(frame, f"{peer}_hostname", "string").alias("peer_hostname"),
        F.col(f"{peer}_is_vdi").alias("peer_is_vdi"),
        F.col(f"{peer_port_side}_port_set").alias("peer_port_set"),
        F.col(role.bytes_sent).alias("bytes_sent"),
        F.col(role.bytes_recv).alias("bytes_recv"),
    )


def expand_roles(frame: DataFrame, roles: Sequence[RoleSpec]) -> DataFrame:
    """Flow columns -> role columns; every other column (times, pass-through fields) is carried along."""
    carried = [c for c in frame.columns if c not in _ROLE_SOURCE_COLUMNS]
    structs = F.array(*[role_struct(frame, role) for role in roles])
    exploded = frame.select(*[F.col(f"`{c}`") for c in carried], F.explode(structs).alias("_role"))
    role_columns = [F.col(f"_role.{name}").alias(name) for name in ROLE_FIELDS]
    return exploded.select(*role_columns, *[F.col(f"`{c}`") for c in carried])
