"""A sandbox per test: a workspace with its own table names on the shared emulator, synthetic builds,
and an API-call log fed by botocore `before-call` hooks."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml

from compiler.deploy.aws import Aws
from compiler.deploy.deployments import LOG_ROOT
from compiler.deploy.diff import plain_item
from compiler.dynamodb_json import item_line
from compiler.load.workspace import Workspace
from compiler.model import EnvironmentConfig
from compiler.validation.workspace_config import load_workspace

REPO_ROOT = Path(__file__).resolve().parents[3]
WRITE_OPERATIONS = {
    "PutItem",
    "DeleteItem",
    "UpdateItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "CreateStateMachine",
    "UpdateStateMachine",
    "CreatePipeline",
    "UpdatePipeline",
    "PutObject",
}


class CallLog:
    """Every API call of a boto3 session, counted by `service.Operation` through a before-call hook; writes to
    the deployments log (`ndrc/deployments/` in the artifacts bucket) are counted apart from the deployment's."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.calls: Counter[str] = Counter()
        self.log_writes = 0
        self._lock = threading.Lock()
        session.events.register("before-call.*.*", self._record)
        session.events.register("before-parameter-build.s3.PutObject", self._log_write)

    def _record(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def _log_write(self, params: dict[str, Any], **_: Any) -> None:
        if str(params.get("Key", "")).startswith(LOG_ROOT):
            with self._lock:
                self.log_writes += 1

    def writes(self) -> int:
        """Writes to what is deployed (not counting the deployments log)."""
        total = sum(n for name, n in self.calls.items() if name.split(".")[1] in WRITE_OPERATIONS)
        return total - self.log_writes

    def count(self, name: str) -> int:
        return self.calls[name]

    def reset(self) -> None:
        self.calls.clear()
        self.log_writes = 0


def job_item(project: str, job: str, version: str | None = "v1", **spec: Any) -> dict[str, Any]:
    return {
        "project_name": project,
        "job_name": f"{job}#{version}" if version else job,
        "owner": "team-a",
        "spec": spec or {"eps": 1, "horizons": ["7d", "30d"]},
    }


def route(org1: str, org2: str, project: str) -> dict[str, Any]:
    return {
        "org_key": f"{org1}#{org2}",
        "org1": org1,
        "org2": org2,
        "project_name": project,
        "ingestion_prefix": f"s3://ingest/paloalto/{org1}/{org2}",
        "enabled": True,
    }


@dataclass
class Sandbox:
    root: Path
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    def __post_init__(self) -> None:
        config = yaml.safe_load((REPO_ROOT / "ndrc.yaml").read_text())
        local = config["environments"]["local"]
        local["tables"] = {name: f"{table}_{self.uid}" for name, table in local["tables"].items()}
        local["buckets"]["artifacts"] = f"ndr-artifacts-{self.uid}"
        local["name_prefix"] = f"t{self.uid}-"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "ndrc.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    @property
    def workspace(self) -> Workspace:
        return load_workspace(self.root)

    @property
    def env(self) -> EnvironmentConfig:
        return self.workspace.environment("local")

    def aws(self) -> tuple[Aws, CallLog]:
        aws = Aws(self.env)
        return aws, CallLog(aws.session)

    def name(self, base: str) -> str:
        return f"t{self.uid}-{base}"

    def write_build(
        self,
        folder: str = "build",
        *,
        items: list[dict[str, Any]] = (),  # type: ignore[assignment]
        routes: list[dict[str, Any]] = (),
        machines: dict[str, Any] | None = None,  # type: ignore[assignment]
        pipelines: dict[str, Any] | None = None,
        files: dict[str, bytes] | None = None,
        extra: list[dict[str, Any]] = (),
    ) -> Path:  # type: ignore[assignment]
        """A compiled build as `ndrc compile` lays it out, from plain items and definitions."""
        env = self.env
        out = self.root / folder / "local"
        contents: list[tuple[str, str, str, bytes]] = [
            (
                "dynamodb_items",
                env.parameters_table,
                f"dynamodb/{env.parameters_table}.jsonl",
                "".join(item_line(i) + "\n" for i in items).encode(),
            ),
            (
                "dynamodb_items",
                env.routing_table,
                f"dynamodb/{env.routing_table}.jsonl",
                "".join(item_line(r) + "\n" for r in routes).encode(),
            ),
        ]
        for name, definition in (machines or {}).items():
            contents.append(("state_machine", name, f"stepfunctions/{name}.asl.json", json.dumps(definition).encode()))
        for name, definition in (pipelines or {}).items():
            contents.append(("sagemaker_pipeline", name, f"sagemaker/{name}.json", json.dumps(definition).encode()))
        for path, data in (files or {}).items():
            contents.append(("runtime_bundle", path, path, data))
        entries = []
        for kind, name, path, data in contents:
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            (out / path).write_bytes(data)
            entries.append(
                {"kind": kind, "name": name, "path": path, "sha256": hashlib.sha256(data).hexdigest(), "sources": []}
            )
        entries.extend(extra)
        manifest = {"environment": "local", "artifacts": entries}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return out

    def items(self, table: str) -> dict[str, dict[str, Any]]:
        """Every item of a table, plain, by its key text."""
        client = Aws(self.env).client("dynamodb")
        found = {}
        for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            for typed in page["Items"]:
                item = plain_item(typed)
                found[
                    " / ".join(str(item[k]) for k in ("project_name", "job_name") if k in item)
                    if "job_name" in item
                    else str(item.get("org_key"))
                ] = item
        return found


def state_machine(message: str) -> dict[str, Any]:
    return {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"message": message}, "End": True}}}


def pipeline(parameter_default: str) -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "ProjectName", "Type": "String", "DefaultValue": parameter_default}],
        "Steps": [],
    }
