"""Amazon States Language states as dicts (JSONata query language), one small constructor per state type.

Every JSONata-valued field takes JSONata source (`Jsonata` or plain text) and stores it as `{% ... %}`;
literal values (names, numbers, retry lists) are passed as they are. Optional fields left `None` are omitted,
so a state holds exactly the fields it sets. Key order does not matter: the canonical writer sorts keys.
"""

from __future__ import annotations

from typing import Any

from compiler.orchestration.jsonata import field

State = dict[str, Any]
ALL_ERRORS = "States.ALL"


def _state(kind: str, **fields: Any) -> State:
    return {"Type": kind, **{key: value for key, value in fields.items() if value is not None}}


def _expr(text: str | None) -> str | None:
    return None if text is None else field(text)


def assign(**variables: str) -> dict[str, str]:
    """An `Assign` block: variable name -> JSONata."""
    return {name: field(text) for name, text in variables.items()}


def catch(
    next_state: str, output: str | None = "$states.errorOutput", errors: tuple[str, ...] = (ALL_ERRORS,)
) -> State:
    rule: State = {"ErrorEquals": list(errors), "Next": next_state}
    if output is not None:
        rule["Output"] = field(output)
    return rule


def task(
    resource: str,
    *,
    arguments: Any,
    next_state: str | None = None,
    comment: str | None = None,
    retry: list[dict[str, Any]] | None = None,
    catches: list[State] | None = None,
    assigns: dict[str, str] | None = None,
    output: str | dict[str, Any] | None = None,
    timeout_seconds: int | None = None,
    heartbeat_seconds: int | None = None,
) -> State:
    """A Task: `output` is JSONata text, or a literal dict (e.g. `{}` to pass nothing on)."""
    return _state(
        "Task",
        Resource=resource,
        Comment=comment,
        Arguments=arguments,
        TimeoutSeconds=timeout_seconds,
        HeartbeatSeconds=heartbeat_seconds,
        Retry=retry,
        Catch=catches,
        Assign=assigns,
        Output=output if isinstance(output, dict) else _expr(output),
        **_transition(next_state),
    )


def rule(condition: str, next_state: str) -> State:
    """A Choice rule."""
    return {"Condition": field(condition), "Next": next_state}


def choice(
    rules: list[State],
    default: str,
    *,
    comment: str | None = None,
    assigns: dict[str, str] | None = None,
    output: str | None = None,
) -> State:
    return _state("Choice", Comment=comment, Choices=rules, Default=default, Assign=assigns, Output=_expr(output))


def pass_state(
    next_state: str, *, comment: str | None = None, assigns: dict[str, str] | None = None, output: str | None = None
) -> State:
    return _state("Pass", Comment=comment, Assign=assigns, Output=_expr(output), Next=next_state)


def wait(seconds: int, next_state: str) -> State:
    return _state("Wait", Seconds=seconds, Next=next_state)


def fail(name: str, cause: str, *, literal: bool = False) -> State:
    """A Fail state whose Error is its own name; `cause` is JSONata unless `literal`."""
    return _state("Fail", Error=name, Cause=cause if literal else field(cause))


def succeed(*, comment: str | None = None, output: str | None = None) -> State:
    return _state("Succeed", Comment=comment, Output=_expr(output))


def branch(start_at: str, states: dict[str, State]) -> dict[str, Any]:
    """The states of a Parallel branch or a Map's item processor."""
    return {"StartAt": start_at, "States": states}


def parallel(
    branches: list[dict[str, Any]],
    next_state: str,
    *,
    comment: str | None = None,
    arguments: str | None = None,
    catches: list[State] | None = None,
    assigns: dict[str, str] | None = None,
    output: str | None = None,
) -> State:
    """Every branch at once; the result is the list of the branches' outputs, in order."""
    return _state(
        "Parallel",
        Comment=comment,
        Arguments=_expr(arguments),
        Branches=branches,
        Catch=catches,
        Assign=assigns,
        Output=_expr(output),
        Next=next_state,
    )


def distributed_map(
    items: str | None,
    processor: dict[str, Any],
    next_state: str,
    *,
    comment: str | None = None,
    item_reader: dict[str, Any] | None = None,
    result_writer: dict[str, Any] | None = None,
    item_selector: dict[str, Any] | None = None,
    max_concurrency: str | None = None,
    catches: list[State] | None = None,
    output: str | None = None,
) -> State:
    """A Map whose items run as child executions (STANDARD): `items` (JSONata) or an `item_reader`."""
    return _state(
        "Map",
        Comment=comment,
        Items=_expr(items),
        ItemReader=item_reader,
        ResultWriter=result_writer,
        ItemSelector=item_selector,
        MaxConcurrency=_expr(max_concurrency),
        ItemProcessor={"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, **processor},
        Catch=catches,
        Output=_expr(output),
        Next=next_state,
    )


def state_machine(comment: str, start_at: str, states: dict[str, State]) -> dict[str, Any]:
    return {"Comment": comment, "QueryLanguage": "JSONata", "StartAt": start_at, "States": states}


def _transition(next_state: str | None) -> dict[str, Any]:
    return {"End": True} if next_state is None else {"Next": next_state}
