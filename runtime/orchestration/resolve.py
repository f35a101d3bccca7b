"""What the historical extractor needs from DynamoDB: routes, feature_spec_version, fallback prefixes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from runtime.config.ddb import decode_item, describe_client_error, resolve_routing_table_name
from runtime.config.loader import load_job_spec
from runtime.config.payload import JobPayload, ProjectParameters
from runtime.contract import PROJECT_PARAMETERS_JOB
from runtime.errors import RuntimeJobError, SpecNotFoundError

EXTRACTOR_JOB = "pipeline_backfill_historical_extractor"


def _natural(version: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", version)]


@dataclass
class ProjectResolver:
    """Caches lookups per project: routing rows, the version per org_key and project defaults."""

    project_name: str
    client: Any
    table_name: str
    routing_table: str | None = None
    explicit_version: str | None = None
    _routes: list[dict[str, Any]] | None = field(default=None, init=False)
    _specs: dict[str, JobPayload | None] = field(default_factory=dict, init=False)

    def routes(self) -> list[dict[str, Any]]:
        """Enabled routing rows of this project (a filtered Scan: the routing table is small)."""
        if self._routes is None:
            table = resolve_routing_table_name(self.routing_table)
            rows: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {
                "TableName": table,
                "FilterExpression": "project_name = :p",
                "ExpressionAttributeValues": {":p": {"S": self.project_name}},
            }
            try:
                while True:
                    page = self.client.scan(**kwargs)
                    rows += [decode_item(item) for item in page.get("Items", [])]
                    if "LastEvaluatedKey" not in page:
                        break
                    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            except ClientError as err:
                raise describe_client_error(err, table, "Scan routing") from err
            self._routes = sorted(
                (r for r in rows if r.get("enabled", True) not in (False, "false")),
                key=lambda r: str(r.get("org_key")),
            )
        return self._routes

    def version_for(self, org_key: str) -> str:
        """Explicit version, else the route's `feature_spec_version`, else the project's only/latest one."""
        if self.explicit_version:
            return self.explicit_version
        for route in self.routes():
            if route.get("org_key") == org_key and route.get("feature_spec_version"):
                return str(route["feature_spec_version"])
        return self.project_version()

    def project_version(self) -> str:
        try:
            response = self.client.query(
                TableName=self.table_name,
                KeyConditionExpression="project_name = :p AND begins_with(job_name, :j)",
                ExpressionAttributeValues={":p": {"S": self.project_name}, ":j": {"S": "project_parameters#"}},
                ProjectionExpression="job_name",
            )
        except ClientError as err:
            raise describe_client_error(err, self.table_name, "Query project_parameters") from err
        versions = [item["job_name"]["S"].split("#", 1)[1] for item in response.get("Items", [])]
        if not versions:
            raise RuntimeJobError(
                f"cannot resolve feature_spec_version for project {self.project_name!r}: no routing row "
                f"carries one and table {self.table_name!r} has no project_parameters#<version> item"
            )
        return max(versions, key=_natural)

    def _optional(self, job: str) -> JobPayload | None:
        if job not in self._specs:
            self._specs[job] = self._load_optional(job)
        return self._specs[job]

    def _load_optional(self, job: str) -> JobPayload | None:
        try:
            spec = load_job_spec(
                self.project_name, job, self.explicit_version, table_name=self.table_name, client=self.client
            )
        except SpecNotFoundError:
            return None
        return spec if isinstance(spec, JobPayload) else None

    def setting(self, spec_keys: tuple[str, ...], default_key: str) -> str | None:
        """A prefix from the extractor spec, else from project_parameters `spec.defaults`."""
        extractor = self._optional(EXTRACTOR_JOB)
        if extractor is not None:
            for key in spec_keys:
                if extractor.get(key):
                    return str(extractor.get(key))
        params = self._optional(PROJECT_PARAMETERS_JOB)
        if isinstance(params, ProjectParameters) and params.default(default_key):
            return str(params.default(default_key))
        return None

    def input_prefixes(self) -> list[str]:
        explicit = self.setting(
            ("input.s3_prefix", "input_s3_prefix", "historical_input_s3_prefix"), "HistoricalInputS3Prefix"
        )
        if explicit:
            return [project_prefix(explicit, self.project_name)]
        prefixes = [project_prefix(str(r["ingestion_prefix"]), self.project_name) for r in self.routes()]
        if not prefixes:
            raise RuntimeJobError(
                f"no historical input prefix for project {self.project_name!r}: pass --input-s3-prefix, set "
                "HistoricalInputS3Prefix in project_parameters defaults, or add an enabled routing row"
            )
        return sorted(set(prefixes))

    def output_prefix(self) -> str | None:
        return self.setting(
            ("output.s3_prefix", "output_s3_prefix", "windows_output_s3_prefix"), "HistoricalWindowsOutputS3Prefix"
        )


def project_prefix(prefix: str, project_name: str) -> str:
    """`.../<org1>/<org2>` or `.../<org1>/<org2>/<project>` -> `.../<org1>/<org2>/<project>/`."""
    trimmed = prefix.rstrip("/")
    if trimmed.rsplit("/", 1)[-1] != project_name:
        trimmed += f"/{project_name}"
    return trimmed + "/"
