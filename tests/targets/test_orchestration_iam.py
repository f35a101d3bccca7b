"""Least-privilege IAM policies: only the named tables, pipelines, executions and callback actions."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from compiler.compilation.compile import CompileResult
from compiler.model import JobItem
from compiler.orchestration.observability import LOG_DELIVERY_ACTIONS, XRAY_ACTIONS
from compiler.targets import iam


def _policy(build: CompileResult, name: str) -> dict[str, Any]:
    return json.loads(next(a.content for a in build.artifacts if a.kind == "iam_policy" and a.name == name))


def _grants(policy: dict[str, Any], effect: str = "Allow") -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        if statement["Effect"] != effect:
            continue
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
        # the redrive path: requeue to the entry queue, dead-letter to its DLQ
        "sqs:SendMessage": {
            "arn:aws:sqs:eu-west-1:345678901234:ndr-prod-live-entry",
            "arn:aws:sqs:eu-west-1:345678901234:ndr-prod-live-entry-dlq",
        },
        **{action: {"*"} for action in XRAY_ACTIONS},  # tracing is always on
    }


def test_backfill_state_machine_policy(builds: dict[str, CompileResult]) -> None:
    grants = _grants(_policy(builds["prod"], "ndr-prod-backfill"))
    pipeline = "arn:aws:sagemaker:eu-west-1:345678901234:pipeline/"
    assert grants["sagemaker:StartPipelineExecution"] == {
        pipeline + "ndr-prod-backfill-extractor",
        pipeline + "ndr-prod-feature-15m",
    }
    assert grants["sagemaker:DescribePipelineExecution"] == {
        pipeline + "ndr-prod-backfill-extractor/execution/*",
        pipeline + "ndr-prod-feature-15m/execution/*",
    }
    assert grants["states:StartExecution"] == {"arn:aws:states:eu-west-1:345678901234:stateMachine:ndr-prod-backfill"}
    assert grants["states:DescribeExecution"] == {"arn:aws:states:eu-west-1:345678901234:execution:ndr-prod-backfill/*"}
    assert "dynamodb:GetItem" not in grants  # the backfill never reads routes: the extractor does


def _calls(states: dict[str, Any]) -> list[tuple[str, str]]:
    """(resource, the literal table or pipeline name) of every Task, nested scopes included."""
    found = []
    for state in states.values():
        if state["Type"] == "Task":
            arguments = state["Arguments"]
            queue = re.search(r"\"([^\"]+)\" %}$", arguments.get("QueueUrl", ""))
            name = (
                arguments.get("TableName")
                or arguments.get("PipelineName")
                or arguments.get("TopicArn")
                or (queue.group(1) if queue else "")
            )
            found.append((state["Resource"], name))
        for scope in [state.get("ItemProcessor"), *state.get("Branches", [])]:
            if scope:
                found += _calls(scope["States"])
    return found


def test_state_machine_policies_grant_exactly_what_the_definitions_call(builds: dict[str, CompileResult]) -> None:
    """Derived from the compiled definitions: every integration is granted on its own table or pipeline,
    and nothing else is (an integration added without its grant, or a stale grant, fails here)."""
    build = builds["prod"]
    account = "eu-west-1:345678901234"
    for artifact in (a for a in build.artifacts if a.kind == "state_machine"):
        definition = json.loads(artifact.content)
        expected: dict[str, set[str]] = {}
        for resource, target in _calls(definition["States"]):
            service, api = resource.split(":::")[1].removeprefix("aws-sdk:").split(".")[0].split(":")
            action = f"{service}:{api[0].upper()}{api[1:]}"
            if service == "dynamodb":
                arn = f"arn:aws:dynamodb:{account}:table/{target}"
            elif service == "sqs":
                arn = f"arn:aws:sqs:{account}:{target}"
            elif service == "sns":
                arn = target
            elif api == "startPipelineExecution":
                arn = f"arn:aws:sagemaker:{account}:pipeline/{target}"
            else:
                continue  # describePipelineExecution: checked above, per started pipeline
            expected.setdefault(action, set()).add(arn)
        grants = _grants(_policy(build, artifact.name))
        assert all(grants.pop(action) == {"*"} for action in XRAY_ACTIONS), artifact.name  # tracing: always on
        assert not any(action.startswith("logs:") for action in grants)  # prod sets no log group
        described = grants.pop("sagemaker:DescribePipelineExecution", set())
        if artifact.role == "backfill":  # the Map reads the extractor's items file where the pipelines may write
            buckets = ("artifacts", "features", "models")
            assert grants.pop("s3:GetObject") == {f"arn:aws:s3:::ndr-{b}-prod/*" for b in buckets}
        assert {a: r for a, r in grants.items() if not a.startswith("states:")} == expected, artifact.name
        assert all(r.endswith("/execution/*") for r in described)
        if artifact.role == "backfill":  # distributed Map: child executions of itself
            assert set(grants) - set(expected) == {
                "states:StartExecution",
                "states:DescribeExecution",
                "states:StopExecution",
            }


def test_pipelines_policy_names_resources_from_the_specs(builds: dict[str, CompileResult]) -> None:
    grants = _grants(_policy(builds["prod"], "ndr-prod-sagemaker-pipelines"))
    assert grants["states:SendTaskSuccess"] == {"arn:aws:states:eu-west-1:345678901234:stateMachine:ndr-prod-backfill"}
    assert "states:SendTaskHeartbeat" not in grants  # no runtime job sends heartbeats
    assert grants["dynamodb:GetItem"] >= {"arn:aws:dynamodb:eu-west-1:345678901234:table/ml_projects_batch_lock"}
    assert grants["sagemaker:CreateProcessingJob"] == {"arn:aws:sagemaker:eu-west-1:345678901234:processing-job/*"}
    assert _grants(_policy(builds["prod"], "ndr-prod-sagemaker-pipelines"), "Deny") == {
        "s3:DeleteObject": {"arn:aws:s3:::ndr-artifacts-prod/runtime/*"},
        "s3:PutObject": {"arn:aws:s3:::ndr-artifacts-prod/runtime/*"},
    }
    [pass_role] = [
        s
        for s in _policy(builds["prod"], "ndr-prod-sagemaker-pipelines")["Statement"]
        if s["Action"] == ["iam:PassRole"]
    ]
    assert pass_role["Resource"] == ["arn:aws:iam::345678901234:role/ndr-sagemaker-prod"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
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
    assert grants["ecr:BatchGetImage"] == {  # the runtime images the steps run (docker/runtime-images/)
        "arn:aws:ecr:eu-west-1:345678901234:repository/ndr-runtime-spark-processing",
        "arn:aws:ecr:eu-west-1:345678901234:repository/ndr-runtime-sklearn-processing",
    }
    wildcards = {action for action, resources in grants.items() if "*" in resources}
    assert wildcards == {
        "application-autoscaling:DescribeScalableTargets",  # the Describe actions take no resource ARN
        "application-autoscaling:DescribeScalingPolicies",
        "ecr:GetAuthorizationToken",
        "redshift-data:CancelStatement",
        "redshift-data:DescribeStatement",
        "redshift-data:GetStatementResult",
        "sagemaker:ListModelPackages",  # takes no resource ARN
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


# boto3 method -> IAM action, for every AWS call the runtime's jobs make.
RUNTIME_ACTIONS = {
    "get_object": "s3:GetObject",
    "put_object": "s3:PutObject",
    "delete_objects": "s3:DeleteObject",  # the shared writer removes a rerun batch's stale leaves
    "get_paginator": "s3:ListBucket",  # get_paginator("list_objects_v2") (runtime/storage.py)
    "list_objects_v2": "s3:ListBucket",
    "get_item": "dynamodb:GetItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
    "send_task_success": "states:SendTaskSuccess",
    "send_task_failure": "states:SendTaskFailure",
    "execute_statement": "redshift-data:ExecuteStatement",
    "describe_statement": "redshift-data:DescribeStatement",
    "cancel_statement": "redshift-data:CancelStatement",
    "invoke_endpoint": "sagemaker:InvokeEndpoint",
    "create_model_package_group": "sagemaker:CreateModelPackageGroup",
    "describe_model_package_group": "sagemaker:DescribeModelPackageGroup",
    "create_model_package": "sagemaker:CreateModelPackage",
    "describe_model_package": "sagemaker:DescribeModelPackage",
    "list_model_packages": "sagemaker:ListModelPackages",
    "create_model": "sagemaker:CreateModel",
    "describe_model": "sagemaker:DescribeModel",
    "create_endpoint_config": "sagemaker:CreateEndpointConfig",
    "describe_endpoint_config": "sagemaker:DescribeEndpointConfig",
    "create_endpoint": "sagemaker:CreateEndpoint",
    "describe_endpoint": "sagemaker:DescribeEndpoint",
    "update_endpoint": "sagemaker:UpdateEndpoint",
    "describe_scalable_targets": "application-autoscaling:DescribeScalableTargets",
    "describe_scaling_policies": "application-autoscaling:DescribeScalingPolicies",
    "register_scalable_target": "application-autoscaling:RegisterScalableTarget",
    "put_scaling_policy": "application-autoscaling:PutScalingPolicy",
    "delete_scaling_policy": "application-autoscaling:DeleteScalingPolicy",
    "deregister_scalable_target": "application-autoscaling:DeregisterScalableTarget",
}


def test_pipelines_policy_grants_every_call_the_runtime_makes(builds: dict[str, CompileResult]) -> None:
    """Every `client.<method>(` in runtime/ maps to an action the pipelines role holds (a new boto3 call
    without its grant fails here)."""
    import re
    from pathlib import Path

    import runtime

    calls = set()
    for path in Path(runtime.__file__).resolve().parent.rglob("*.py"):
        text = path.read_text()
        calls.update(re.findall(r"\b(?:client|sm)\.([a-z_0-9]+)\(", text))
        calls.update(re.findall(r"_describe\(sm\.([a-z_0-9]+),", text))  # passed, then called
    assert calls, "the runtime makes AWS calls"
    unknown = calls - set(RUNTIME_ACTIONS)
    assert not unknown, f"map these runtime calls to IAM actions: {sorted(unknown)}"
    grants = _grants(_policy(builds["prod"], "ndr-prod-sagemaker-pipelines"))
    assert {RUNTIME_ACTIONS[c] for c in calls} <= set(grants)


def test_a_log_group_adds_exactly_the_log_delivery_grants(builds: dict[str, CompileResult]) -> None:
    """Step Functions delivers logs through CloudWatch Logs' vended-log APIs, which take no resource ARN
    (Step Functions Developer Guide, "IAM policies for logging to CloudWatch Logs")."""
    compiled = builds["prod"].compiled
    assert compiled is not None
    env = compiled.environment
    group = "arn:aws:logs:eu-west-1:345678901234:log-group:/aws/vendedlogs/states/ndr-prod"
    settings = {
        **env.settings,
        "orchestration": {**env.settings.get("orchestration", {}), "logging": {"log_group_arn": group}},
    }
    logged = replace(compiled, environment=replace(env, settings=settings))
    for artifact in iam.build_artifacts(logged):
        grants = _grants(json.loads(artifact.content))
        if artifact.name in ("ndr-prod-live-inference", "ndr-prod-backfill"):
            assert {a for a in grants if a.startswith("logs:")} == set(LOG_DELIVERY_ACTIONS)
            assert all(grants[a] == {"*"} for a in LOG_DELIVERY_ACTIONS)
