"""A SageMaker pipeline definition read as data: parameters, steps, `DependsOn`, and the expressions the
local executor resolves (pure; no AWS, no processes).

What is resolved, as the SageMaker Pipelines documentation defines it (Pipeline definition JSON schema,
"Pipeline parameters", "Property references" / "Std:Join"):
- `{"Get": "Parameters.<name>"}`: the execution's value, else the parameter's `DefaultValue`, converted to
  the parameter's `Type` (`String`, `Integer`, `Float`, `Boolean`);
- `{"Get": "Execution.PipelineExecutionId" | "Execution.PipelineExecutionArn" | "Execution.StartDateTime"}`;
- `{"Std:Join": {"On": <separator>, "Values": [...]}}`: each value resolved, then joined as strings.
Anything else (step property references, `Std:JsonGet`, conditions) is reported as unsupported rather than
guessed: the compiled pipelines use none of it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PARAMETER_TYPES = ("String", "Integer", "Float", "Boolean")


class DefinitionError(ValueError):
    """A definition or a start request the executor cannot run (AWS answers these with ValidationException)."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any = None
    has_default: bool = False


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    arguments: Mapping[str, Any]
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Definition:
    parameters: dict[str, Parameter]
    steps: dict[str, Step]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def order(self) -> list[str]:
        """Steps in a dependency-respecting order (declaration order among ready steps)."""
        done: list[str] = []
        pending = list(self.steps)
        while pending:
            ready = [name for name in pending if all(dep in done for dep in self.steps[name].depends_on)]
            if not ready:
                raise DefinitionError(f"steps {', '.join(pending)} depend on each other in a cycle")
            done.append(ready[0])
            pending.remove(ready[0])
        return done


def parse_definition(text: str) -> Definition:
    try:
        document = json.loads(text)
    except ValueError as err:
        raise DefinitionError(f"the pipeline definition is not JSON: {err}") from None
    if not isinstance(document, dict):
        raise DefinitionError("the pipeline definition is not a JSON object")
    parameters: dict[str, Parameter] = {}
    for raw in document.get("Parameters", []):
        kind = raw.get("Type", "String")
        if kind not in PARAMETER_TYPES:
            raise DefinitionError(f"parameter {raw.get('Name')!r} has unknown Type {kind!r}")
        parameters[raw["Name"]] = Parameter(raw["Name"], kind, raw.get("DefaultValue"), "DefaultValue" in raw)
    steps: dict[str, Step] = {}
    for raw in document.get("Steps", []):
        name = raw["Name"]
        if name in steps:
            raise DefinitionError(f"step name {name!r} is used twice")
        steps[name] = Step(name, raw.get("Type", ""), raw.get("Arguments", {}), tuple(raw.get("DependsOn", ())))
    for step in steps.values():
        unknown = [dep for dep in step.depends_on if dep not in steps]
        if unknown:
            raise DefinitionError(f"step {step.name!r} depends on unknown step(s) {', '.join(unknown)}")
    definition = Definition(parameters, steps, document.get("Metadata", {}))
    definition.order()  # a cycle is a definition error, found before anything runs
    return definition


def _convert(parameter: Parameter, value: Any) -> Any:
    try:
        if parameter.type == "Integer":
            return int(value)
        if parameter.type == "Float":
            return float(value)
        if parameter.type == "Boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError(value)
    except (TypeError, ValueError):
        raise DefinitionError(f"parameter {parameter.name} of type {parameter.type} got {value!r}") from None
    return str(value)


def execution_parameters(definition: Definition, supplied: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Every parameter's value for one execution: the supplied value, else the default, typed."""
    given: dict[str, Any] = {}
    for pair in supplied or []:
        name = pair.get("Name")
        if name not in definition.parameters:
            raise DefinitionError(f"parameter {name!r} is not defined in the pipeline definition")
        given[str(name)] = pair.get("Value", "")
    values: dict[str, Any] = {}
    for name, parameter in definition.parameters.items():
        if name in given:
            values[name] = _convert(parameter, given[name])
        elif parameter.has_default:
            values[name] = _convert(parameter, parameter.default)
        else:
            raise DefinitionError(f"parameter {name!r} has no DefaultValue and the execution gives no value")
    return values


@dataclass(frozen=True)
class ExecutionContext:
    parameters: Mapping[str, Any]
    execution_id: str
    execution_arn: str
    start_time_iso: str


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve(value: Any, context: ExecutionContext) -> Any:
    """A definition value with every `Get` / `Std:Join` replaced by what it evaluates to."""
    if isinstance(value, list):
        return [resolve(item, context) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Get"}:
        return _get(str(value["Get"]), context)
    if set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        if not isinstance(join, dict) or not isinstance(join.get("Values"), list):
            raise DefinitionError(f"Std:Join needs {{On, Values: [...]}}, got {json.dumps(join)}")
        return _text(join.get("On", "")).join(_text(resolve(item, context)) for item in join["Values"])
    unsupported = [key for key in value if key.startswith("Std:")]
    if unsupported:
        raise DefinitionError(f"the local executor does not evaluate {unsupported[0]}")
    return {key: resolve(item, context) for key, item in value.items()}


def _get(path: str, context: ExecutionContext) -> Any:
    scope, _, name = path.partition(".")
    if scope == "Parameters":
        if name not in context.parameters:
            raise DefinitionError(f"{{Get: {path}}} names a parameter the definition does not define")
        return context.parameters[name]
    execution = {
        "PipelineExecutionId": context.execution_id,
        "PipelineExecutionArn": context.execution_arn,
        "StartDateTime": context.start_time_iso,
    }
    if scope == "Execution" and name in execution:
        return execution[name]
    raise DefinitionError(f"the local executor does not evaluate {{Get: {path}}}")
