"""Compilation targets: each turns the compiled workspace into artifacts (files under `<out>/<env>/`).

A target is a function `(CompiledWorkspace) -> list[Artifact]`. It is pure: no AWS call, no clock, no
randomness, so the same specs give byte-identical artifacts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration.graph import GRAPH_KINDS
from compiler.targets import sagemaker, stepfunctions

Target = Callable[[CompiledWorkspace], list[Artifact]]

# module path -> function name; a target module missing its function is a programming error.
TARGET_MODULES: tuple[tuple[str, str], ...] = (
    ("compiler.targets.dynamodb", "build_artifacts"),
    ("compiler.targets.stepfunctions", "build_artifacts"),
    ("compiler.targets.sagemaker", "build_artifacts"),
    ("compiler.targets.iam", "build_artifacts"),
    ("compiler.targets.wiring", "build_artifacts"),
)


def orchestration_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    """The state machines and pipelines (they depend on the environment only, never on the specs)."""
    artifacts = stepfunctions.build_artifacts(workspace) + sagemaker.build_artifacts(workspace)
    return [a for a in artifacts if a.kind in GRAPH_KINDS]


def all_targets() -> list[Target]:
    return [getattr(importlib.import_module(module), function) for module, function in TARGET_MODULES]
