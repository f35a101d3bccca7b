"""Mermaid diagrams of the compiled state machines and pipelines (GitHub renders them in pull requests).

The diagrams are drawn from the compiled definitions themselves, so they show exactly what deploys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from compiler.model import Artifact
from compiler.orchestration.names import PIPELINE_KIND, STATE_MACHINE_KIND

GRAPH_KINDS = (STATE_MACHINE_KIND, PIPELINE_KIND)
_SHAPES = {
    "Choice": ("{", "}"),
    "Fail": ("[[", "]]"),
    "Succeed": ("([", "])"),
    "Wait": ("[/", "/]"),
    "Pass": ("[\\", "\\]"),
}
_CLASSES = (
    "  classDef fail fill:#fde2e1,stroke:#c0392b,color:#7b241c\n"
    "  classDef succeed fill:#e3f6e8,stroke:#1e8449,color:#145a32\n"
    "  classDef choice fill:#fff5d6,stroke:#b7950b\n"
)


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", part) for part in parts)


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _error_label(errors: list[str]) -> str:
    short = [e.split(".", 1)[-1].removesuffix("Exception") if e != "States.ALL" else "any error" for e in errors]
    return ", ".join(short)


def _flow_order(states: dict[str, Any], start_at: str) -> list[str]:
    """States in the order the flow reaches them (breadth first), then any unreachable ones."""
    order, queue = [], [start_at]
    while queue:
        name = queue.pop(0)
        if name in order or name not in states:
            continue
        order.append(name)
        state = states[name]
        queue += [rule["Next"] for rule in state.get("Choices", [])]
        queue += [state[key] for key in ("Next", "Default") if key in state]
        queue += [catch["Next"] for catch in state.get("Catch", [])]
    return order + sorted(set(states) - set(order))


def _states(lines: list[str], states: dict[str, Any], scope: str, start_at: str, end: str) -> None:
    lines.append(f"  {_id(scope, 'start')}((start)) --> {_id(scope, start_at)}")
    for name in _flow_order(states, start_at):
        state = states[name]
        node = _id(scope, name)
        kind = state["Type"]
        if kind == "Map":
            inner = state["ItemProcessor"]
            mode = inner.get("ProcessorConfig", {}).get("Mode", "INLINE").lower()
            lines.append(f"  subgraph {node}[{_label(f'{name}: Map ({mode}), for each item')}]")
            _states(lines, inner["States"], f"{scope}_{name}", inner["StartAt"], _id(scope, name, "done"))
            lines.append("  end")
            lines.append(f"  {_id(scope, name, 'done')}((done))")
            source = _id(scope, name, "done")
        elif kind == "Parallel":
            lines.append(f"  subgraph {node}[{_label(f'{name}: Parallel, every branch')}]")
            for number, branch in enumerate(state["Branches"], start=1):
                inner_scope = f"{scope}_{name}_{number}"
                _states(lines, branch["States"], inner_scope, branch["StartAt"], _id(scope, name, "done"))
            lines.append("  end")
            lines.append(f"  {_id(scope, name, 'done')}((done))")
            source = _id(scope, name, "done")
        else:
            opening, closing = _SHAPES.get(kind, ("[", "]"))
            lines.append(f"  {node}{opening}{_label(name)}{closing}")
            css = {"Fail": "fail", "Succeed": "succeed", "Choice": "choice"}.get(kind)
            if css:
                lines.append(f"  class {node} {css}")
            source = node
        for number, rule in enumerate(state.get("Choices", []), start=1):
            lines.append(f"  {source} -->|{number}| {_id(scope, rule['Next'])}")
        if "Default" in state:
            lines.append(f"  {source} -->|default| {_id(scope, state['Default'])}")
        for catch in state.get("Catch", []):
            lines.append(f"  {source} -.->|{_label(_error_label(catch['ErrorEquals']))}| {_id(scope, catch['Next'])}")
        if "Next" in state:
            lines.append(f"  {source} --> {_id(scope, state['Next'])}")
        if state.get("End") or kind == "Succeed":
            lines.append(f"  {source} --> {end}")
    lines.append(f"  {end}((end))")


def state_machine_diagram(definition: dict[str, Any]) -> str:
    lines = ["flowchart TD"]
    _states(lines, definition["States"], "sm", definition["StartAt"], "sm_end")
    return "\n".join(lines) + "\n" + _CLASSES


def pipeline_diagram(definition: dict[str, Any]) -> str:
    lines = ["flowchart LR"]
    for step in definition["Steps"]:
        arguments = step.get("Arguments", {}).get("AppSpecification", {}).get("ContainerArguments", [])
        job = arguments[0] if arguments and isinstance(arguments[0], str) else step["Type"]
        lines.append(f"  {_id(step['Name'])}[{_label(step['Name'] + '<br/>' + job)}]")
        for parent in step.get("DependsOn", []):
            lines.append(f"  {_id(parent)} --> {_id(step['Name'])}")
    parameters = [p["Name"] for p in definition.get("Parameters", []) if "DefaultValue" not in p]
    if parameters:
        first = _id(definition["Steps"][0]["Name"])
        lines.append(f"  params[/{_label('parameters: ' + ', '.join(parameters))}/] -.-> {first}")
    return "\n".join(lines) + "\n"


def diagram(artifact: Artifact) -> str:
    definition = json.loads(artifact.content)
    if artifact.kind == STATE_MACHINE_KIND:
        return state_machine_diagram(definition)
    return pipeline_diagram(definition)


def markdown(artifacts: Iterable[Artifact]) -> str:
    sections = []
    for artifact in artifacts:
        what = f"state machine ({artifact.role})" if artifact.kind == STATE_MACHINE_KIND else "SageMaker pipeline"
        sections.append(f"## {artifact.name}\n\n{what}, `{artifact.path}`\n\n```mermaid\n{diagram(artifact)}```\n")
    return "\n".join(sections)
