"""The compiled workspace as plain data: what every target (DynamoDB, Step Functions, SageMaker) reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.contract import SPEC_JOB_NAMES, org_key, sort_key

JOB_NAMES: tuple[str, ...] = SPEC_JOB_NAMES


@dataclass(frozen=True)
class EnvironmentConfig:
    """One environment of `ndrc.yaml`, after environment-variable overrides."""

    name: str
    settings: dict[str, Any]

    def get(self, dotted: str, default: Any = None) -> Any:
        value: Any = self.settings
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    @property
    def region(self) -> str:
        return str(self.settings["region"])

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.get("endpoint_url")

    @property
    def account_id(self) -> str | None:
        return self.settings.get("account_id")

    @property
    def parameters_table(self) -> str:
        return str(self.settings["tables"]["parameters"])

    @property
    def routing_table(self) -> str:
        return str(self.settings["tables"]["routing"])

    @property
    def lock_table(self) -> str:
        return str(self.settings["tables"]["lock"])

    @property
    def name_prefix(self) -> str:
        return str(self.settings.get("name_prefix", ""))


@dataclass(frozen=True)
class JobItem:
    """One `ml_projects_parameters` item, rendered and validated."""

    project_name: str
    job_name: str
    feature_spec_version: str | None
    spec: dict[str, Any]
    attributes: dict[str, Any]
    source: str
    # The item's DynamoDB JSON line, computed where the file is validated (possibly a worker process).
    encoded: str = field(default="", compare=False, repr=False)

    @property
    def sort_key(self) -> str:
        return sort_key(self.job_name, self.feature_spec_version)

    def as_item(self) -> dict[str, Any]:
        """The DynamoDB item as plain Python values (Decimal numbers), before typing."""
        item: dict[str, Any] = {"project_name": self.project_name, "job_name": self.sort_key}
        item.update(self.attributes)
        item["spec"] = self.spec
        return item


@dataclass(frozen=True)
class Route:
    """One `ml_projects_routing` item: which project owns the ingestion path `<org1>/<org2>`."""

    org1: str
    org2: str
    project_name: str
    ingestion_prefix: str
    feature_spec_version: str | None
    enabled: bool
    source: str
    line: int = 0
    column: int = 0

    @property
    def org_key(self) -> str:
        return org_key(self.org1, self.org2)

    def as_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "org_key": self.org_key,
            "org1": self.org1,
            "org2": self.org2,
            "project_name": self.project_name,
            "ingestion_prefix": self.ingestion_prefix,
            "enabled": self.enabled,
        }
        if self.feature_spec_version:
            item["feature_spec_version"] = self.feature_spec_version
        return item


@dataclass
class CompiledWorkspace:
    environment: EnvironmentConfig
    items: list[JobItem] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)

    def projects(self) -> list[str]:
        return sorted({item.project_name for item in self.items} | {r.project_name for r in self.routes})

    def find(self, project_name: str, job_name: str, feature_spec_version: str | None) -> JobItem | None:
        for item in self.items:
            if (item.project_name, item.job_name, item.feature_spec_version) == (
                project_name,
                job_name,
                feature_spec_version,
            ):
                return item
        return None


@dataclass(frozen=True)
class Artifact:
    """One compiled output file, relative to `<out>/<env>/`."""

    kind: str
    name: str
    path: str
    content: bytes
    sources: tuple[str, ...]
    role: str | None = None
