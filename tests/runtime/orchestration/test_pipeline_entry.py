"""`pipeline_entry` (the ResolveSpecs step) against DynamoDB and Step Functions in the moto server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from runtime.entrypoint import main
from runtime.orchestration import callback
from runtime.orchestration.entry import EntryRequest, run_pipeline_entry
from tests.runtime.conftest import put_item
from tests.runtime.spec_payloads import FG_A, PAIR_COUNTS, delta

pytestmark = pytest.mark.emulator

DELTA = delta("ndr-entry")


INVENTORY_UNLOAD_SPEC = {
    "redshift": {
        "cluster_identifier": "itam",
        "database": "itam",
        "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:unload-AbCdEf",
        "iam_role": "arn:aws:iam::123456789012:role/unload",
    },
    "query": {"schema": "itam", "table": "machine_inventory"},
    "output": {"s3_prefix": "s3://features/inventory/"},
}


def put(table: str, job_name: str, spec: Mapping[str, Any], project: str = "ndr-entry") -> None:
    put_item(boto3.client("dynamodb"), table, {"project_name": project, "job_name": job_name, "spec": dict(spec)})


def entry(table: str, jobs: str, *extra: str, version: str = "v1") -> list[str]:
    return [
        "pipeline_entry",
        "--project-name",
        "ndr-entry",
        "--feature-spec-version",
        version,
        "--jobs",
        jobs,
        "--table-name",
        table,
        *extra,
    ]


def last_log(stderr: str) -> dict[str, Any]:
    return dict(json.loads(stderr.strip().splitlines()[-1]))


def test_all_present_in_one_batch_get(params_table: str, capsys: pytest.CaptureFixture[str]) -> None:
    put(params_table, "project_parameters#v1", {"defaults": {"HistoricalInputS3Prefix": "s3://h/"}})
    put(params_table, "delta_builder#v1", DELTA)
    put(params_table, "pair_counts_builder", PAIR_COUNTS)  # legacy unversioned item
    put(params_table, "fg_a_builder#v1", {**FG_A, "eps": 1})
    put(params_table, "fg_a_builder", {**FG_A, "eps": 0})  # the versioned item wins over the legacy one
    jobs = "project_parameters,delta_builder, pair_counts_builder,fg_a_builder"
    assert main(entry(params_table, jobs)) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "succeeded" and summary["job"] == "pipeline_entry"
    assert summary["specs"] == {
        "project_parameters": "project_parameters#v1",
        "delta_builder": "delta_builder#v1",
        "pair_counts_builder": "pair_counts_builder",
        "fg_a_builder": "fg_a_builder#v1",
    }

    client = boto3.client("dynamodb")
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    request = EntryRequest("ndr-entry", ("delta_builder", "pair_counts_builder", "fg_a_builder"), "v1")
    assert run_pipeline_entry(request, table_name=params_table, ddb_client=client)["specs"]["fg_a_builder"] == (
        "fg_a_builder#v1"
    )
    assert calls == ["BatchGetItem"]


def test_every_missing_spec_is_listed(params_table: str, capsys: pytest.CaptureFixture[str]) -> None:
    put(params_table, "fg_a_builder#v1", FG_A)
    code = main(entry(params_table, "delta_builder,fg_a_builder,fg_b_builder,project_parameters"))
    captured = capsys.readouterr()
    record = last_log(captured.err)
    assert code == 1 and captured.out == ""
    assert record["event"] == "job_failed" and record["error"] == "SpecsMissingError"
    cause = record["cause"]
    assert f"table {params_table!r}" in cause and "project_name='ndr-entry'" in cause and "3 missing" in cause
    for job in ("delta_builder", "fg_b_builder", "project_parameters"):
        assert f"'{job}#v1' or '{job}'" in cause
    assert "fg_a_builder" not in cause


def test_task_token_reports_specs_missing(
    params_table: str, task_tokens: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sfn, execution, token = task_tokens.start()
    sent: list[dict[str, Any]] = []
    sfn.meta.events.register("before-call.states.SendTaskFailure", lambda params, **_: sent.append(params))
    monkeypatch.setattr(callback, "stepfunctions_client", lambda: sfn)
    key = task_tokens.store(token, monkeypatch)
    code = main(entry(params_table, "pipeline_backfill_historical_extractor,project_parameters", "--callback-key", key))
    assert code == 1
    assert last_log(capsys.readouterr().err)["error"] == "SpecsMissingError"
    described = task_tokens.finished(sfn, execution)
    assert described["status"] == "FAILED" and described["error"] == "SpecsMissing"
    # moto 5.2.5 drops `cause` server-side, so check what went over the wire
    body = json.loads(sent[0]["body"])
    assert body["error"] == "SpecsMissing"
    assert "'pipeline_backfill_historical_extractor#v1'" in body["cause"] and "'project_parameters#v1'" in body["cause"]


def test_task_token_untouched_on_success(
    params_table: str, task_tokens: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put(params_table, "pipeline_backfill_historical_extractor#v1", {})
    sfn, execution, token = task_tokens.start()
    key = task_tokens.store(token, monkeypatch)
    assert main(entry(params_table, "pipeline_backfill_historical_extractor", "--callback-key", key)) == 0
    assert json.loads(capsys.readouterr().out)["specs"] == {
        "pipeline_backfill_historical_extractor": "pipeline_backfill_historical_extractor#v1"
    }
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"  # the extractor completes it
    sfn.send_task_success(taskToken=token, output="{}")
    assert task_tokens.finished(sfn, execution)["status"] == "SUCCEEDED"


def test_empty_strings_are_unset(
    params_table: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put(params_table, "machine_inventory_unload", INVENTORY_UNLOAD_SPEC)  # legacy item
    fg_b = {"fg_a_input": {"s3_prefix": "s3://f/fg_a/"}, "fg_b_output": {"s3_prefix": "s3://f/fg_b/"}}
    put(params_table, "fg_b_builder#v3", fg_b)  # the only version, like load_job_spec without a version
    extra = ["--callback-key", "", "--reference-ts-iso", "", "--table-name", params_table, "--storage-root", ""]
    assert main(entry(params_table, "machine_inventory_unload,fg_b_builder", *extra, version="")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["feature_spec_version"] is None
    assert summary["specs"] == {
        "machine_inventory_unload": "machine_inventory_unload",
        "fg_b_builder": "fg_b_builder#v3",
    }

    reported: list[tuple[Any, ...]] = []
    monkeypatch.setattr(callback, "send_failure", lambda *args, **kwargs: reported.append(args))
    put(params_table, "fg_c_builder#v1", {})
    put(params_table, "fg_c_builder#v2", {})
    assert main(entry(params_table, "fg_c_builder,inference_predictions", "--callback-key", "", version="")) == 1
    cause = last_log(capsys.readouterr().err)["cause"]
    assert "'fg_c_builder' (versions present: v1, v2)" in cause and "'inference_predictions'" in cause
    assert reported == []  # an empty token is no token
