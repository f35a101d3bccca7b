"""AWS's documented limits on what a pipeline definition hands to SageMaker, checked at compile time.

Moto accepts anything; AWS rejects a processing job whose request breaks these before any code runs (and
then nothing reports to a waiting state machine). Source: SageMaker API Reference, `AppSpecification`
(ContainerEntrypoint and ContainerArguments: 1-100 items of at most 256 characters; ImageUri at most 255),
`CreateProcessingJob` `Environment` (at most 100 entries; keys `[a-zA-Z_][a-zA-Z0-9_]*` and values of at
most 256 characters), `Parameter` (Name at most 256 characters `[A-Za-z0-9\\-_]*`, Value at most 1,024) and
`StartPipelineExecution` (at most 200 PipelineParameters). The same figures are in botocore's SageMaker
service model; tests/targets/test_orchestration_limits.py asserts they agree.
"""

from __future__ import annotations

import re
from typing import Any

from compiler.errors import NdrcError
from compiler.orchestration.flows import Flow

MAX_LIST_ITEMS = 100  # ContainerEntrypoint, ContainerArguments, Environment
MAX_ARGUMENT_CHARS = 256  # one ContainerEntrypoint / ContainerArguments item, one Environment key or value
MAX_IMAGE_URI_CHARS = 255
MAX_PARAMETER_NAME_CHARS = 256
MAX_PARAMETER_VALUE_CHARS = 1024
MAX_PIPELINE_PARAMETERS = 200
ENVIRONMENT_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
PARAMETER_NAME = re.compile(r"[A-Za-z0-9\-_]*")


class PipelineLimitError(NdrcError):
    """A compiled pipeline would be rejected by SageMaker (a programming error in ndrc)."""

    exit_code = 2


def problems(definition: dict[str, Any], flow: Flow) -> list[str]:
    """Every way `definition` breaks a limit; `flow` declares the longest value of each run parameter."""
    found: list[str] = []
    declared = {parameter["Name"]: parameter for parameter in definition["Parameters"]}
    bounds = {parameter.name: parameter.max_length for parameter in flow.parameters}
    if len(declared) > MAX_PIPELINE_PARAMETERS:
        found.append(f"{len(declared)} parameters, over the {MAX_PIPELINE_PARAMETERS} StartPipelineExecution takes")
    for name, parameter in declared.items():
        if len(name) > MAX_PARAMETER_NAME_CHARS or not PARAMETER_NAME.fullmatch(name):
            found.append(f"parameter name {name!r} is not 1-{MAX_PARAMETER_NAME_CHARS} of [A-Za-z0-9-_]")
        if len(str(parameter.get("DefaultValue", ""))) > MAX_PARAMETER_VALUE_CHARS:
            found.append(f"parameter {name}: default over {MAX_PARAMETER_VALUE_CHARS} characters")
    for step in definition["Steps"]:
        where = f"step {step['Name']}"
        arguments = step["Arguments"]
        spec = arguments["AppSpecification"]
        for field in ("ContainerEntrypoint", "ContainerArguments"):
            items = spec.get(field, [])
            if not 1 <= len(items) <= MAX_LIST_ITEMS:
                found.append(f"{where}: {field} has {len(items)} items (1-{MAX_LIST_ITEMS})")
            for item in items:
                found += _value_problems(where, field, item, declared, bounds, MAX_ARGUMENT_CHARS)
        found += _value_problems(where, "ImageUri", spec["ImageUri"], declared, bounds, MAX_IMAGE_URI_CHARS)
        environment = arguments.get("Environment", {})
        if len(environment) > MAX_LIST_ITEMS:
            found.append(f"{where}: Environment has {len(environment)} entries (at most {MAX_LIST_ITEMS})")
        for key, value in environment.items():
            if len(key) > MAX_ARGUMENT_CHARS or not ENVIRONMENT_KEY.fullmatch(key):
                found.append(f"{where}: environment name {key!r} is not [a-zA-Z_][a-zA-Z0-9_]* of 1-256")
            found += _value_problems(where, f"Environment {key}", value, declared, bounds, MAX_ARGUMENT_CHARS)
    return found


def _value_problems(
    where: str, field: str, value: Any, declared: dict[str, Any], bounds: dict[str, int], limit: int
) -> list[str]:
    if isinstance(value, dict):
        name = str(value.get("Get", "")).removeprefix("Parameters.")
        parameter = declared.get(name)
        if parameter is None:
            return [f"{where}: {field} uses undeclared parameter {name!r}"]
        if parameter["Type"] != "String":
            return []
        longest = bounds.get(name, len(str(parameter.get("DefaultValue", ""))))
        if longest > limit:
            return [f"{where}: {field} takes parameter {name}, whose values reach {longest} characters (max {limit})"]
        return []
    if len(str(value)) > limit:
        return [f"{where}: {field} value {str(value)[:40]!r}... is {len(str(value))} characters (max {limit})"]
    return []


def check(definition: dict[str, Any], flow: Flow) -> dict[str, Any]:
    """`definition`, or PipelineLimitError listing every limit it breaks."""
    found = problems(definition, flow)
    if found:
        raise PipelineLimitError(f"pipeline {flow.key} would be rejected by SageMaker: " + "; ".join(found))
    return definition
