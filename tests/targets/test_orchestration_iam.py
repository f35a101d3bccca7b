"""Least-privilege IAM policies: only the named tables, pipelines, executions and callback actions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from compiler.build import CompileResult
from compiler.model import JobItem
from compiler.targets import iam


def _policy(build: CompileResult, name: str) -> dict[str, Any]:
    return json.loads(next(a.content for a in build.artifacts if a.kind == "iam_policy" and a.name == name))


def _grants(policy: dict[str, Any]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for action in statement["Action"]:
            grants.setdefault(action, set()).update(statement["Resource"])
    return grants


def test_live_state_machine_policy(builds: dict[str, CompileResult]) -> None:
    table = "arn:aws:dynamodb:eu-west-1:345678901234:table/"
    assert _grants(_policy(builds["prod"], "ndr-prod-live-inference")) == {
        "dynamodb:GetItem": {table + "ml_projects_routing"},
        "dynamodb:Query": {table + "ml_projects_parameters"},
        "dynamodb:PutItem": {table + "ml_projects_batch_lock"},
        "dynamodb:DeleteItem": {table + "ml_projects_batch_lock"},
        "sagemaker:StartPipelineExecution": {"arn:aws:sagemaker:eu-west-1:345678901234:pipeline/ndr-prod-feature-15m"},
    }


def test_backfill_state_machine_policy(builds: dict[str, CompileResult]) -> None:
    grants = _grants(_policy(builds["prod"], "ndr-prod-backfill"))
    pipeline = "arn:aws:sagemaker:eu-west-1:345678901234:pipeline/"
    assert grants["sagemaker:StartPipelineExecution"] == {
        pipeline + "ndr-prod-backfill-extractor",
        pipeline + "ndr-prod-feature-15m",
    }
    assert grants["sagemaker:DescribePipelineExecution"] == {pipeline + "ndr-prod-feature-15m/execution/*"}
    assert grants["states:StartExecution"] == {"arn:aws:states:eu-west-1:345678901234:stateMachine:ndr-prod-backfill"}
    assert grants["states:DescribeExecution"] == {"arn:aws:states:eu-west-1:345678901234:execution:ndr-prod-backfill/*"}
    assert "dynamodb:GetItem" not in grants  # the backfill never reads routes: the extractor does


def test_pipelines_policy_names_resources_from_the_specs(builds: dict[str, CompileResult]) -> None:
    grants = _grants(_policy(builds["prod"], "ndr-prod-sagemaker-pipelines"))
    assert grants["states:SendTaskSuccess"] == {"arn:aws:states:eu-west-1:345678901234:stateMachine:ndr-prod-backfill"}
    assert grants["sagemaker:InvokeEndpoint"] == {
        "arn:aws:sagemaker:eu-west-1:345678901234:endpoint/ndr-acme-prod-if-v1",
        "arn:aws:sagemaker:eu-west-1:345678901234:endpoint/ndr-prod-if-v1",
        "arn:aws:sagemaker:eu-west-1:345678901234:endpoint/ndr-prod-if-v2",
    }
    assert all(
        arn.startswith("arn:aws:secretsmanager:eu-west-1:345678901234:secret:ndr/redshift/unload-")
        for arn in grants["secretsmanager:GetSecretValue"]
    )
    assert grants["s3:PutObject"] == {f"arn:aws:s3:::ndr-{b}-prod/*" for b in ("features", "models", "artifacts")}
    assert grants["ecr:BatchGetImage"] == {"arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-spark-processing"}
    wildcards = {action for action, resources in grants.items() if "*" in resources}
    assert wildcards == {
        "ecr:GetAuthorizationToken",
        "redshift-data:CancelStatement",
        "redshift-data:DescribeStatement",
        "redshift-data:GetStatementResult",
    }


def test_policies_fit_the_managed_policy_limit_by_collapsing(builds: dict[str, CompileResult]) -> None:
    compiled = builds["prod"].compiled
    assert compiled is not None
    template = next(i for i in compiled.items if i.job_name == "inference_predictions")
    many: list[JobItem] = [
        replace(template, project_name=f"p{n:04d}", spec={"model": {"endpoint_name": f"endpoint-{n:04d}"}})
        for n in range(400)
    ]
    big = replace(compiled, items=[*compiled.items, *many])
    policy = json.loads(next(a.content for a in iam.build_artifacts(big) if a.name.endswith("sagemaker-pipelines")))
    assert len(json.dumps(policy, separators=(",", ":"))) <= iam.MANAGED_POLICY_LIMIT
    assert _grants(policy)["sagemaker:InvokeEndpoint"] == {"arn:aws:sagemaker:eu-west-1:345678901234:endpoint/*"}
    for artifact in iam.build_artifacts(big):
        assert len(json.dumps(json.loads(artifact.content), separators=(",", ":"))) <= iam.MANAGED_POLICY_LIMIT
