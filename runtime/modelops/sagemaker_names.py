"""SageMaker's documented naming rules, checked before calling it (the emulator accepts any string).

Model, endpoint config, endpoint and model package group names: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`
(SageMaker API Reference, e.g. CreateEndpoint `EndpointName`). CustomerMetadataProperties: at most 50
entries, keys 1-128 and values 1-256 characters (CreateModelPackage).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from runtime.errors import RuntimeJobError

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_METADATA_ENTRIES = 50


def check_name(kind: str, name: str) -> str:
    if not NAME.match(name):
        raise RuntimeJobError(
            f"{kind} {name!r} is not a valid SageMaker name (1-63 letters, digits and single hyphens, "
            "starting and ending with a letter or digit)"
        )
    return name


def derived_name(base: str, suffix: str) -> str:
    """`<base>-<suffix>` cut to 63 characters (SageMaker's limit), keeping the suffix."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", suffix).strip("-")
    head = base[: 63 - len(cleaned) - 1].rstrip("-")
    return f"{head}-{cleaned}"


def check_metadata(properties: Mapping[str, str]) -> dict[str, str]:
    if len(properties) > MAX_METADATA_ENTRIES:
        raise RuntimeJobError(f"CustomerMetadataProperties has {len(properties)} entries (at most 50)")
    for key, value in properties.items():
        if not 1 <= len(key) <= 128 or not 1 <= len(value) <= 256:
            raise RuntimeJobError(f"CustomerMetadataProperties {key!r}: keys 1-128, values 1-256 characters")
    return dict(properties)
