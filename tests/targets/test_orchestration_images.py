"""Image URIs: explicit ones win; declarations resolve offline from the SageMaker SDK's own image tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler.model import EnvironmentConfig
from compiler.orchestration import images
from compiler.orchestration.names import Orchestration

SPARK = "sagemaker-spark-processing:3.5-cpu-py312-v1.0"
SKLEARN = "sagemaker-scikit-learn:1.4-2-py312-cpu-py3"


def _environments(repo_root: Path) -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load((repo_root / "ndrc.yaml").read_text())["environments"])


def _sdk_retrieve(declaration: dict[str, Any], region: str) -> str:
    """What the SageMaker SDK itself returns for the declaration (its image_uris.retrieve; the Spark
    processor asks for the processing scope, the scikit-learn processor for none, i.e. training)."""
    image_uris = pytest.importorskip("sagemaker.core.image_uris")
    return str(
        image_uris.retrieve(
            framework=declaration["framework"],
            region=region,
            version=declaration["version"],
            py_version=declaration.get("py_version"),
            container_version=declaration.get("container_version"),
            instance_type="ml.m5.xlarge",
            image_scope="processing" if declaration["framework"] == "spark" else None,
        )
    )


def test_every_environment_resolves_its_images(repo_root: Path) -> None:
    """dev/prod run the runtime images built from docker/runtime-images/ (their account's ECR); those are built
    FROM the base images, which resolve from the SDK's tables exactly as the SDK itself resolves them."""
    base = {
        "spark_processing": f"571004829621.dkr.ecr.eu-west-1.amazonaws.com/{SPARK}",
        "sklearn_processing": f"141502667606.dkr.ecr.eu-west-1.amazonaws.com/{SKLEARN}",
    }

    def derived(account: str) -> dict[str, str]:
        registry = f"{account}.dkr.ecr.eu-west-1.amazonaws.com"
        return {
            "spark_processing": f"{registry}/ndr-runtime-spark-processing:3.5-py312-1",
            "sklearn_processing": f"{registry}/ndr-runtime-sklearn-processing:1.4-2-py312-1",
        }

    expected = {
        "local": (
            {  # explicit; the local executor runs the jobs in-process
                "spark_processing": f"173754725891.dkr.ecr.us-east-1.amazonaws.com/{SPARK}",
                "sklearn_processing": f"683313688378.dkr.ecr.us-east-1.amazonaws.com/{SKLEARN}",
            },
            None,
        ),
        "dev": (derived("210987654321"), base),
        "prod": (derived("345678901234"), base),
    }
    environments = _environments(repo_root)
    assert set(environments) == set(expected)
    for name, settings in environments.items():
        orchestration = Orchestration(EnvironmentConfig(name, settings))
        runs, bases = expected[name]
        for purpose in images.IMAGE_PROVIDES:
            assert orchestration.image_uri(purpose) == runs[purpose], (name, purpose)
            if bases is None:
                assert "base_images" not in settings
                continue
            declared = settings["base_images"][purpose]
            assert images.image_uri(declared, settings["region"]) == bases[purpose], (name, purpose)
            assert _sdk_retrieve(declared, settings["region"]) == bases[purpose], (name, purpose)


def test_each_step_runs_on_the_image_of_its_engine() -> None:
    """Spark jobs on the Spark processing image; single-process Python jobs (entry, training, model steps) on
    the scikit-learn processing image."""
    from compiler.orchestration.flows import FLOWS

    for flow in FLOWS:
        for step in flow.steps:
            assert (
                images.step_image(step.engine)
                == {"spark": "spark_processing", "python": "sklearn_processing"}[step.engine]
            ), step.name


@pytest.mark.parametrize("region", ["eu-west-1", "us-east-1", "ap-southeast-2", "cn-north-1"])
@pytest.mark.parametrize(
    "declaration",
    [
        {"framework": "spark", "version": "3.5", "py_version": "py39", "container_version": "v1.0"},
        {"framework": "spark", "version": "3.5", "py_version": "py312", "container_version": "v1.0"},
        {"framework": "sklearn", "version": "1.4-2-py312", "py_version": "py3"},
        {"framework": "sklearn", "version": "1.2-1", "py_version": "py3"},
    ],
)
def test_resolution_agrees_with_the_sdk(region: str, declaration: dict[str, Any]) -> None:
    assert images.resolve(declaration, region) == _sdk_retrieve(declaration, region)


def test_an_explicit_uri_wins_and_bad_declarations_are_named() -> None:
    assert images.image_uri("123.dkr.ecr.eu-west-1.amazonaws.com/mine:1", "eu-west-1").endswith("/mine:1")
    with pytest.raises(images.ImageResolutionError, match=r"spark '9.9' is not in the SageMaker SDK's image table"):
        images.resolve({"framework": "spark", "version": "9.9"}, "eu-west-1")
    with pytest.raises(images.ImageResolutionError, match=r"no spark 3\.5 image for region mars-east-1"):
        images.resolve({"framework": "spark", "version": "3.5"}, "mars-east-1")
    with pytest.raises(images.ImageResolutionError, match="py_version 'py27'"):
        images.resolve({"framework": "spark", "version": "3.5", "py_version": "py27"}, "eu-west-1")
