"""Pipeline definitions read as data: parameters, `Get` / `Std:Join` and `DependsOn` as SageMaker documents them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.local.pipeline_definition import (
    DefinitionError,
    ExecutionContext,
    execution_parameters,
    parse_definition,
    resolve,
)

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "orchestration" / "local" / "sagemaker"


def _definition(steps: list[dict[str, object]], parameters: list[dict[str, object]] | None = None) -> str:
    return json.dumps({"Version": "2020-12-01", "Parameters": parameters or [], "Steps": steps})


def _context(**parameters: object) -> ExecutionContext:
    return ExecutionContext(
        parameters, "abc123", "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/abc123", "2025-01-15T10:08:00Z"
    )


def test_execution_values_override_defaults_and_take_the_parameter_type() -> None:
    definition = parse_definition(
        _definition(
            [],
            [
                {"Name": "Name", "Type": "String"},
                {"Name": "Count", "Type": "Integer", "DefaultValue": 1},
                {"Name": "Rate", "Type": "Float", "DefaultValue": 0.5},
                {"Name": "On", "Type": "Boolean", "DefaultValue": False},
                {"Name": "Empty", "Type": "String", "DefaultValue": ""},
            ],
        )
    )
    values = execution_parameters(
        definition, [{"Name": "Name", "Value": "p"}, {"Name": "Count", "Value": "3"}, {"Name": "On", "Value": "true"}]
    )
    assert values == {"Name": "p", "Count": 3, "Rate": 0.5, "On": True, "Empty": ""}


def test_a_parameter_without_default_or_value_and_an_undefined_parameter_are_refused() -> None:
    definition = parse_definition(_definition([], [{"Name": "Name", "Type": "String"}]))
    with pytest.raises(DefinitionError, match="'Name' has no DefaultValue"):
        execution_parameters(definition, [])
    with pytest.raises(DefinitionError, match="'Other' is not defined"):
        execution_parameters(definition, [{"Name": "Name", "Value": "x"}, {"Name": "Other", "Value": "y"}])
    typed = parse_definition(_definition([], [{"Name": "Count", "Type": "Integer", "DefaultValue": 1}]))
    with pytest.raises(DefinitionError, match="Count of type Integer got 'many'"):
        execution_parameters(typed, [{"Name": "Count", "Value": "many"}])


def test_get_and_std_join_resolve_inside_nested_arguments() -> None:
    context = _context(Project="ndr-prod", Count=2, On=True)
    value = {
        "AppSpecification": {
            "ContainerArguments": [
                "--project",
                {"Get": "Parameters.Project"},
                "--uri",
                {
                    "Std:Join": {
                        "On": "/",
                        "Values": ["s3://b", {"Get": "Parameters.Project"}, {"Get": "Execution.PipelineExecutionId"}],
                    }
                },
                "--flags",
                {"Std:Join": {"On": ",", "Values": [{"Get": "Parameters.Count"}, {"Get": "Parameters.On"}]}},
            ]
        },
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": {"Get": "Parameters.Count"}}},
    }
    assert resolve(value, context) == {
        "AppSpecification": {
            "ContainerArguments": [
                "--project",
                "ndr-prod",
                "--uri",
                "s3://b/ndr-prod/abc123",
                "--flags",
                "2,true",
            ]
        },
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 2}},
    }


def test_unsupported_expressions_and_unknown_parameters_are_named() -> None:
    with pytest.raises(DefinitionError, match="does not evaluate Std:JsonGet"):
        resolve({"Std:JsonGet": {}}, _context())
    with pytest.raises(DefinitionError, match=r"Steps\.A\.Properties"):
        resolve({"Get": "Steps.A.Properties.ProcessingJobName"}, _context())
    with pytest.raises(DefinitionError, match="names a parameter the definition does not define"):
        resolve({"Get": "Parameters.Nope"}, _context())


def test_depends_on_orders_steps_and_rejects_cycles_and_unknown_steps() -> None:
    definition = parse_definition(
        _definition(
            [
                {"Name": "C", "Type": "Processing", "DependsOn": ["A", "B"]},
                {"Name": "B", "Type": "Processing", "DependsOn": ["A"]},
                {"Name": "A", "Type": "Processing"},
            ]
        )
    )
    assert definition.order() == ["A", "B", "C"]
    with pytest.raises(DefinitionError, match="cycle"):
        parse_definition(_definition([{"Name": "A", "DependsOn": ["B"]}, {"Name": "B", "DependsOn": ["A"]}]))
    with pytest.raises(DefinitionError, match="unknown step"):
        parse_definition(_definition([{"Name": "A", "DependsOn": ["Z"]}]))


def test_the_compiled_15_minute_pipeline_resolves_to_the_runtime_command_line() -> None:
    definition = parse_definition((GOLDEN / "ndr-local-feature-15m.json").read_text())
    supplied = {
        "ProjectName": "ndr-prod",
        "FeatureSpecVersion": "v1",
        "MiniBatchId": "b1",
        "MiniBatchS3Prefix": "s3://ndr-ingestion-local/x/b1/",
        "BatchStartTsIso": "2025-01-15T10:08:00Z",
        "BatchEndTsIso": "2025-01-15T10:08:41Z",
        "DeltaBuilderInstanceCount": "2",
    }
    values = execution_parameters(definition, [{"Name": k, "Value": v} for k, v in supplied.items()])
    assert values["DeltaBuilderInstanceCount"] == 2 and values["FgABuilderInstanceCount"] == 1
    step = resolve(definition.steps["DeltaBuilder"].arguments, _context(**values))
    assert step["AppSpecification"]["ContainerArguments"] == [
        "delta_builder",
        "--project-name",
        "ndr-prod",
        "--feature-spec-version",
        "v1",
        "--mini-batch-id",
        "b1",
        "--mini-batch-s3-prefix",
        "s3://ndr-ingestion-local/x/b1/",
        "--batch-start-ts-iso",
        "2025-01-15T10:08:00Z",
        "--batch-end-ts-iso",
        "2025-01-15T10:08:41Z",
    ]
    assert step["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 2
    assert definition.order()[:1] == ["ResolveSpecs"] and definition.steps["FgCBuilder"].depends_on == (
        "FgABuilder",
        "PairCountsBuilder",
    )
