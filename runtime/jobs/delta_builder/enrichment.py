"""Enrichment before role expansion: VDI flags from hostname prefixes, port-set names from a JSON file."""

from __future__ import annotations

import json

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from runtime.errors import SpecError
from runtime.jobs.delta_builder.spec import EnrichmentSpec
from runtime.ports import PortList, parse_port_sets
from runtime.sparkexpr import first_match, starts_with_any
from runtime.storage import Storage

SIDES = ("source", "destination")


def load_port_sets(storage: Storage, location: str | None) -> dict[str, PortList]:
    if not location:
        return {}
    try:
        document = json.loads(storage.read_bytes(location))
    except ValueError as err:
        raise SpecError(f"enrichment.port_sets_location {location}: not valid JSON ({err})") from None
    return parse_port_sets(document, f"enrichment.port_sets_location {location}")


def apply_enrichment(frame: DataFrame, enrichment: EnrichmentSpec, port_sets: dict[str, PortList]) -> DataFrame:
    """Adds `<side>_is_vdi` and `<side>_port_set` for side in source, destination (stable schema)."""
    columns = []
    for side in SIDES:
        hostname = f"{side}_hostname"
        if enrichment.vdi_hostname_prefixes and hostname in frame.columns:
            columns.append(starts_with_any(F.col(hostname), enrichment.vdi_hostname_prefixes).alias(f"{side}_is_vdi"))
        else:
            columns.append(F.lit(False).alias(f"{side}_is_vdi"))
        columns.append(first_match(F.col(f"{side}_port"), port_sets).alias(f"{side}_port_set"))
    return frame.select("*", *columns)
