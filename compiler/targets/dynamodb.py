"""DynamoDB target: the two tables' items as DynamoDB JSON lines (what BatchWriteItem/ImportTable accept)."""

from __future__ import annotations

from compiler.dynamodb_json import item_line
from compiler.model import Artifact, CompiledWorkspace

KIND = "dynamodb_items"


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    environment = workspace.environment
    parameters = sorted(workspace.items, key=lambda i: (i.project_name, i.sort_key))
    routes = sorted(workspace.routes, key=lambda r: r.org_key)
    artifacts = [
        Artifact(
            kind=KIND,
            name=environment.parameters_table,
            path=f"dynamodb/{environment.parameters_table}.jsonl",
            content="".join((i.encoded or item_line(i.as_item())) + "\n" for i in parameters).encode("utf-8"),
            sources=tuple(sorted({i.source for i in parameters})),
        )
    ]
    artifacts.append(
        Artifact(
            kind=KIND,
            name=environment.routing_table,
            path=f"dynamodb/{environment.routing_table}.jsonl",
            content="".join(item_line(r.as_item()) + "\n" for r in routes).encode("utf-8"),
            sources=tuple(sorted({r.source for r in routes})),
        )
    )
    return artifacts
