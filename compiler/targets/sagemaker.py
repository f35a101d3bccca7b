"""SageMaker target: one pipeline definition per flow, plus the content-addressed runtime bundle they run."""

from __future__ import annotations

from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration.bundle import ARCHIVE, LAUNCHER, RuntimeBundle, runtime_bundle
from compiler.orchestration.canonical import canonical_json
from compiler.orchestration.flows import FLOWS
from compiler.orchestration.names import BUNDLE_KIND, PIPELINE_KIND, Orchestration
from compiler.orchestration.sagemaker import pipeline_definition

KIND = PIPELINE_KIND


def bundle_artifacts(orchestration: Orchestration, bundle: RuntimeBundle) -> list[Artifact]:
    prefix = bundle.prefix_uri(orchestration.artifacts_bucket)
    return [
        Artifact(BUNDLE_KIND, f"{prefix}{name}", f"runtime/{bundle.digest}/{name}", content, bundle.sources)
        for name, content in ((ARCHIVE, bundle.archive), (LAUNCHER, bundle.launcher))
    ]


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    orchestration = Orchestration(workspace.environment)
    bundle = runtime_bundle()
    artifacts = bundle_artifacts(orchestration, bundle)
    for flow in FLOWS:
        name = orchestration.name(flow.key)
        artifacts.append(
            Artifact(
                kind=KIND,
                name=name,
                path=f"sagemaker/{name}.json",
                content=canonical_json(pipeline_definition(orchestration, flow, bundle)),
                sources=("ndrc.yaml",),
            )
        )
    return artifacts
