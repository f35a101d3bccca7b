"""Image URIs: explicit ones win; declarations resolve offline from the SageMaker SDK's own image tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.model import EnvironmentConfig
from compiler.orchestration import images
from compiler.orchestration.names import Orchestration

SPARK = "sagemaker-spark-processing:3.5-cpu-py39-v1.0"


def _environments(repo_root: Path) -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load((repo_root / "ndrc.yaml").read_text())["environments"])


def _sdk_retrieve(declaration: dict[str, Any], region: str) -> str:
    """What the SageMaker SDK itself returns for the declaration (its image_uris.retrieve)."""
    image_uris = pytest.importorskip("sagemaker.core.image_uris")
    return str(
        image_uris.retrieve(
            framework=declaration["framework"],
            region=region,
            version=declaration["version"],
            py_version=declaration.get("py_version"),
            container_version=declaration.get("container_version"),
            instance_type="ml.m5.xlarge",
            image_scope="processing",
        )
    )


def test_every_environment_resolves_its_images(repo_root: Path) -> None:
    expected = {
        "local": f"173754725891.dkr.ecr.us-east-1.amazonaws.com/{SPARK}",  # explicit
        "dev": f"571004829621.dkr.ecr.eu-west-1.amazonaws.com/{SPARK}",  # the SDK's Spark registry there
        "prod": f"571004829621.dkr.ecr.eu-west-1.amazonaws.com/{SPARK}",
    }
    environments = _environments(repo_root)
    assert set(environments) == set(expected)
    for name, settings in environments.items():
        orchestration = Orchestration(EnvironmentConfig(name, settings))
        assert orchestration.image_uri("spark_processing") == expected[name], name
        declared = settings["images"]["spark_processing"]
        if isinstance(declared, dict):
            assert _sdk_retrieve(declared, settings["region"]) == expected[name], name


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "ap-southeast-2", "cn-north-1"])
def test_resolution_agrees_with_the_sdk(region: str) -> None:
    declaration = {"framework": "spark", "version": "3.5", "py_version": "py39", "container_version": "v1.0"}
    assert images.resolve(declaration, region) == _sdk_retrieve(declaration, region)


def test_an_explicit_uri_wins_and_bad_declarations_are_named() -> None:
    assert images.image_uri("123.dkr.ecr.eu-west-1.amazonaws.com/mine:1", "eu-west-1").endswith("/mine:1")
    with pytest.raises(images.ImageResolutionError, match=r"spark '9.9' is not in the SageMaker SDK's image table"):
        images.resolve({"framework": "spark", "version": "9.9"}, "eu-west-1")
    with pytest.raises(images.ImageResolutionError, match=r"no spark 3\.5 image for region mars-east-1"):
        images.resolve({"framework": "spark", "version": "3.5"}, "mars-east-1")
    with pytest.raises(images.ImageResolutionError, match="py_version 'py27'"):
        images.resolve({"framework": "spark", "version": "3.5", "py_version": "py27"}, "eu-west-1")
