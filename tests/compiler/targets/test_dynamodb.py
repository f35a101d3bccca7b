from __future__ import annotations

import json
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from compiler.dynamodb_json import item_size, to_attribute, to_item
from compiler.load.yamlload import Number
from compiler.model import CompiledWorkspace, EnvironmentConfig, JobItem, Route
from compiler.targets.dynamodb import build_artifacts

ENVIRONMENT = EnvironmentConfig(
    "local", {"region": "us-east-1", "tables": {"parameters": "params", "routing": "routes", "lock": "lock"}}
)


def test_numbers_keep_their_literal_and_stay_exact() -> None:
    assert to_attribute(Number("1e-6")) == {"N": "1e-6"}
    assert to_attribute(Number("+6.0")) == {"N": "6.0"}
    assert to_attribute(7) == {"N": "7"}
    assert to_attribute(Decimal("0.1")) == {"N": "0.1"}


def test_every_json_type_maps_to_a_typed_attribute() -> None:
    value = {"s": "x", "b": False, "n": None, "l": [1, "a"], "m": {"k": "v"}}
    assert to_attribute(value) == {
        "M": {
            "s": {"S": "x"},
            "b": {"BOOL": False},
            "n": {"NULL": True},
            "l": {"L": [{"N": "1"}, {"S": "a"}]},
            "m": {"M": {"k": {"S": "v"}}},
        }
    }


def test_floats_are_refused_because_they_are_not_exact() -> None:
    with pytest.raises(TypeError):
        to_attribute(0.1)


def test_round_trip_through_boto3_deserializer_equals_the_spec() -> None:
    spec = {"eps": Number("1e-6"), "z_max": Number("6.0"), "horizons": ["7d", "30d"], "on": True, "none": None}
    item = JobItem("ndr-prod", "fg_c_builder", "v1", spec, {"owner": "ndr-team"}, "specs/x.yaml")
    typed = to_item(item.as_item())
    deserializer = TypeDeserializer()
    plain = {key: deserializer.deserialize(value) for key, value in typed.items()}
    assert plain == {"project_name": "ndr-prod", "job_name": "fg_c_builder#v1", "owner": "ndr-team", "spec": spec}


def test_artifacts_are_sorted_by_key_and_list_their_sources() -> None:
    items = [
        JobItem("b", "fg_a_builder", "v1", {}, {}, "specs/b/fg_a_builder#v1.yaml"),
        JobItem("a", "fg_c_builder", None, {}, {}, "specs/a/fg_c_builder.yaml"),
        JobItem("a", "delta_builder", "v2", {}, {}, "specs/a/delta_builder#v2.yaml"),
    ]
    routes = [Route("z", "y", "a", "s3://i/z/y", None, True, "specs/a/routing.yaml")]
    parameters, routing = build_artifacts(CompiledWorkspace(ENVIRONMENT, items, routes))
    keys = [
        (json.loads(line)["Item"]["project_name"]["S"], json.loads(line)["Item"]["job_name"]["S"])
        for line in parameters.content.decode().splitlines()
    ]
    assert keys == [("a", "delta_builder#v2"), ("a", "fg_c_builder"), ("b", "fg_a_builder#v1")]
    assert parameters.path == "dynamodb/params.jsonl" and routing.path == "dynamodb/routes.jsonl"
    assert parameters.sources == tuple(sorted(i.source for i in items))
    assert json.loads(routing.content)["Item"]["org_key"] == {"S": "z#y"}


def test_item_size_counts_names_and_utf8_values() -> None:
    assert item_size({"ab": "xyz"}) == 5
    assert item_size({"k": "é"}) == 3
    assert item_size({"big": "x" * 500_000}) > 400 * 1024
