"""Container image URIs of an environment: explicit, or resolved from the SageMaker SDK's own image tables.

`images.<purpose>` in ndrc.yaml is either a URI (it wins, as given) or a declaration
`{framework: spark, version: "3.5"[, py_version: py39][, container_version: v1.0]}` resolved offline
from the table the SageMaker Python SDK itself uses (`sagemaker-core`'s
`sagemaker/core/image_uri_config/<framework>.json`, the same data `sagemaker.image_uris.retrieve` reads):
the registry account of the region, the repository and the tag `<version>-<processor>-<py_version>[-<container
version>]`. The file is read as data; nothing of the SDK is imported. No AWS call.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from compiler.errors import NdrcError

SDK_PACKAGE = "sagemaker"
SDK_TABLES = ("core", "image_uri_config")
SCOPE = "processing"
PROCESSOR = "cpu"


class ImageResolutionError(NdrcError):
    """An image declaration the SDK's tables cannot resolve (or the tables are missing)."""

    exit_code = 2


@cache
def sdk_table(framework: str) -> dict[str, Any]:
    """The SDK's image table of `framework` (e.g. `spark`, `sklearn`)."""
    spec = importlib.util.find_spec(SDK_PACKAGE)
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root).joinpath(*SDK_TABLES, f"{framework}.json")
        if path.is_file():
            return dict(json.loads(path.read_text(encoding="utf-8")))
    if not roots:
        raise ImageResolutionError("image declarations need sagemaker-core's image tables: pip install sagemaker-core")
    raise ImageResolutionError(f"the SageMaker SDK has no image table for framework {framework!r}")


def _versions(framework: str) -> dict[str, Any]:
    table = sdk_table(framework)
    scoped = table.get(SCOPE, table)
    return dict(scoped.get("versions", {}))


def resolve(declaration: Mapping[str, Any], region: str) -> str:
    """The image URI of `declaration` in `region`, as the SDK's retrieve() builds it for processing."""
    framework = str(declaration.get("framework", ""))
    version = str(declaration.get("version", ""))
    versions = _versions(framework)
    config = versions.get(version)
    if config is None:
        raise ImageResolutionError(
            f"{framework} {version!r} is not in the SageMaker SDK's image table (known: {', '.join(sorted(versions))})"
        )
    registries = config.get("registries", {})
    if region not in registries:
        raise ImageResolutionError(f"the SageMaker SDK lists no {framework} {version} image for region {region}")
    py_versions = list(config.get("py_versions") or [])
    py_version = str(declaration.get("py_version") or (py_versions[0] if py_versions else ""))
    if py_versions and py_version not in py_versions:
        raise ImageResolutionError(f"{framework} {version}: py_version {py_version!r} not in {py_versions}")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    tag = "-".join(
        part
        for part in (config.get("tag_prefix", version), PROCESSOR, py_version, declaration.get("container_version"))
        if part
    )
    return f"{registries[region]}.dkr.ecr.{region}.{suffix}/{config['repository']}:{tag}"


def image_uri(value: Any, region: str) -> str:
    """`images.<purpose>`: an explicit URI as given, else the declaration resolved."""
    if isinstance(value, Mapping):
        return resolve(value, region)
    return str(value)
