"""The strongly-typed `delta_builder` JobSpec: input, dq, enrichment, roles, operators, output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.config.output import OutputSpec
from runtime.config.payload import PayloadReader
from runtime.errors import SpecError
from runtime.operator_catalog import validate_operators

CANONICAL_FIELDS: tuple[str, ...] = (
    "source_ip",
    "destination_ip",
    "source_port",
    "destination_port",
    "source_bytes",
    "destination_bytes",
    "event_start",
    "event_end",
)
OPTIONAL_CANONICAL_FIELDS: tuple[str, ...] = ("source_hostname", "destination_hostname")
INPUT_FORMATS = ("json", "parquet")
COMPRESSIONS = ("gzip", "none")


@dataclass(frozen=True)
class InputSpec:
    s3_prefix: str
    format: str = "json"
    compression: str | None = "gzip"
    schema_projection: tuple[str, ...] | None = None
    field_mapping: Mapping[str, str] = field(default_factory=dict)

    def source_field(self, canonical: str) -> str | None:
        """The raw field feeding a canonical field; canonical names map to themselves by default."""
        if canonical in self.field_mapping:
            return self.field_mapping[canonical]
        return canonical if canonical in CANONICAL_FIELDS else None


@dataclass(frozen=True)
class DQSpec:
    drop_malformed_ip: bool = True
    duration_non_negative: bool = True
    bytes_non_negative: bool = True
    filter_null_bytes_ports: bool = True
    emit_metrics: bool = True


@dataclass(frozen=True)
class EnrichmentSpec:
    vdi_hostname_prefixes: tuple[str, ...] = ()
    port_sets_location: str | None = None


@dataclass(frozen=True)
class RoleSpec:
    name: str
    host_ip: str
    peer_ip: str
    bytes_sent: str
    bytes_recv: str
    peer_port: str


@dataclass(frozen=True)
class OperatorSpec:
    type: str
    params: Mapping[str, Any] = field(default_factory=dict)


DEFAULT_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("outbound", "source_ip", "destination_ip", "source_bytes", "destination_bytes", "destination_port"),
    RoleSpec("inbound", "destination_ip", "source_ip", "destination_bytes", "source_bytes", "destination_port"),
)
_ROLE_CHOICES = {
    "host_ip": ("source_ip", "destination_ip"),
    "peer_ip": ("source_ip", "destination_ip"),
    "bytes_sent": ("source_bytes", "destination_bytes"),
    "bytes_recv": ("source_bytes", "destination_bytes"),
    "peer_port": ("source_port", "destination_port"),
}


@dataclass(frozen=True)
class DeltaJobSpec:
    project_name: str
    job_name: str
    feature_spec_version: str
    input: InputSpec
    output: OutputSpec
    dq: DQSpec = DQSpec()
    enrichment: EnrichmentSpec = EnrichmentSpec()
    roles: tuple[RoleSpec, ...] = DEFAULT_ROLES
    operators: tuple[OperatorSpec, ...] = ()

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], where: str) -> DeltaJobSpec:
        r = PayloadReader(payload, where)
        return cls(
            project_name=r.string("project_name"),
            job_name=r.string("job_name"),
            feature_spec_version=r.string("feature_spec_version"),
            input=_input(r),
            output=OutputSpec.read(r, "output"),
            dq=DQSpec(**{name: r.boolean(f"dq.{name}", True) for name in DQSpec.__dataclass_fields__}),
            enrichment=EnrichmentSpec(
                vdi_hostname_prefixes=r.strings("enrichment.vdi_hostname_prefixes", ()),
                port_sets_location=r.string("enrichment.port_sets_location", None),
            ),
            roles=_roles(r),
            operators=_operators(r),
        )


def _input(r: PayloadReader) -> InputSpec:
    fmt = r.string("input.format", "json").lower()
    if fmt not in INPUT_FORMATS:
        raise r.fail("input.format", f"must be one of {', '.join(INPUT_FORMATS)} (got {fmt!r})")
    compression = r.string("input.compression", "gzip").lower()
    if compression not in COMPRESSIONS:
        raise r.fail("input.compression", f"must be one of {', '.join(COMPRESSIONS)} (got {compression!r})")
    mapping = r.string_map("input.field_mapping", {})
    projection = r.strings("input.schema_projection", None)
    spec = InputSpec(r.string("input.s3_prefix"), fmt, compression, projection, mapping)
    if projection is not None:
        needed = {spec.source_field(c) for c in CANONICAL_FIELDS} | set(mapping.values())
        missing = sorted(name for name in needed if name and name not in projection)
        if missing:
            raise r.fail("input.schema_projection", f"must include the mapped source fields {missing}")
    return spec


def _roles(r: PayloadReader) -> tuple[RoleSpec, ...]:
    raw = r.sequence("roles", None)
    if raw is None:
        return DEFAULT_ROLES
    if not raw:
        raise r.fail("roles", "must list at least one role")
    roles = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            raise r.fail(f"roles[{index}]", "must be a mapping")
        sub = PayloadReader(entry, f"{r.where}: roles[{index}]")
        values = {"name": sub.string("name")}
        for key, choices in _ROLE_CHOICES.items():
            value = sub.string(key)
            if value not in choices:
                raise r.fail(f"roles[{index}].{key}", f"must be one of {', '.join(choices)} (got {value!r})")
            values[key] = value
        role = RoleSpec(**values)
        if role.host_ip == role.peer_ip or role.bytes_sent == role.bytes_recv:
            raise r.fail(f"roles[{index}]", "host_ip/peer_ip and bytes_sent/bytes_recv must differ")
        if role.host_ip.split("_")[0] != role.bytes_sent.split("_")[0]:
            raise r.fail(f"roles[{index}]", "bytes_sent must come from the same side as host_ip")
        roles.append(role)
    names = [role.name for role in roles]
    if len(set(names)) != len(names):
        raise r.fail("roles", f"role names must be unique (got {names})")
    return tuple(roles)


def _operators(r: PayloadReader) -> tuple[OperatorSpec, ...]:
    raw = r.raw("operators", [])
    problems = validate_operators(raw)
    if problems:
        raise SpecError(f"{r.where}: " + "; ".join(problems))
    return tuple(OperatorSpec(op["type"], dict(op.get("params") or {})) for op in raw)
