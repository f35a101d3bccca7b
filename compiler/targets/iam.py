"""IAM target: the least-privilege policy of each state machine's role and of the pipelines' role.

Only the named tables, the named pipelines (and their executions), the backfill state machine's own
executions (distributed Map) and, for the pipelines, the callback actions on the backfill state machine.
Policies are reviewed, not published (`iam_policy` is a review-only kind): attach them where roles live.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration import images, names, observability, wiring
from compiler.orchestration.canonical import canonical_json
from compiler.orchestration.names import IAM_POLICY_KIND, Orchestration
from compiler.orchestration.stepfunctions import MACHINES

KIND = IAM_POLICY_KIND
# What running a Processing step takes (SageMaker Developer Guide, "IAM access management" for pipelines).
PROCESSING_STEP_ACTIONS = [
    "sagemaker:AddTags",
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
]
PIPELINES_POLICY = "sagemaker-pipelines"
PIPE_POLICY = "live-entry-pipe"
OUTCOME_RULE_POLICY = "live-outcome-rule"
SCHEDULER_POLICY = "schedules"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded


AUTOSCALING_ACTIONS = [
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:RegisterScalableTarget",
]
AUTOSCALING_DESCRIBE_ACTIONS = [
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
]
AUTOSCALING_SLR = (
    "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": sorted(set(resources))}


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


SID_SERVICES = {
    "dynamodb": "DynamoDB",
    "sagemaker": "SageMaker",
    "states": "States",
    "sqs": "Sqs",
    "s3": "S3",
    "sns": "Sns",
}
WRITE_BUCKETS = ("features", "models", "artifacts")


VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
]
KMS_VOLUME_ACTIONS = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"]


def _sid(action: str) -> str:
    service, api = action.split(":")
    return SID_SERVICES[service] + api


def _action(resource: str) -> tuple[str, str]:
    """`arn:aws:states:::[aws-sdk:]<service>:<apiAction>[.pattern]` -> (service, IAM action)."""
    service, api = resource.removeprefix("arn:aws:states:::").removeprefix("aws-sdk:").split(":", 1)
    api = api.split(".", 1)[0]
    return service, f"{service}:{api[0].upper()}{api[1:]}"


def _scope_calls(o: Orchestration, states: dict[str, Any], machine: str) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) of every call the states of one scope (and nested scopes) make."""
    calls: list[tuple[str, str]] = []
    started = [
        s["Arguments"]["PipelineName"]
        for s in states.values()
        if s["Type"] == "Task" and s["Resource"].endswith(":startPipelineExecution")
    ]
    for state in states.values():
        if state["Type"] == "Task":
            service, action = _action(state["Resource"])
            arguments = state["Arguments"]
            if service == "dynamodb":
                calls.append((action, o.table_arn(arguments["TableName"])))
            elif action == "sagemaker:StartPipelineExecution":
                calls.append((action, o.sagemaker_arn(f"pipeline/{arguments['PipelineName']}")))
            elif service == "sqs":
                # the QueueUrl is JSONata (the account comes from the machine's ARN): its queue is the last literal
                queue = arguments["QueueUrl"].rsplit("'/' & ", 1)[1].strip(' "%}')
                calls.append((action, o.queue_arn(queue)))
            elif action == "sns:Publish":
                calls.append((action, arguments["TopicArn"]))
            elif action == "sagemaker:DescribePipelineExecution":
                # the execution ARN is a run-time value: the pipelines this scope started
                calls += [(action, f"{o.sagemaker_arn(f'pipeline/{name}')}/execution/*") for name in started]
            else:
                raise ValueError(f"no IAM mapping for {state['Resource']}")
        if "ItemReader" in state:
            # the extractor writes its items file where the pipelines role may write (features/models/artifacts)
            calls += [("s3:GetObject", f"{o.bucket_arn(b)}/*") for b in WRITE_BUCKETS]
        inner = [state.get("ItemProcessor"), *state.get("Branches", [])]
        for scope in (s for s in inner if s):
            if scope.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
                calls.append(("states:StartExecution", o.state_machine_arn(machine)))
                executions = o.state_machine_executions_arn(machine)
                calls += [("states:DescribeExecution", executions), ("states:StopExecution", executions)]
            calls += _scope_calls(o, scope["States"], machine)
    return calls


def machine_policy(o: Orchestration, flow: str, definition: dict[str, Any]) -> dict[str, Any]:
    """The policy of a state machine's role: exactly the calls its compiled definition makes, plus what its
    tracing (always on) and its log delivery (when `orchestration.logging.log_group_arn` is set) take."""
    by_action: dict[str, set[str]] = {}
    for action, resource in _scope_calls(o, definition["States"], flow):
        by_action.setdefault(action, set()).add(resource)
    statements = [
        _statement(_sid(action), [action], sorted(resources)) for action, resources in sorted(by_action.items())
    ]
    statements.append(_statement("XRayTracing", observability.XRAY_ACTIONS, ["*"]))
    if observability.logging_configuration(o.environment)["level"] != "OFF":
        statements.append(_statement("LogDelivery", observability.LOG_DELIVERY_ACTIONS, ["*"]))
    return _policy(statements)


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
    write_buckets = list(WRITE_BUCKETS)
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
    role = str(env.get("roles.sagemaker_execution"))
    statements = [
        # The pipelines run their steps as processing jobs under this same role (CreatePipeline RoleArn and
        # each step's RoleArn): SageMaker creates, watches, stops and tags them, and passes the role on.
        _statement("RunProcessingSteps", PROCESSING_STEP_ACTIONS, [o.sagemaker_arn("processing-job/*")]),
        {
            "Sid": "PassRoleToProcessingJobs",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [role],
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        _statement("ListBuckets", ["s3:ListBucket"], [o.bucket_arn(b) for b in read_buckets]),
        _statement("ReadData", ["s3:GetObject"], [f"{o.bucket_arn(b)}/*" for b in read_buckets]),
        # DeleteObject: Spark's S3A output committer removes its temporary objects.
        _statement("WriteData", ["s3:DeleteObject", "s3:PutObject"], [f"{o.bucket_arn(b)}/*" for b in write_buckets]),
        {
            "Sid": "KeepRuntimeCode",
            "Effect": "Deny",
            "Action": ["s3:DeleteObject", "s3:PutObject"],
            "Resource": [f"{o.bucket_arn('artifacts')}/runtime/*"],
        },
        _statement(
            "ReadSpecs",
            ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"],
            [o.table_arn(tables["parameters"])],
        ),
        # Scan: the historical extractor finds a project's routes (the routing table is keyed by org).
        _statement(
            "ReadRoutes", ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], [o.table_arn(tables["routing"])]
        ),
        _statement("ReadCallbackTokens", ["dynamodb:GetItem"], [o.table_arn(tables["lock"])]),
        _statement(
            "ReportBackfillWindows",
            ["states:SendTaskFailure", "states:SendTaskSuccess"],
            [o.state_machine_arn(names.BACKFILL)],
        ),
        _statement(
            "Logs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            [o.arn("logs", "log-group:/aws/sagemaker/ProcessingJobs*")],
        ),
        _statement("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
    ]
    repositories = sorted(
        {arn for purpose in images.IMAGE_PROVIDES if (arn := _ecr_repository_arn(o, o.image_uri(purpose)))}
    )
    if repositories:
        statements.append(
            _statement(
                "PullImage",
                ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                repositories,
            )
        )
    if env.get("processing.subnets"):
        # Processing jobs in a VPC: SageMaker manages their network interfaces (these actions take no
        # resource-level permissions, hence `*`; SageMaker Developer Guide, "Give SageMaker Processing
        # Jobs Access to Resources in Your Amazon VPC").
        statements.append(_statement("ProcessingInVpc", VPC_ACTIONS, ["*"]))
    volume_key = env.get("processing.volume_kms_key_id")
    if volume_key:
        statements.append(_statement("EncryptProcessingVolumes", KMS_VOLUME_ACTIONS, [str(volume_key)]))
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
    # The model lifecycle steps (pipeline_model_publish / _attributes / _deploy): the registry and the model
    # and endpoint config a deployment creates. ListModelPackages takes no resource ARN (AWS's service
    # authorization reference), so it is granted on "*".
    statements.append(
        _statement(
            "ModelRegistry",
            [
                "sagemaker:CreateModelPackage",
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
            ],
            [o.sagemaker_arn("model-package-group/*"), o.sagemaker_arn("model-package/*")],
        )
    )
    statements.append(_statement("ListModelPackages", ["sagemaker:ListModelPackages"], ["*"]))
    statements.append(
        _statement(
            "ModelsAndEndpointConfigs",
            [
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateModel",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
            ],
            [o.sagemaker_arn("model/*"), o.sagemaker_arn("endpoint-config/*")],
        )
    )
    if any(item.job_name == "pipeline_model_deploy" and item.spec.get("autoscaling") for item in workspace.items):
        # pipeline_model_deploy's autoscaling (runtime/jobs/pipeline_model_deploy/autoscaling.py). Scalable
        # target ARNs carry generated ids (hence scalable-target/*) and the Describe actions take no resource
        # (Service Authorization Reference, Application Auto Scaling); the first registration creates
        # Application Auto Scaling's service-linked role for SageMaker endpoints.
        targets = o.arn("application-autoscaling", "scalable-target/*")
        statements.append(_statement("EndpointAutoscaling", AUTOSCALING_ACTIONS, [targets]))
        statements.append(_statement("DescribeAutoscaling", AUTOSCALING_DESCRIBE_ACTIONS, ["*"]))
        statements.append(
            _statement(
                "AutoscalingServiceLinkedRole",
                ["iam:CreateServiceLinkedRole"],
                [f"arn:{o.partition}:iam::{o.account}:role/aws-service-role/{AUTOSCALING_SLR}"],
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


def pipe_policy(o: Orchestration) -> dict[str, Any]:
    """The entry pipe's role: poll its SQS source and start the live state machine (EventBridge User Guide,
    "Amazon EventBridge Pipes permissions": the SQS source and Step Functions target policies)."""
    pipe = wiring.entry_pipe(o)
    return _policy(
        [
            _statement(
                "ReadEntryQueue",
                ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                [pipe["Source"]],
            ),
            _statement("StartLiveInference", ["states:StartExecution"], [pipe["Target"]]),
        ]
    )


def outcome_rule_policy(o: Orchestration) -> dict[str, Any]:
    """The live-outcome rule's role: start the live-outcome state machine (EventBridge User Guide, "Using IAM
    roles to invoke targets": Step Functions targets)."""
    return _policy(
        [_statement("StartLiveOutcome", ["states:StartExecution"], [o.state_machine_arn(names.LIVE_OUTCOME)])]
    )


def scheduler_policy(
    o: Orchestration, workspace: CompiledWorkspace, schedules: list[wiring.CompiledSchedule] | None = None
) -> dict[str, Any]:
    """The schedules' role: start the scheduled pipelines (the universal target calls the API as this role)
    and send what it could not deliver to the schedules' dead-letter queue."""
    flows = sorted({s.flow for s in (wiring.schedules(o, workspace) if schedules is None else schedules)})
    statements = [_statement("SendUndelivered", ["sqs:SendMessage"], [o.queue_arn(o.name(names.SCHEDULES_DLQ))])]
    if flows:
        pipelines = [o.pipeline_arn(flow) for flow in flows]
        statements.insert(0, _statement("StartScheduledPipelines", ["sagemaker:StartPipelineExecution"], pipelines))
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
    schedules = (
        wiring.schedules(o, workspace) if wiring.has_account(o) and wiring.has_role(o, "scheduler") else []
    )  # built once: the policy and its sources both read them
    schedule_sources = sorted({source for s in schedules for source in s.sources})
    policies = [
        *((o.name(flow), machine_policy(o, flow, build(o)), ("ndrc.yaml",)) for flow, (build, _) in MACHINES.items()),
        (o.name(PIPELINES_POLICY), pipelines, ("ndrc.yaml", *spec_sources)),
    ]
    if wiring.has_account(o) and wiring.has_role(o, "pipe"):
        policies.append((o.name(PIPE_POLICY), pipe_policy(o), ("ndrc.yaml",)))
    if wiring.has_account(o) and wiring.has_role(o, "events"):
        policies.append((o.name(OUTCOME_RULE_POLICY), outcome_rule_policy(o), ("ndrc.yaml",)))
    if wiring.has_account(o) and wiring.has_role(o, "scheduler"):
        sources = tuple(schedule_sources) or ("ndrc.yaml",)
        policies.append((o.name(SCHEDULER_POLICY), scheduler_policy(o, workspace, schedules), sources))
    return [
        Artifact(KIND, name, f"iam/{name}.policy.json", canonical_json(policy), sources)
        for name, policy, sources in policies
    ]
