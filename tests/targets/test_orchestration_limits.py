"""AWS's limits on what the pipelines hand to SageMaker, and on what the state machines pass to them."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from compiler.compilation.compile import CompileResult
from compiler.orchestration import limits
from compiler.orchestration.flows import FLOWS_BY_KEY, MAX_CONTAINER_ARGUMENT, Parameter


def _documents(build: CompileResult, kind: str) -> dict[str, Any]:
    return {a.name: json.loads(a.content) for a in build.artifacts if a.kind == kind}


def test_limits_are_the_ones_of_the_sagemaker_api() -> None:
    """The figures in compiler/orchestration/limits.py are those of botocore's SageMaker service model."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    app = model.shape_for("AppSpecification")
    for field in ("ContainerEntrypoint", "ContainerArguments"):
        shape = app.members[field]
        assert shape.metadata["max"] == limits.MAX_LIST_ITEMS
        assert shape.member.metadata["max"] == limits.MAX_ARGUMENT_CHARS == MAX_CONTAINER_ARGUMENT
    assert app.members["ImageUri"].metadata["max"] == limits.MAX_IMAGE_URI_CHARS
    environment = model.shape_for("ProcessingEnvironmentMap")
    assert environment.metadata["max"] == limits.MAX_LIST_ITEMS
    assert environment.key.metadata["max"] == environment.value.metadata["max"] == limits.MAX_ARGUMENT_CHARS
    assert environment.key.metadata["pattern"] == limits.ENVIRONMENT_KEY.pattern
    parameter = model.shape_for("Parameter")
    assert parameter.members["Name"].metadata["max"] == limits.MAX_PARAMETER_NAME_CHARS
    assert parameter.members["Name"].metadata["pattern"] == limits.PARAMETER_NAME.pattern
    assert parameter.members["Value"].metadata["max"] == limits.MAX_PARAMETER_VALUE_CHARS
    start = model.operation_model("StartPipelineExecution").input_shape
    assert start.members["PipelineParameters"].metadata["max"] == limits.MAX_PIPELINE_PARAMETERS
    token = start.members["ClientRequestToken"].metadata
    assert (token["min"], token["max"]) == (32, 128)


@pytest.mark.parametrize("env", ["local", "prod"])
def test_every_compiled_pipeline_fits(builds: dict[str, CompileResult], env: str) -> None:
    pipelines = _documents(builds[env], "sagemaker_pipeline")
    assert len(pipelines) == len(FLOWS_BY_KEY)
    for name, definition in pipelines.items():
        assert limits.problems(definition, FLOWS_BY_KEY[definition["Metadata"]["ndrc_flow"]]) == [], name


def test_the_check_catches_what_aws_would_reject(builds: dict[str, CompileResult]) -> None:
    definition = _documents(builds["local"], "sagemaker_pipeline")["ndr-local-backfill-extractor"]
    flow = FLOWS_BY_KEY["backfill-extractor"]
    step = definition["Steps"][1]["Arguments"]
    step["AppSpecification"]["ContainerArguments"].append("x" * 257)
    step["Environment"]["BAD-NAME"] = "v"
    long_token = Parameter("CallbackKey", "String", "a task token", "", 2048)  # what the old definition passed
    wide = flow.__class__(**{**flow.__dict__, "parameters": (*flow.parameters[:4], long_token, flow.parameters[5])})
    found = limits.problems(definition, wide)
    assert any("is 257 characters (max 256)" in p for p in found), found
    assert any("environment name 'BAD-NAME'" in p for p in found), found
    assert any("takes parameter CallbackKey, whose values reach 2048 characters" in p for p in found), found
    with pytest.raises(limits.PipelineLimitError, match="backfill-extractor would be rejected"):
        limits.check(definition, wide)


def _tasks(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, state in states.items():
        if state["Type"] == "Task":
            found.append((name, state))
        for inner in [state.get("ItemProcessor"), *state.get("Branches", [])]:
            if inner:
                found += _tasks(inner["States"])
    return found


def test_no_task_token_reaches_a_pipeline_and_every_start_is_idempotent(builds: dict[str, CompileResult]) -> None:
    for name, machine in _documents(builds["local"], "state_machine").items():
        for state_name, task in _tasks(machine["States"]):
            arguments = json.dumps(task.get("Arguments"))
            if "sagemaker:startPipelineExecution" in task["Resource"]:
                assert "Task.Token" not in arguments, (name, state_name)
                assert "waitForTaskToken" not in task["Resource"], (name, state_name)
                assert "ClientRequestToken" in task["Arguments"], (name, state_name)
            if "Task.Token" in arguments:
                assert state_name == "AwaitWindows" and "dynamodb:putItem" in task["Resource"]


def test_every_pipeline_watch_has_a_failure_path_and_a_poll_limit(builds: dict[str, CompileResult]) -> None:
    backfill = _documents(builds["local"], "state_machine")["ndr-local-backfill"]["States"]
    item = backfill["ProcessWindows"]["ItemProcessor"]["States"]
    assert item["CheckPipeline"]["Catch"][0]["Next"] == "ReleaseLockAfterFailure"
    assert item["PipelineStatus"]["Choices"][-1]["Next"] == "PipelineWaitExceeded"
    assert "$states.input.polls >= 360" in item["PipelineStatus"]["Choices"][-1]["Condition"]  # 6 h / 60 s
    watch = backfill["RunExtractor"]["Branches"][1]["States"]
    assert watch["ExtractorStatus"]["Choices"][1]["Next"] == "ExtractorPipelineFailed"
    assert backfill["RunExtractor"]["Catch"][0]["Next"] == "ExtractorFailed"


def test_each_project_fits_one_query_page(builds: dict[str, CompileResult]) -> None:
    """QueryProject does not page: compile refuses a project whose items exceed one 1 MB Query page."""
    from dataclasses import replace

    from compiler.targets import stepfunctions

    compiled = builds["local"].compiled
    assert compiled is not None
    stepfunctions.check_query_page(compiled)  # the sample workspace fits
    template = next(i for i in compiled.items if i.project_name == "ndr-prod")
    big = [replace(template, job_name=f"filler_{n}", spec={"blob": "x" * 300_000}, encoded="") for n in range(4)]
    with pytest.raises(stepfunctions.QueryPageExceeded, match=r"ndr-prod \(1,2\d\d,\d\d\d bytes\)"):
        stepfunctions.check_query_page(replace(compiled, items=[*compiled.items, *big]))
