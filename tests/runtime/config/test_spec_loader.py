"""load_job_spec / resolve_job_specs against DynamoDB in the moto server (real HTTP)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from runtime.config import JobPayload, ProjectParameters, load_job_spec, resolve_job_specs, resolve_table_name
from runtime.errors import RuntimeJobError, SpecError, SpecNotFoundError, SpecTableNotConfiguredError
from runtime.jobs.delta_builder.spec import DeltaJobSpec
from runtime.jobs.fg_a_builder.spec import FgAJobSpec
from runtime.jobs.pair_counts_builder.spec import PairCountsJobSpec
from tests.runtime.spec_payloads import FG_A, PAIR_COUNTS, delta

pytestmark = pytest.mark.emulator

DELTA = delta(
    "ndr-prod",
    output={"s3_prefix": "s3://out/", "partition_keys": ["dt"]},
    dq={"emit_metrics": True},
    operators=[{"type": "window_bucket", "params": {"minutes": 15}}],
)


def test_table_name_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", raising=False)
    monkeypatch.delenv("JOB_SPEC_DDB_TABLE_NAME", raising=False)
    with pytest.raises(SpecTableNotConfiguredError, match="ML_PROJECTS_PARAMETERS_TABLE_NAME"):
        resolve_table_name()
    monkeypatch.setenv("JOB_SPEC_DDB_TABLE_NAME", "legacy")
    assert resolve_table_name() == "legacy"
    monkeypatch.setenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", "current")
    assert resolve_table_name() == "current"
    assert resolve_table_name("explicit") == "explicit"


def test_versioned_item_is_typed(params_table: str, ddb_put: Any) -> None:
    ddb_put(params_table, {"project_name": "ndr-prod", "job_name": "delta_builder#v1", "spec": DELTA})
    spec = load_job_spec("ndr-prod", "delta_builder", "v1", table_name=params_table)
    assert isinstance(spec, DeltaJobSpec)
    assert spec.output.partition_keys == ("dt",) and spec.operators[0].params == {"minutes": 15}


def test_table_name_from_environment(params_table: str, ddb_put: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ddb_put(
        params_table,
        {
            "project_name": "ndr-prod",
            "job_name": "fg_a_builder#v2",
            "spec": {"delta_s3_prefix": "s3://d/", "fg_a_output": {"s3_prefix": "s3://fa/"}},
        },
    )
    monkeypatch.setenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", params_table)
    spec = load_job_spec("ndr-prod", "fg_a_builder", "v2")
    assert isinstance(spec, FgAJobSpec) and spec.feature_spec_version == "v2"
    assert (spec.delta_prefix, spec.output.s3_prefix) == ("s3://d/", "s3://fa/")


def test_legacy_unversioned_fallback(params_table: str, ddb_put: Any) -> None:
    ddb_put(params_table, {"project_name": "p", "job_name": "pair_counts_builder", "spec": PAIR_COUNTS})
    spec = load_job_spec("p", "pair_counts_builder", "v7", table_name=params_table)
    assert isinstance(spec, PairCountsJobSpec)
    assert spec.traffic_input.layout == "batch_folder"
    assert spec.feature_spec_version is None  # the legacy item is unversioned; callers know what they asked for


def test_single_version_is_found_without_version(params_table: str, ddb_put: Any) -> None:
    ddb_put(
        params_table,
        {
            "project_name": "p",
            "job_name": "project_parameters#v3",
            "parameters": {"defaults": {"FeatureSpecVersion": "v3"}},
        },
    )
    spec = load_job_spec("p", "project_parameters", table_name=params_table)
    assert isinstance(spec, ProjectParameters) and spec.default("FeatureSpecVersion") == "v3"


def test_missing_spec_names_table_and_keys(params_table: str, ddb_put: Any) -> None:
    ddb_put(params_table, {"project_name": "p", "job_name": "fg_b_builder#v1", "spec": {}})
    ddb_put(params_table, {"project_name": "p", "job_name": "fg_b_builder#v2", "spec": {}})
    with pytest.raises(SpecNotFoundError) as info:
        load_job_spec("p", "fg_c_builder", "v1", table_name=params_table)
    assert f"table {params_table!r}" in str(info.value) and "'fg_c_builder#v1' or 'fg_c_builder'" in str(info.value)
    with pytest.raises(SpecNotFoundError, match="versions present: v1, v2"):
        load_job_spec("p", "fg_b_builder", table_name=params_table)


def test_missing_table_is_a_readable_error(aws_env: str) -> None:
    with pytest.raises(RuntimeJobError, match="table 'no_such_table' does not exist"):
        load_job_spec("p", "delta_builder", "v1", table_name="no_such_table")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"spec": "s3://specs/p/delta_builder.json"}, "S3-referenced specs are unsupported"),
        ({"owner": "x"}, "item has no `spec`"),
        ({"spec": {**DELTA, "project_name": "other"}}, "differs from the item key"),
        ({"spec": {**DELTA, "input": {}}}, "spec.input.s3_prefix is required but missing"),
    ],
)
def test_bad_items(params_table: str, ddb_put: Any, item: dict[str, Any], message: str) -> None:
    ddb_put(params_table, {"project_name": "ndr-prod", "job_name": "delta_builder#v1", **item})
    with pytest.raises(SpecError, match=message):
        load_job_spec("ndr-prod", "delta_builder", "v1", table_name=params_table)


class ThrottlingClient:
    """The real emulator client, but each BatchGetItem only serves one key and returns the rest as
    UnprocessedKeys, as DynamoDB does under throttling."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        [(table, request)] = RequestItems.items()
        first, rest = request["Keys"][:1], request["Keys"][1:]
        response = self.client.batch_get_item(RequestItems={table: {"Keys": first}})
        response["UnprocessedKeys"] = {table: {"Keys": rest}} if rest else {}
        return dict(response)


def test_batch_loader_reads_all_and_retries_unprocessed(params_table: str, ddb_put: Any) -> None:
    ddb_put(params_table, {"project_name": "ndr-prod", "job_name": "delta_builder#v1", "spec": DELTA})
    ddb_put(params_table, {"project_name": "ndr-prod", "job_name": "pair_counts_builder", "spec": PAIR_COUNTS})
    # A job whose spec has no dataclass of its own comes back as a JobPayload.
    untyped = {"project_name": "ndr-prod", "job_name": "pipeline_training_data_verifier#v1", "spec": {"eps": 1}}
    ddb_put(params_table, untyped)
    client = ThrottlingClient(boto3.client("dynamodb"))
    jobs = ["delta_builder", "pair_counts_builder", "pipeline_training_data_verifier"]
    specs = resolve_job_specs("ndr-prod", jobs, "v1", table_name=params_table, client=client).specs
    assert isinstance(specs["delta_builder"], DeltaJobSpec)
    assert isinstance(specs["pair_counts_builder"], PairCountsJobSpec)
    verifier = specs["pipeline_training_data_verifier"]
    assert isinstance(verifier, JobPayload) and verifier.get("eps") == 1
    assert client.calls == 6  # six keys requested (versioned + legacy each), one served per call


def test_batch_loader_reports_every_missing_job(params_table: str, ddb_put: Any) -> None:
    ddb_put(params_table, {"project_name": "p", "job_name": "fg_a_builder#v1", "spec": FG_A})
    with pytest.raises(SpecNotFoundError, match=r"\['fg_b_builder#v1', 'fg_c_builder#v1'\]"):
        resolve_job_specs("p", ["fg_a_builder", "fg_b_builder", "fg_c_builder"], "v1", table_name=params_table)


def test_batch_loader_gives_up_after_max_attempts(params_table: str, ddb_put: Any) -> None:
    ddb_put(params_table, {"project_name": "p", "job_name": "fg_a_builder#v1", "spec": FG_A})
    client = ThrottlingClient(boto3.client("dynamodb"))
    with pytest.raises(SpecError, match="still unprocessed after 2 attempts"):
        resolve_job_specs(
            "p", ["fg_a_builder", "fg_b_builder"], "v1", table_name=params_table, client=client, max_attempts=2
        )
