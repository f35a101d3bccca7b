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
# Tables without a processing scope (scikit-learn, XGBoost): the SDK's processors use the training images
# (sagemaker.core.image_uris._get_final_image_scope defaults those frameworks to "training").
FALLBACK_SCOPE = "training"
PROCESSOR = "cpu"

# Which image a pipeline step runs on, by its engine (compiler/orchestration/flows.py `Step.engine`): Spark
# jobs on the Spark processing image (smspark-submit); single-process Python jobs (the entry, the extractor,
# the inventory unload, training and the model steps) on the scikit-learn processing image, which carries
# numpy, scipy, scikit-learn, pandas and pyarrow.
SPARK_PROCESSING = "spark_processing"
SKLEARN_PROCESSING = "sklearn_processing"
ENGINE_IMAGES = {"spark": SPARK_PROCESSING, "python": SKLEARN_PROCESSING}

# What each base image provides to the runtime, as Python distributions (normalized names), from AWS's
# published build files: sagemaker-spark-container `spark/processing/3.5/py3/docker/py312/Dockerfile.cpu` +
# `smsparkbuild/py312/Pipfile.runtime` (PySpark comes with EMR's spark-python on the image's PYTHONPATH), and
# sagemaker-scikit-learn-container `docker/1.4-2-py312/{base,final}/Dockerfile.cpu` + its `requirements.txt`.
# Only what the runtime may import is listed; docs/orchestration.md ("Images") explains how to refresh it.
IMAGE_PROVIDES: dict[str, frozenset[str]] = {
    SPARK_PROCESSING: frozenset(
        {
            "pyspark",
            "py4j",
            "boto3",
            "botocore",
            "s3transfer",
            "jmespath",
            "urllib3",
            "python-dateutil",
            "six",
            "numpy",
            "pandas",
            "pytz",
            "tzdata",
            "pyyaml",
            "requests",
            "idna",
            "certifi",
            "charset-normalizer",
            "typing-extensions",
            "click",
            "psutil",
            "tenacity",
        }
    ),
    SKLEARN_PROCESSING: frozenset(
        {
            "numpy",
            "scipy",
            "scikit-learn",
            "joblib",
            "threadpoolctl",
            "pandas",
            "pytz",
            "tzdata",
            "pyarrow",
            "boto3",
            "botocore",
            "s3transfer",
            "jmespath",
            "urllib3",
            "python-dateutil",
            "six",
            "pyyaml",
            "certifi",
            "protobuf",
            "psutil",
            "jinja2",
            "markupsafe",
            "flask",
            "werkzeug",
            "itsdangerous",
            "click",
            "gunicorn",
            "gevent",
            "retrying",
            "setuptools",
            "wheel",
        }
    ),
}


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
    scoped = table.get(SCOPE) or table.get(FALLBACK_SCOPE) or table
    return dict(scoped.get("versions", {}))


def step_image(engine: str) -> str:
    """The `images.<purpose>` key of the image a step of this engine runs on."""
    return ENGINE_IMAGES[engine]


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
