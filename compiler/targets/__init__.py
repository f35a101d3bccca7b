"""Compilation targets: each turns the compiled workspace into artifacts (files under `<out>/<env>/`).

A target is a function `(CompiledWorkspace) -> list[Artifact]`. It is pure: no AWS call, no clock, no
randomness, so the same specs give byte-identical artifacts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from compiler.model import Artifact, CompiledWorkspace

Target = Callable[[CompiledWorkspace], list[Artifact]]

# module path -> function name; a target module missing its function is a programming error.
TARGET_MODULES: tuple[tuple[str, str], ...] = (
    ("compiler.targets.dynamodb", "build_artifacts"),
    ("compiler.targets.stepfunctions", "build_artifacts"),
    ("compiler.targets.sagemaker", "build_artifacts"),
    ("compiler.targets.iam", "build_artifacts"),
)


def all_targets() -> list[Target]:
    return [getattr(importlib.import_module(module), function) for module, function in TARGET_MODULES]
