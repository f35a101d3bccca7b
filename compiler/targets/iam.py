"""IAM target: the least-privilege policy of each state machine's role and of the pipelines' role.

Only the named tables, the named pipelines (and their executions), the backfill state machine's own
executions (distributed Map) and, for the pipelines, the callback actions on the backfill state machine.
Policies are reviewed, not published (`iam_policy` is a review-only kind): attach them where roles live.
"""

from __future__ import annotations

import json
from typing import Any

from compiler import orchestration as names
from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration import Orchestration
from compiler.orchestration_render import canonical_json

KIND = "iam_policy"
PIPELINES_POLICY = "sagemaker-pipelines"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": sorted(set(resources))}


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def live_policy(o: Orchestration) -> dict[str, Any]:
    tables = o.tables
    return _policy(
        [
            _statement("ReadRoute", ["dynamodb:GetItem"], [o.table_arn(tables["routing"])]),
            _statement("QueryProjectItems", ["dynamodb:Query"], [o.table_arn(tables["parameters"])]),
            _statement("BatchLock", ["dynamodb:DeleteItem", "dynamodb:PutItem"], [o.table_arn(tables["lock"])]),
            _statement(
                "StartFeaturePipeline", ["sagemaker:StartPipelineExecution"], [o.pipeline_arn(names.FEATURE_15M)]
            ),
        ]
    )


def backfill_policy(o: Orchestration) -> dict[str, Any]:
    tables = o.tables
    return _policy(
        [
            _statement("QueryProjectItems", ["dynamodb:Query"], [o.table_arn(tables["parameters"])]),
            _statement("BatchLock", ["dynamodb:DeleteItem", "dynamodb:PutItem"], [o.table_arn(tables["lock"])]),
            _statement(
                "StartPipelines",
                ["sagemaker:StartPipelineExecution"],
                [o.pipeline_arn(names.BACKFILL_EXTRACTOR), o.pipeline_arn(names.FEATURE_15M)],
            ),
            _statement(
                "WatchFeaturePipeline",
                ["sagemaker:DescribePipelineExecution"],
                [o.pipeline_execution_arns(names.FEATURE_15M)],
            ),
            _statement("DistributedMapChildren", ["states:StartExecution"], [o.state_machine_arn(names.BACKFILL)]),
            _statement(
                "DistributedMapChildExecutions",
                ["states:DescribeExecution", "states:StopExecution"],
                [o.state_machine_executions_arn(names.BACKFILL)],
            ),
        ]
    )


def _spec_values(workspace: CompiledWorkspace, job: str, *path: str) -> list[str]:
    values = []
    for item in workspace.items:
        if item.job_name != job:
            continue
        value: Any = item.spec
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            values.append(value)
    return values


def _ecr_repository_arn(o: Orchestration, image: str) -> str | None:
    host, _, rest = image.partition("/")
    parts = host.split(".")
    if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not rest:
        return None
    repository = rest.split("@")[0].rsplit(":", 1)[0]
    return f"arn:{o.partition}:ecr:{parts[3]}:{parts[0]}:repository/{repository}"


def pipelines_policy(o: Orchestration, workspace: CompiledWorkspace, *, collapse: bool = False) -> dict[str, Any]:
    env, tables = o.environment, o.tables
    read_buckets = ["ingestion", "features", "models", "artifacts"]
    write_buckets = ["features", "models", "artifacts"]
    endpoints = sorted(
        {
            *_spec_values(workspace, "inference_predictions", "model", "endpoint_name"),
            *_spec_values(workspace, "pipeline_model_deploy", "endpoint_name"),
            *_spec_values(workspace, "if_training", "deployment", "endpoint_name"),
        }
    )
    secrets = sorted(set(_spec_values(workspace, "machine_inventory_unload", "redshift", "secret_arn")))
    clusters = sorted(set(_spec_values(workspace, "machine_inventory_unload", "redshift", "cluster_identifier")))
    endpoint_arns = (
        [o.sagemaker_arn("endpoint/*")] if collapse else [o.sagemaker_arn(f"endpoint/{e}") for e in endpoints]
    )
    secret_arns = [o.arn("secretsmanager", "secret:*")] if collapse else secrets
    cluster_arns = (
        [o.arn("redshift", "cluster:*")] if collapse else [o.arn("redshift", f"cluster:{c}") for c in clusters]
    )
    statements = [
        _statement("ListBuckets", ["s3:ListBucket"], [o.bucket_arn(b) for b in read_buckets]),
        _statement("ReadData", ["s3:GetObject"], [f"{o.bucket_arn(b)}/*" for b in read_buckets]),
        _statement("WriteData", ["s3:DeleteObject", "s3:PutObject"], [f"{o.bucket_arn(b)}/*" for b in write_buckets]),
        _statement(
            "ReadSpecs",
            ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"],
            [o.table_arn(tables["parameters"])],
        ),
        _statement(
            "ReadRoutes", ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], [o.table_arn(tables["routing"])]
        ),
        _statement(
            "ReportBackfillWindows",
            ["states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"],
            [o.state_machine_arn(names.BACKFILL)],
        ),
        _statement(
            "Logs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            [o.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs*")],
        ),
        _statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
    ]
    repository = _ecr_repository_arn(o, str(env.get("images.spark_processing", "")))
    if repository:
        statements.append(
            _statement(
                "PullImage",
                ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                [repository],
            )
        )
    if endpoint_arns:
        statements.append(
            _statement(
                "Endpoints",
                [
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:UpdateEndpoint",
                ],
                endpoint_arns,
            )
        )
    if secret_arns:
        statements.append(_statement("RedshiftSecrets", ["secretsmanager:GetSecretValue"], secret_arns))
        statements.append(_statement("RedshiftUnload", ["redshift-data:ExecuteStatement"], cluster_arns))
        # Statement ids are not resources: these two are scoped to the caller's own statements by AWS.
        statements.append(
            _statement(
                "RedshiftResults",
                [
                    "redshift-data:CancelStatement",  # the unload cancels a statement that outlives its wait
                    "redshift-data:DescribeStatement",
                    "redshift-data:GetStatementResult",
                ],
                ["*"],
            )
        )
    return _policy(statements)


def _fits(policy: dict[str, Any]) -> bool:
    return len(json.dumps(policy, separators=(",", ":"))) <= MANAGED_POLICY_LIMIT


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    o = Orchestration(workspace.environment)
    pipelines = pipelines_policy(o, workspace)
    if not _fits(pipelines):
        pipelines = pipelines_policy(o, workspace, collapse=True)
    spec_sources = tuple(
        sorted(
            {
                i.source
                for i in workspace.items
                if i.job_name
                in ("inference_predictions", "pipeline_model_deploy", "if_training", "machine_inventory_unload")
            }
        )
    )
    policies = [
        (o.name(names.LIVE), live_policy(o), ("ndrc.yaml",)),
        (o.name(names.BACKFILL), backfill_policy(o), ("ndrc.yaml",)),
        (o.name(PIPELINES_POLICY), pipelines, ("ndrc.yaml", *spec_sources)),
    ]
    return [
        Artifact(KIND, name, f"iam/{name}.policy.json", canonical_json(policy), sources)
        for name, policy, sources in policies
    ]
