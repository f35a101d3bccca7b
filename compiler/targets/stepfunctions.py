"""Step Functions target: the live-inference and backfill state machines (JSONata ASL)."""

from __future__ import annotations

from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration.canonical import canonical_json
from compiler.orchestration.names import STATE_MACHINE_KIND, Orchestration
from compiler.orchestration.stepfunctions import MACHINES

KIND = STATE_MACHINE_KIND


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
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
