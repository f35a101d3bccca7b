"""A resolved Processing step as a local command: the container's entrypoint and arguments, its inputs
fetched to host folders, its environment plus the local one.

In AWS the step's `ProcessingInputs` are copied to `LocalPath` inside the container (the runtime bundle at
`/opt/ml/processing/input/code`) and the container runs `ContainerEntrypoint + ContainerArguments`. Locally
each input is fetched to a host folder and every `LocalPath` in the command is replaced by that folder;
`python3` is this interpreter; `smspark-submit [--py-files Z] [--<option> V ...] script args` (the Spark
processing image's launcher) runs `script args` with the `--py-files` archives on PYTHONPATH (so Spark's
Python workers import the same code). Other entrypoints are not emulated: the step fails saying so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.local.pipeline_definition import DefinitionError

SPARK_SUBMIT = "smspark-submit"
PYTHON_NAMES = ("python", "python3")
SPARK_SUBMIT_FLAGS_WITHOUT_VALUE = frozenset({"--verbose"})

# Fetches an S3 prefix URI into a host folder (returns the folder).
Fetcher = Callable[[str], Path]


@dataclass(frozen=True)
class LocalCommand:
    step: str
    script: Path
    arguments: tuple[str, ...]
    environment: Mapping[str, str]
    python_path: tuple[str, ...] = ()
    code_dir: Path | None = None
    notes: tuple[str, ...] = field(default=())

    def argv(self) -> list[str]:
        return [sys.executable, str(self.script), *self.arguments]

    def full_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        variables = {**base, **self.environment}
        if self.python_path:
            existing = variables.get("PYTHONPATH")
            variables["PYTHONPATH"] = os.pathsep.join([*self.python_path, *([existing] if existing else [])])
        return variables


def _as_text(value: Any, where: str) -> str:
    if isinstance(value, dict | list):
        raise DefinitionError(f"{where} did not resolve to a string: {value!r}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _mounts(arguments: Mapping[str, Any], fetch: Fetcher) -> dict[str, Path]:
    mounts: dict[str, Path] = {}
    for entry in arguments.get("ProcessingInputs", []):
        s3 = entry.get("S3Input")
        if not s3:
            raise DefinitionError(f"input {entry.get('InputName')!r}: only S3Input is emulated")
        mounts[str(s3["LocalPath"]).rstrip("/")] = fetch(_as_text(s3["S3Uri"], "S3Uri"))
    if arguments.get("ProcessingOutputConfig"):
        raise DefinitionError("ProcessingOutputConfig is not emulated (the compiled jobs write their own outputs)")
    return mounts


def _remap(text: str, mounts: Mapping[str, Path]) -> str:
    for container_path, host in sorted(mounts.items(), key=lambda item: -len(item[0])):
        if text == container_path or text.startswith(container_path + "/"):
            return str(host) + text[len(container_path) :]
    return text


def local_command(step: str, arguments: Mapping[str, Any], fetch: Fetcher) -> LocalCommand:
    """The command for one Processing step whose expressions are already resolved."""
    app = arguments.get("AppSpecification", {})
    entrypoint = [_as_text(item, "ContainerEntrypoint") for item in app.get("ContainerEntrypoint", [])]
    container_arguments = [_as_text(item, "ContainerArguments") for item in app.get("ContainerArguments", [])]
    if not entrypoint:
        raise DefinitionError("a step without ContainerEntrypoint runs the image's own entrypoint: not emulated")
    mounts = _mounts(arguments, fetch)
    words = [_remap(word, mounts) for word in [*entrypoint, *container_arguments]]
    environment = {str(k): _as_text(v, f"Environment.{k}") for k, v in arguments.get("Environment", {}).items()}
    program, rest = Path(words[0]).name, words[1:]
    python_path: list[str] = []
    if program == SPARK_SUBMIT:
        while rest and rest[0].startswith("--"):
            flag = rest.pop(0)
            if flag in SPARK_SUBMIT_FLAGS_WITHOUT_VALUE:
                continue
            if not rest:
                raise DefinitionError(f"{SPARK_SUBMIT} option {flag} has no value")
            value = rest.pop(0)
            if flag == "--py-files":
                python_path.extend(value.split(","))
    elif program not in PYTHON_NAMES:
        raise DefinitionError(f"entrypoint {words[0]!r} is not emulated locally (python3 and {SPARK_SUBMIT} are)")
    if not rest:
        raise DefinitionError("the entrypoint names no script")
    script = Path(rest[0])
    code_dir = next((host for host in mounts.values() if script.parent == host), None)
    return LocalCommand(step, script, tuple(rest[1:]), environment, tuple(python_path), code_dir)
