"""inference_predictions end to end: `python -m runtime` with its spec in the parameters table (moto over
HTTP), invocations routed by boto3's own AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME to the model server; and the
Parquet it reads and writes interoperates with Spark's."""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq
import pytest

from runtime.entrypoint import main
from runtime.jobs.inference_predictions.predict import run_inference
from runtime.jobs.inference_predictions.spec import InferenceSpec
from runtime.serving.server import ModelServer
from runtime.storage import LocalStorage
from tests.runtime.conftest import put_item
from tests.runtime.jobs.inference_predictions.conftest import (
    BATCH,
    FG_A,
    FG_C,
    PROJECT,
    VERSION,
    batch_argv,
    runtime_client,
    write_bundles,
)

OUT = "s3://features/ndr-prod/v1/predictions/"


ENDPOINT = "inference-job-test-endpoint"  # deployed on the shared emulator by `deployed_endpoint`


def payload(fg_a: str = FG_A, fg_c: str = FG_C, endpoint: str = ENDPOINT) -> dict[str, Any]:
    return {
        "feature_inputs": {"fg_a": {"s3_prefix": fg_a}, "fg_c": {"s3_prefix": fg_c}},
        "model": {"endpoint_name": endpoint, "max_records_per_payload": 20, "max_workers": 2},
        "output": {"s3_prefix": OUT},
    }


@pytest.fixture
def deployed_endpoint(aws_env: str) -> str:
    """The endpoint exists on the emulator (DescribeEndpoint finds it): the project has a model in service."""
    import boto3

    sm = boto3.client("sagemaker")
    if not any(e["EndpointName"] == ENDPOINT for e in sm.list_endpoints(NameContains=ENDPOINT)["Endpoints"]):
        role = "arn:aws:iam::123456789012:role/r"
        sm.create_model(
            ModelName=ENDPOINT,
            ExecutionRoleArn=role,
            PrimaryContainer={
                "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1",
                "ModelDataUrl": "s3://models/m.tar.gz",
            },
        )
        sm.create_endpoint_config(
            EndpointConfigName=ENDPOINT,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": ENDPOINT,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.c5.xlarge",
                }
            ],
        )
        sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=ENDPOINT)
    return ENDPOINT


def _argv(params_table: str, storage: LocalStorage) -> list[str]:
    return [
        "inference_predictions",
        "--project-name",
        PROJECT,
        "--feature-spec-version",
        VERSION,
        "--mini-batch-id",
        BATCH.mini_batch_id,
        "--batch-start-ts-iso",
        BATCH.batch_start_ts_iso,
        "--batch-end-ts-iso",
        BATCH.batch_end_ts_iso,
        "--table-name",
        params_table,
        "--storage-root",
        str(storage.root),
        "--jitter-seed",
        "3",
    ]


def test_a_project_with_no_model_in_service_skips_through_the_entry_point(
    ddb: Any, params_table: str, storage: LocalStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    """No attributes prefix and DescribeEndpoint (real boto3, the emulator) does not find the endpoint: the
    step succeeds with an explicit skipped outcome instead of failing every 15 minutes until the first training."""
    write_bundles(storage)
    spec = payload(endpoint="never-deployed-endpoint")
    put_item(ddb, params_table, {"project_name": PROJECT, "job_name": f"inference_predictions#{VERSION}", "spec": spec})
    assert main(_argv(params_table, storage)) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["skipped"] is True
    assert summary["reason"] == "skipped: no model in service (endpoint never-deployed-endpoint is not deployed)"
    assert json.loads(storage.read_bytes(summary["metrics_uri"]))["status"] == "skipped"


@pytest.mark.usefixtures("deployed_endpoint")
def test_runs_from_the_published_spec_through_the_entry_point(
    ddb: Any,
    params_table: str,
    storage: LocalStorage,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_bundles(storage)
    put_item(
        ddb, params_table, {"project_name": PROJECT, "job_name": f"inference_predictions#{VERSION}", "spec": payload()}
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", model_server.url)  # DynamoDB stays on moto
    argv = batch_argv("inference_predictions", params_table, storage, "--jitter-seed", "3")
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["metrics"]["records"] == 50 and summary["metrics"]["payloads"] == 3
    assert [r.endpoint_name for r in model_server.requests] == [ENDPOINT] * 3
    [uri] = summary["output_uris"]
    assert (
        uri == f"{OUT}feature_spec_version=v1/dt=2025-01-15/mini_batch_id=batch-0001/part-inference_predictions.parquet"
    )


def test_spark_written_features_in_and_spark_readable_predictions_out(
    spark: Any, storage: LocalStorage, model_server: ModelServer
) -> None:
    write_bundles(storage)
    client = runtime_client(model_server.url)
    spec = InferenceSpec.from_payload(payload(), "t", PROJECT, VERSION)
    run_inference(spec, BATCH, storage, client, "t")
    [reference] = storage.local_path(OUT).rglob("*.parquet")
    expected = pq.read_table(reference).to_pylist()
    for prefix, copy in ((FG_A, "s3://features/spark/fg_a/"), (FG_C, "s3://features/spark/fg_c/")):
        frame = spark.read.parquet(storage.spark_uri(prefix))  # partition columns come back from the folders
        frame.write.partitionBy("feature_spec_version", "dt", "mini_batch_id").mode("overwrite").parquet(
            storage.spark_uri(copy)
        )
    spark_out = "s3://features/spark/predictions/"
    from_spark = InferenceSpec.from_payload(
        {**payload("s3://features/spark/fg_a/", "s3://features/spark/fg_c/"), "output": {"s3_prefix": spark_out}},
        "t",
        PROJECT,
        VERSION,
    )
    run_inference(from_spark, BATCH, storage, client, "t")
    [written] = storage.local_path(spark_out).rglob("*.parquet")
    assert pq.read_table(written).to_pylist() == expected  # Spark's INT96/micros timestamps join the same
    back = spark.read.parquet(storage.spark_uri(spark_out))
    assert back.count() == 50
    types = dict(back.dtypes)
    assert types["window_end_ts"] == "timestamp" and types["anomaly_score"] == "double"
    assert types["mini_batch_id"] == "string" and types["dt"] in ("date", "string")
