"""The typed `pipeline_model_publish` spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.payload import PayloadReader

APPROVAL_STATUSES = ("Approved", "PendingManualApproval", "Rejected")


@dataclass(frozen=True)
class PublishSpec:
    artifacts_s3_prefix: str
    model_package_group_name: str
    approval_status: str = "PendingManualApproval"
    inference_image_uri: str | None = None
    content_types: tuple[str, ...] = ("text/csv", "application/json")
    response_types: tuple[str, ...] = ("application/json",)
    inference_instance_types: tuple[str, ...] = ()
    model_image_prefix: str | None = None
    description: str | None = None
    model_version: str | None = None
    """The version to publish; default: the project's if_training `model.version`."""

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], where: str) -> PublishSpec:
        r = PayloadReader(payload, where)
        status = r.string("approval_status", "PendingManualApproval")
        if status not in APPROVAL_STATUSES:
            raise r.fail("approval_status", f"must be one of {', '.join(APPROVAL_STATUSES)} (got {status!r})")
        return cls(
            artifacts_s3_prefix=r.string("artifacts_s3_prefix"),
            model_package_group_name=r.string("model_package_group_name"),
            approval_status=status,
            inference_image_uri=r.string("inference_image_uri", None),
            content_types=r.strings("content_types", cls.content_types),
            response_types=r.strings("response_types", cls.response_types),
            inference_instance_types=r.strings("inference_instance_types", ()),
            model_image_prefix=r.string("model_image_prefix", None),
            description=r.string("description", None),
            model_version=r.string("model_version", None),
        )
