"""Step Functions target: the live-inference and backfill state machines (JSONata ASL)."""

from __future__ import annotations

from collections import Counter

from compiler.dynamodb_json import item_size
from compiler.errors import NdrcError
from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration import observability
from compiler.orchestration.canonical import canonical_json
from compiler.orchestration.names import STATE_MACHINE_KIND, Orchestration
from compiler.orchestration.stepfunctions import MACHINES

KIND = STATE_MACHINE_KIND
# DynamoDB: one Query returns at most 1 MB of items (read before any projection); the state machines read
# a project with one Query and do not page, so every project's items must fit one page.
QUERY_PAGE_BYTES = 1024 * 1024


class QueryPageExceeded(NdrcError):
    exit_code = 2


def check_query_page(workspace: CompiledWorkspace) -> None:
    """The proof that `QueryProject` needs no paging: each project's items fit one Query page."""
    sizes: Counter[str] = Counter()
    # An item's DynamoDB JSON line is never shorter than its DynamoDB size (compiler/dynamodb_json.py): sum
    # the lines, and compute exact sizes only for a project whose lines exceed the page.
    for item in workspace.items:
        sizes[item.project_name] += len(item.encoded.encode("utf-8")) if item.encoded else item_size(item.as_item())
    for project in [project for project, bound in sizes.items() if bound > QUERY_PAGE_BYTES]:
        sizes[project] = sum(item_size(i.as_item()) for i in workspace.items if i.project_name == project)
    over = sorted((project, size) for project, size in sizes.items() if size > QUERY_PAGE_BYTES)
    if over:
        listed = ", ".join(f"{project} ({size:,} bytes)" for project, size in over)
        raise QueryPageExceeded(
            f"the state machines read a project's items with one DynamoDB Query (at most {QUERY_PAGE_BYTES:,} "
            f"bytes per page); these projects exceed it: {listed}"
        )


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    check_query_page(workspace)
    observability.settings(workspace.environment)  # a bad logging setting fails the compile, not the publish
    orchestration = Orchestration(workspace.environment)
    artifacts = []
    for flow, (build, role) in MACHINES.items():
        name = orchestration.name(flow)
        artifacts.append(
            Artifact(
                kind=KIND,
                name=name,
                path=f"stepfunctions/{name}.asl.json",
                content=canonical_json(build(orchestration)),
                sources=("ndrc.yaml",),
                role=role,
            )
        )
    return artifacts
