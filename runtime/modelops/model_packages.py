"""Reading the SageMaker Model Registry: a project's model packages and the one registered for a version.

`pipeline_model_publish` registers versions (tagging each package with `VERSION_KEY` and `SHA_KEY` in its
CustomerMetadataProperties); `pipeline_model_attributes` looks the version's package up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

VERSION_KEY = "ndrc_model_version"
SHA_KEY = "ndrc_artifact_sha256"


def group_packages(sm: Any, group: str) -> Iterator[dict[str, Any]]:
    """Every model package of the group, described (CustomerMetadataProperties is not in the summaries)."""
    kwargs: dict[str, Any] = {"ModelPackageGroupName": group}
    while True:
        page = sm.list_model_packages(**kwargs)
        for summary in page.get("ModelPackageSummaryList", []):
            yield sm.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def find_version(sm: Any, group: str, model_version: str) -> dict[str, Any] | None:
    for package in group_packages(sm, group):
        if package.get("CustomerMetadataProperties", {}).get(VERSION_KEY) == model_version:
            return package
    return None
