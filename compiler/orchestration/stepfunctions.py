"""The live-inference and backfill state machines (JSONata ASL) as dicts.

The lock-and-start states are one function used twice (the live flow's top level and each backfill Map
item), the project checks another; expressions live in `expressions/*.jsonata`. Rules that keep the
expressions running on AWS and on the emulator:
- reference `$states...` before the first `/` operator of an expression;
- never the bare context `$` (use $map/$filter with named parameters);
- assign objects, not bare strings, to state variables.
"""

from __future__ import annotations

from typing import Any

from compiler.orchestration import asl
from compiler.orchestration import names as n
from compiler.orchestration.asl import State
from compiler.orchestration.canonical import json_literal
from compiler.orchestration.flows import (
    BATCH_PARAMETERS,
    CALLBACK_KEY_PREFIX,
    FLOWS_BY_KEY,
    MAX_CONTAINER_ARGUMENT,
    RESOURCE_FIELDS,
    Flow,
)
from compiler.orchestration.jsonata import Jsonata, expression, inline
from compiler.orchestration.names import Orchestration
from compiler.orchestration.wiring import ATTEMPT_ATTRIBUTE, ERROR_ATTRIBUTE, EXECUTION_ATTRIBUTE, MAX_DELAY_SECONDS
from runtime.contract import BATCH_KEY_LAYOUT, PROJECT_PARAMETERS_JOB

# 10000-01-01T00:00:00Z: $fromMillis has no year beyond 9999.
MAX_EPOCH_SECONDS = 253402300800
WINDOW_FIELDS = ("project_name", "mini_batch_id", "mini_batch_s3_prefix", "batch_start_ts_iso", "batch_end_ts_iso")
LOCK_KEY = "$states.input.lock_key"
# The lock item's status attribute: absent while held, LOCK_FAILED once its pipeline failed or was stopped.
LOCK_STATUS = "lock_status"
LOCK_FAILED = "failed"
# SageMaker's EventBridge event of a pipeline execution status change (SageMaker Developer Guide, "Events that
# Amazon SageMaker AI sends to Amazon EventBridge": SageMaker model building pipeline execution status change).
PIPELINE_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
PIPELINE_ENDED_BADLY = ("Failed", "Stopped")
# A distributed Map without ResultWriter returns its children's outputs as one array, within Step Functions'
# 256 KB state output quota: each window answers one word ("completed", "duplicate": 12 bytes with quotes and
# comma), so 20,000 windows take at most 240,000 bytes.
MAX_BACKFILL_WINDOWS = 20000
WINDOW_RESULT_BYTES = 12

# Throttling and transient service errors, under the names of both integration styles: optimized
# (`DynamoDB.<ErrorCode>`) and AWS SDK (`<Service>.<ExceptionClass>`, `<Service>.<Service>Exception`).
_BACKOFF: dict[str, Any] = {
    "IntervalSeconds": 1,
    "BackoffRate": 2.0,
    "MaxAttempts": 6,
    "MaxDelaySeconds": 20,
    "JitterStrategy": "FULL",
}
RETRY_DYNAMODB: list[dict[str, Any]] = [
    {
        "ErrorEquals": [
            "DynamoDB.ProvisionedThroughputExceededException",
            "DynamoDB.RequestLimitExceeded",
            "DynamoDB.ThrottlingException",
            "DynamoDB.InternalServerError",
        ],
        **_BACKOFF,
    }
]
RETRY_DYNAMODB_SDK: list[dict[str, Any]] = [
    {
        "ErrorEquals": [
            "DynamoDb.ProvisionedThroughputExceededException",
            "DynamoDb.RequestLimitExceededException",
            "DynamoDb.ThrottlingException",
            "DynamoDb.InternalServerErrorException",
        ],
        **_BACKOFF,
    }
]
# SendMessage is retried on any failure: a message sent twice (a lost response) is a duplicate the lock absorbs.
RETRY_SQS: list[dict[str, Any]] = [{"ErrorEquals": ["States.TaskFailed"], **_BACKOFF}]
RETRY_SAGEMAKER: list[dict[str, Any]] = [
    {
        "ErrorEquals": [
            "SageMaker.ThrottlingException",
            "SageMaker.ResourceLimitExceededException",
            "SageMaker.SageMakerException",
        ],
        **_BACKOFF,
    }
]


def _steps(flow: Flow) -> list[dict[str, str]]:
    return [{"job": step.job, "step": step.name} for step in flow.steps]


def _copy(value: Any) -> Any:
    """A fresh copy of a literal (the canonical writer does not care, but callers may mutate states)."""
    return [dict(v) for v in value] if isinstance(value, list) else value


# --- expressions shared by both machines -------------------------------------------------------------


def calendar_helpers() -> Jsonata:
    return expression("calendar_helpers")


def project(
    pinned: str, required_jobs: list[str], version_job: str = PROJECT_PARAMETERS_JOB, *, extractor: bool = False
) -> Jsonata:
    """The `project` variable computed from the project's Query result (see expressions/project.jsonata)."""
    extra = ""
    if extractor:
        extractor_steps = _steps(FLOWS_BY_KEY[n.BACKFILL_EXTRACTOR])
        extra = f", 'extractor_resources': $resources({json_literal(extractor_steps)}, $version)"
    return expression(
        "project",
        pinned=Jsonata(pinned),
        version_job=version_job,
        required_jobs=required_jobs,
        resource_parameters=expression(
            "resource_parameters",
            resource_fields=[{"field": field, "suffix": suffix} for field, suffix in RESOURCE_FIELDS],
        ),
        feature_steps=_steps(FLOWS_BY_KEY[n.FEATURE_15M]),
        extra_fields=Jsonata(extra),
    )


def window_context(window: str) -> Jsonata:
    """A window (JSONata) -> the input of the lock-and-start states."""
    parameters = ", ".join(f"{{'Name': {json_literal(name)}, 'Value': $w.{field}}}" for name, field in BATCH_PARAMETERS)
    return expression("window_context", window=Jsonata(window), batch_parameters=Jsonata(parameters))


# --- states shared by both machines ------------------------------------------------------------------


def project_rules() -> list[State]:
    return [
        asl.rule("$not($project.known)", "UnknownProject"),
        asl.rule("$not($project.has_defaults)", "MissingProjectDefaults"),
        asl.rule("$count($project.missing_jobs) > 0", "MissingJobSpecs"),
    ]


def lookup_failed() -> dict[str, State]:
    cause = "'DynamoDB lookup failed: ' & $states.input.Error & ': ' & $states.input.Cause"
    return {"LookupFailed": asl.fail("LookupFailed", cause)}


def project_failures(o: Orchestration) -> dict[str, State]:
    table = o.tables["parameters"]
    return {
        "UnknownProject": asl.fail(
            "UnknownProject",
            inline(
                "'project ' & $subject.project_name & ' has no items in table ' & #{table} & "
                "' (publish its specs first)'",
                table=table,
            ),
        ),
        "MissingProjectDefaults": asl.fail(
            "MissingProjectDefaults",
            inline(
                "'project ' & $subject.project_name & ': no spec.defaults in project_parameters#' & "
                "($exists($project.feature_spec_version) ? $project.feature_spec_version : '<version>') & "
                "' of table ' & #{table}",
                table=table,
            ),
        ),
        "MissingJobSpecs": asl.fail(
            "MissingJobSpecs",
            inline(
                "'project ' & $subject.project_name & ' has no spec for ' & $join($map($project.missing_jobs, "
                "function($j){ $j & '#' & $project.feature_spec_version }), ', ') & ' in table ' & #{table}",
                table=table,
            ),
        ),
    }


def query_project(o: Orchestration, next_state: str, project_expression: Jsonata) -> State:
    return asl.task(
        "arn:aws:states:::aws-sdk:dynamodb:query",
        comment="One Query: every item of the project, projected to what orchestration reads.",
        arguments={
            "TableName": o.tables["parameters"],
            "KeyConditionExpression": "#project_name = :project_name",
            "ProjectionExpression": (
                "#job_name, #pipeline_defaults, #spec.#defaults, #spec.#processing, #parameters.#defaults"
            ),
            "ExpressionAttributeNames": {
                "#project_name": "project_name",
                "#job_name": "job_name",
                "#pipeline_defaults": "pipeline_defaults",
                "#spec": "spec",
                "#parameters": "parameters",
                "#defaults": "defaults",
                "#processing": "processing",
            },
            "ExpressionAttributeValues": {":project_name": {"S": asl.field("$subject.project_name")}},
        },
        retry=_copy(RETRY_DYNAMODB_SDK),
        catches=[asl.catch("LookupFailed")],
        assigns=asl.assign(project=project_expression),
        output={},
        next_state=next_state,
    )


def release_lock(o: Orchestration, state_name: str, next_state: str) -> dict[str, State]:
    return {
        state_name: asl.task(
            "arn:aws:states:::dynamodb:deleteItem",
            comment="Delete the lock this execution took, so the window can be retried.",
            arguments={
                "TableName": o.tables["lock"],
                "Key": {n.LOCK_KEY_ATTRIBUTE: {"S": asl.field(LOCK_KEY)}},
                "ConditionExpression": "#execution_arn = :execution_arn",
                "ExpressionAttributeNames": {"#execution_arn": "execution_arn"},
                "ExpressionAttributeValues": {":execution_arn": {"S": asl.field("$states.context.Execution.Id")}},
            },
            retry=_copy(RETRY_DYNAMODB),
            catches=[asl.catch(next_state, "$states.input")],
            output="$states.input",
            next_state=next_state,
        )
    }


def lock_and_start(
    o: Orchestration, after_start: str | None = None, duplicate_output: str | None = None
) -> dict[str, State]:
    """AcquireLock -> StartPipeline (-> `after_start`, else the end); Duplicate; a failed start releases
    the lock this execution holds (a redelivered event can retry) and fails in PipelineStartFailed.
    Input: a window context (`window_context`)."""
    feature_pipeline = o.name(n.FEATURE_15M)
    return {
        "AcquireLock": asl.task(
            "arn:aws:states:::dynamodb:putItem",
            comment="Conditional write on (project, version, start, end): the first execution of a window wins.",
            arguments={
                "TableName": o.tables["lock"],
                "Item": asl.field(
                    expression(
                        "lock_item",
                        key_attribute=n.LOCK_KEY_ATTRIBUTE,
                        ttl_attribute=n.LOCK_TTL_ATTRIBUTE,
                        ttl_seconds=o.setting("lock_ttl_days") * 86400,
                    )
                ),
                # a lock marked failed by the live-outcome machine (its pipeline failed) may be taken again
                "ConditionExpression": "attribute_not_exists(#lock_key) OR #lock_status = :failed",
                "ExpressionAttributeNames": {"#lock_key": n.LOCK_KEY_ATTRIBUTE, "#lock_status": LOCK_STATUS},
                "ExpressionAttributeValues": {":failed": {"S": LOCK_FAILED}},
            },
            retry=_copy(RETRY_DYNAMODB),
            catches=[
                asl.catch(
                    "Duplicate",
                    f"{{'status': 'duplicate', 'lock_key': {LOCK_KEY}}}",
                    errors=("DynamoDB.ConditionalCheckFailedException",),
                ),
                asl.catch("LockFailed"),
            ],
            output="$states.input",
            next_state="StartPipeline",
        ),
        "Duplicate": asl.succeed(
            comment="The window was started before (redelivery, producer retry or overlapping backfill).",
            output=duplicate_output,
        ),
        "LockFailed": asl.fail(
            "LockFailed",
            inline(
                "'could not write the lock item to table ' & #{table} & ': ' & $states.input.Error & ': ' & "
                "$states.input.Cause",
                table=o.tables["lock"],
            ),
        ),
        "StartPipeline": asl.task(
            "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution",
            comment="Start the 15-minute pipeline with the window's parameters.",
            arguments={
                "PipelineName": feature_pipeline,
                "PipelineParameters": asl.field("$states.input.pipeline_parameters"),
                "PipelineExecutionDescription": asl.field(
                    f"$states.input.source & ' ' & {LOCK_KEY} & ' by ' & $states.context.Execution.Id"
                ),
                "ClientRequestToken": asl.field(
                    client_request_token(
                        "$states.input.source", "$states.input.batch_start_ts_iso", "$states.context.Execution.Name"
                    )
                ),
            },
            retry=_copy(RETRY_SAGEMAKER),
            catches=[asl.catch("ReleaseLock", "$merge([$states.input, {'error': $states.errorOutput}])")],
            output=(
                f"$merge([$states.input, {{'status': 'started', 'lock_key': {LOCK_KEY}, "
                "'pipeline_execution_arn': $states.result.PipelineExecutionArn}])"
            ),
            next_state=after_start,
        ),
        **release_lock(o, "ReleaseLock", "PipelineStartFailed"),
        "PipelineStartFailed": asl.fail(
            "PipelineStartFailed",
            inline(
                f"'could not start pipeline ' & #{{pipeline}} & ' for ' & {LOCK_KEY} & ' (lock released): ' & "
                "$states.input.error.Error & ': ' & $states.input.error.Cause",
                pipeline=feature_pipeline,
            ),
        ),
    }


# --- the machines ------------------------------------------------------------------------------------


CALLBACK_KEY = f"{json_literal(CALLBACK_KEY_PREFIX)} & $states.context.Execution.Name"


def client_request_token(*parts: str) -> str:
    """A StartPipelineExecution ClientRequestToken (32-128 characters) that is the same on every retry of
    the call within one execution: a retried start after a lost response cannot start a second pipeline.
    An execution name (at most 80 characters, unique per state machine) plus what the call starts."""
    joined = " & '-' & ".join(("'ndrc'", *parts))
    return f"$substring($pad({joined}, 32, '-'), 0, 128)"


def _max_polls(o: Orchestration, seconds_setting: str) -> int:
    poll = o.setting("pipeline_poll_seconds")
    return max(1, -(-o.setting(seconds_setting) // poll))


def pipeline_status_choice(
    o: Orchestration, wait_setting: str, *, succeeded: str, ended: str, exceeded: str, running: str
) -> State:
    """The Choice of a pipeline polling loop, after DescribePipelineExecution stored `pipeline_status` and
    counted `polls`: Succeeded, Failed/Stopped, too many polls for the `wait_setting` budget, else wait."""
    return asl.choice(
        [
            asl.rule("$states.input.pipeline_status = 'Succeeded'", succeeded),
            asl.rule("$states.input.pipeline_status in ['Failed', 'Stopped']", ended),
            asl.rule(f"$states.input.polls >= {_max_polls(o, wait_setting)}", exceeded),
        ],
        running,
    )


def run_extractor(o: Orchestration) -> State:
    """Two branches of one Parallel state. AwaitWindows stores this task's token in the lock table under a
    short callback key and waits for the extractor's SendTaskSuccess {"windows": [...]}; StartExtractor
    starts the extractor pipeline with that key and watches it, so a pipeline that fails before its code
    can report (image pull, capacity, a rejected request) fails the backfill at the next poll instead of
    after the whole timeout. A failed branch fails the Parallel state (and stops the other)."""
    extractor_pipeline = o.name(n.BACKFILL_EXTRACTOR)
    timeout = o.setting("extractor_timeout_seconds")
    await_windows = asl.task(
        "arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken",
        comment="Store this task's token under the callback key; the extractor reads it and reports the windows.",
        timeout_seconds=timeout,
        arguments={
            "TableName": o.tables["lock"],
            "Item": {
                n.LOCK_KEY_ATTRIBUTE: {"S": asl.field(CALLBACK_KEY)},
                n.LOCK_TASK_TOKEN_ATTRIBUTE: {"S": asl.field("$states.context.Task.Token")},
                "execution_arn": {"S": asl.field("$states.context.Execution.Id")},
                n.LOCK_TTL_ATTRIBUTE: {"N": asl.field(f"$string($floor($millis() / 1000) + {timeout + 86400})")},
            },
        },
        retry=_copy(RETRY_DYNAMODB_SDK),
        output="{'extracted': $states.result}",
    )
    start_extractor = asl.task(
        "arn:aws:states:::aws-sdk:sagemaker:startPipelineExecution",
        comment="Start the extractor pipeline with the callback key (never the token itself).",
        arguments={
            "PipelineName": extractor_pipeline,
            "PipelineExecutionDescription": asl.field(
                "'backfill ' & $states.input.subject.project_name & ' ' & $states.input.subject.start_date & '..' "
                "& $states.input.subject.end_date & ' by ' & $states.context.Execution.Id"
            ),
            "PipelineParameters": asl.field(expression("extractor_parameters", callback_key=Jsonata(CALLBACK_KEY))),
            "ClientRequestToken": asl.field(client_request_token("'extractor'", "$states.context.Execution.Name")),
        },
        retry=_copy(RETRY_SAGEMAKER),
        output="{'pipeline_execution_arn': $states.result.PipelineExecutionArn, 'polls': 0}",
        next_state="WatchExtractor",
    )
    watch: dict[str, State] = {
        "StartExtractor": start_extractor,
        "WatchExtractor": asl.task(
            "arn:aws:states:::aws-sdk:sagemaker:describePipelineExecution",
            arguments={"PipelineExecutionArn": asl.field("$states.input.pipeline_execution_arn")},
            retry=_copy(RETRY_SAGEMAKER),
            output=(
                "{'pipeline_execution_arn': $states.input.pipeline_execution_arn, "
                "'pipeline_status': $states.result.PipelineExecutionStatus, 'polls': $states.input.polls + 1}"
            ),
            next_state="ExtractorStatus",
        ),
        "ExtractorStatus": pipeline_status_choice(
            o,
            "extractor_timeout_seconds",
            succeeded="ExtractorEnded",
            ended="ExtractorPipelineFailed",
            exceeded="ExtractorWaitExceeded",
            running="WaitForExtractor",
        ),
        "WaitForExtractor": asl.wait(o.setting("pipeline_poll_seconds"), "WatchExtractor"),
        "ExtractorEnded": asl.succeed(comment="The windows arrive through the token (the other branch)."),
        "ExtractorPipelineFailed": asl.fail(
            "ExtractorPipelineFailed",
            "'extractor pipeline execution ' & $states.input.pipeline_execution_arn & ' ended ' & "
            "$states.input.pipeline_status",
        ),
        "ExtractorWaitExceeded": asl.fail(
            "ExtractorWaitExceeded",
            "'extractor pipeline execution ' & $states.input.pipeline_execution_arn & ' still ' & "
            "$states.input.pipeline_status & ' after ' & $string($states.input.polls) & ' polls'",
        ),
    }
    return asl.parallel(
        [asl.branch("AwaitWindows", {"AwaitWindows": await_windows}), asl.branch("StartExtractor", watch)],
        "CheckWindows",
        comment="Wait for the extractor's windows (task token) while watching its pipeline.",
        arguments="{'subject': $subject, 'resources': $project.extractor_resources}",
        catches=[asl.catch("ExtractorFailed")],
        assigns=asl.assign(extracted=expression("extracted_windows")),
        output="{'windows': $states.result[0].extracted.count}",
    )


def _feature_jobs() -> list[str]:
    return [PROJECT_PARAMETERS_JOB, *FLOWS_BY_KEY[n.FEATURE_15M].required_jobs]


def live_machine(o: Orchestration) -> dict[str, Any]:
    """One execution per producer event {bucket?, s3_key, timestamp}: ParseEvent -> CheckEvent -> GetRoute
    -> QueryProject -> CheckProject -> AcquireLock -> StartPipeline (7 transitions; a duplicate ends in
    AcquireLock -> Duplicate, also 7). The event is parsed once, by a Pass state, into `$subject`: a Choice
    cannot bind a value for its own conditions, so parsing in the Choice meant evaluating (and shipping)
    the 3.6 KB expression once per condition, once for the variable and once per failure cause."""
    event = expression(
        "event",
        entry=expression("entry", attempt_attribute=ATTEMPT_ATTRIBUTE),
        calendar_helpers=calendar_helpers(),
        ingestion_bucket=o.ingestion_bucket,
        floor_minutes=list(n.WINDOW_FLOOR_MINUTES),
        max_argument=MAX_CONTAINER_ARGUMENT,
        max_epoch_seconds=MAX_EPOCH_SECONDS,
    )
    routing = o.tables["routing"]
    live_window = inline(
        "$merge([$sift($subject, function($v, $k){ $k in #{fields} }), "
        "{'feature_spec_version': $project.feature_spec_version, 'source': 'live'}])",
        fields=list(WINDOW_FIELDS),
    )
    states: dict[str, State] = {
        "ParseEvent": asl.pass_state(
            "CheckEvent",
            comment="Derive org1/org2/project/mini-batch from the key and the window from the timestamp (once).",
            assigns=asl.assign(subject=event),
        ),
        "CheckEvent": asl.choice(
            [
                asl.rule("$exists($subject.ignore)", "Ignored"),
                asl.rule("$exists($subject.event_problem)", "InvalidEvent"),
                asl.rule("$exists($subject.problem)", "InvalidBatchKey"),
                asl.rule("$exists($subject.timestamp_problem)", "InvalidTimestamp"),
            ],
            "GetRoute",
        ),
        "Ignored": asl.succeed(
            comment="Not a batch event: s3:TestEvent (sent when a notification is configured) or not a creation.",
            output="{'status': 'ignored', 'reason': $subject.ignore}",
        ),
        "InvalidEvent": asl.fail("InvalidEvent", "$subject.event_problem"),
        "InvalidBatchKey": asl.fail(
            "InvalidBatchKey",
            f"'S3 key ' & $string($subject.s3_key) & ' does not fit the batch layout {BATCH_KEY_LAYOUT}: ' & "
            "$subject.problem",
        ),
        "InvalidTimestamp": asl.fail("InvalidTimestamp", "$subject.timestamp_problem"),
        "GetRoute": asl.task(
            "arn:aws:states:::dynamodb:getItem",
            comment="The routing item of <org1>#<org2>: pins the feature spec version, may disable the path.",
            arguments={"TableName": routing, "Key": {"org_key": {"S": asl.field("$subject.org_key")}}},
            retry=_copy(RETRY_DYNAMODB),
            catches=[asl.catch("LookupFailed")],
            assigns=asl.assign(route="$exists($states.result.Item) ? $states.result.Item : {}"),
            output={},
            next_state="QueryProject",
        ),
        "QueryProject": query_project(o, "CheckProject", project("$route.feature_spec_version.S", _feature_jobs())),
        "CheckProject": asl.choice(
            [
                asl.rule("$route.enabled.BOOL = false", "RouteDisabled"),
                asl.rule(
                    "$exists($route.project_name.S) and $route.project_name.S != $subject.project_name",
                    "RouteProjectMismatch",
                ),
                *project_rules(),
            ],
            "AcquireLock",
            output=window_context(live_window),
        ),
        "RouteDisabled": asl.fail(
            "RouteDisabled",
            inline("'ingestion route ' & $subject.org_key & ' is disabled in table ' & #{table}", table=routing),
        ),
        "RouteProjectMismatch": asl.fail(
            "RouteProjectMismatch",
            "'ingestion route ' & $subject.org_key & ' belongs to project ' & $route.project_name.S & "
            "', but the key names project ' & $subject.project_name",
        ),
        **lookup_failed(),
        **project_failures(o),
        **lock_and_start(o),
    }
    states = with_redrive(o, states)
    comment = (
        f"Live inference for {o.environment.name}: S3 batch event (direct, or an SQS record of the entry pipe) "
        f"-> identity, defaults, window -> lock -> 15-minute pipeline {o.name(n.FEATURE_15M)}; a failed queued "
        "event is requeued (transient) or dead-lettered. Compiled by ndrc; do not edit."
    )
    return asl.state_machine(comment, "ParseEvent", states)


# Failures worth another attempt later (DynamoDB or SageMaker trouble); every other failure is the event's.
TRANSIENT_FAILURES = ("LookupFailed", "LockFailed", "PipelineStartFailed")


def _redirect(target: dict[str, Any], failures: set[str]) -> None:
    """A transition to a failure -> to `Redeliver`, remembering which failure in `$failure`."""
    if target.get("Next") in failures:
        failure = target["Next"]
        target["Next"] = "Redeliver"
        target["Assign"] = {**target.get("Assign", {}), "failure": asl.field(f"{{'state': {json_literal(failure)}}}")}


def with_redrive(o: Orchestration, states: dict[str, State]) -> dict[str, State]:
    """The entry pipe starts this STANDARD machine fire-and-forget: the message is gone once the execution
    starts, so the machine is its own redrive path. Every transition into a Fail state first passes
    `Redeliver`: an event that came from the queue is sent back to it with a delay (transient failures,
    up to `entry_max_attempts`) or to the dead-letter queue (the event's own failures, attempts used up),
    then the execution fails in its named state as before. A direct execution (no message) just fails."""
    failures = {name for name, state in states.items() if state["Type"] == "Fail"}
    for state in states.values():
        _redirect(state, failures)
        for rule in [*state.get("Choices", []), *state.get("Catch", [])]:
            _redirect(rule, failures)
    entry_queue, dead_letter = o.name(n.LIVE_ENTRY), o.name(n.LIVE_ENTRY_DLQ)
    max_attempts = o.setting("entry_max_attempts")
    attempt = "$subject.message.attempt"

    def send(queue: str, extra: dict[str, Any]) -> dict[str, Any]:
        # The account comes from the machine's own ARN: the definition does not depend on account_id.
        queue_url = inline(
            "'https://sqs.' & #{region} & '.' & #{domain} & '/' & "
            "$split($states.context.StateMachine.Id, ':')[4] & '/' & #{queue}",
            region=o.environment.region,
            domain="amazonaws.com.cn" if o.partition == "aws-cn" else "amazonaws.com",
            queue=queue,
        )
        return {
            "QueueUrl": asl.field(queue_url),
            "MessageBody": asl.field("$subject.message.body"),
            **extra,
        }

    attributes = {
        EXECUTION_ATTRIBUTE: {"DataType": "String", "StringValue": asl.field("$states.context.Execution.Id")},
        ERROR_ATTRIBUTE: {"DataType": "String", "StringValue": asl.field("$failure.state")},
    }
    redeliver: dict[str, State] = {
        "Redeliver": asl.choice(
            [
                asl.rule("$not($exists($subject.message))", "Failed"),
                asl.rule(
                    f"$failure.state in {json_literal(list(TRANSIENT_FAILURES))} and {attempt} < {max_attempts}",
                    "Requeue",
                ),
            ],
            "DeadLetter",
            comment="A queued event: requeue it (transient failure, attempts left) or dead-letter it.",
        ),
        "Requeue": asl.task(
            "arn:aws:states:::sqs:sendMessage",
            comment=f"Back to {entry_queue}, delayed 60 s x 2^(attempt - 1) (at most {MAX_DELAY_SECONDS} s).",
            arguments=send(
                entry_queue,
                {
                    "DelaySeconds": asl.field(f"$min([{MAX_DELAY_SECONDS}, 60 * $power(2, {attempt} - 1)])"),
                    "MessageAttributes": {
                        **attributes,
                        ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": asl.field(f"$string({attempt} + 1)")},
                    },
                },
            ),
            retry=_copy(RETRY_SQS),
            catches=[asl.catch("DeadLetter", "$states.input")],
            output="$states.input",
            next_state="Failed",
        ),
        "DeadLetter": asl.task(
            "arn:aws:states:::sqs:sendMessage",
            comment=f"To {dead_letter}: replay it after a fix with SQS's dead-letter queue redrive.",
            arguments=send(
                dead_letter,
                {
                    "MessageAttributes": {
                        **attributes,
                        ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": asl.field(f"$string({attempt})")},
                    }
                },
            ),
            retry=_copy(RETRY_SQS),
            catches=[asl.catch("Failed", "$states.input")],
            output="$states.input",
            next_state="Failed",
        ),
        "Failed": asl.choice(
            [asl.rule(f"$failure.state = {json_literal(name)}", name) for name in sorted(failures)],
            sorted(failures)[0],
            comment="End in the named Fail state the failure was headed for.",
        ),
    }
    return {**states, **redeliver}


def backfill_machine(o: Orchestration) -> dict[str, Any]:
    """Starts the historical extractor with this task's token, waits for its SendTaskSuccess
    {"windows": [...]}, then a distributed Map runs the lock-and-start states for every window (bounded
    concurrency) and waits for each pipeline, so `max_concurrency` bounds the pipelines running at once."""
    extractor_flow = FLOWS_BY_KEY[n.BACKFILL_EXTRACTOR]
    extractor_pipeline = o.name(n.BACKFILL_EXTRACTOR)
    request = expression(
        "backfill_request",
        calendar_helpers=calendar_helpers(),
        max_concurrency=o.setting("backfill_max_concurrency"),
        max_concurrency_limit=o.setting("backfill_max_concurrency_limit"),
        max_argument=MAX_CONTAINER_ARGUMENT,
    )
    window_problem = expression(
        "window_problem", window_fields=list(WINDOW_FIELDS), max_argument=MAX_CONTAINER_ARGUMENT
    )
    extractor_jobs = [PROJECT_PARAMETERS_JOB, *extractor_flow.required_jobs, *FLOWS_BY_KEY[n.FEATURE_15M].required_jobs]
    item_states: dict[str, State] = {
        "CheckWindow": asl.choice(
            [asl.rule(f"$exists({window_problem})", "InvalidWindow")],
            "AcquireLock",
            output="$states.input.window",
        ),
        "InvalidWindow": asl.fail("InvalidWindow", window_problem),
        **lock_and_start(o, after_start="CheckPipeline", duplicate_output="'duplicate'"),
        "CheckPipeline": asl.task(
            "arn:aws:states:::aws-sdk:sagemaker:describePipelineExecution",
            arguments={"PipelineExecutionArn": asl.field("$states.input.pipeline_execution_arn")},
            retry=_copy(RETRY_SAGEMAKER),
            catches=[
                asl.catch(
                    "ReleaseLockAfterFailure",
                    "$merge([$states.input, {'pipeline_status': 'unknown (' & $states.errorOutput.Error & ')'}])",
                )
            ],
            output=(
                "$merge([$states.input, {'pipeline_status': $states.result.PipelineExecutionStatus, "
                "'polls': ($exists($states.input.polls) ? $states.input.polls : 0) + 1}])"
            ),
            next_state="PipelineStatus",
        ),
        "PipelineStatus": pipeline_status_choice(
            o,
            "pipeline_max_wait_seconds",
            succeeded="WindowDone",
            ended="ReleaseLockAfterFailure",
            exceeded="PipelineWaitExceeded",
            running="WaitForPipeline",
        ),
        "PipelineWaitExceeded": asl.fail(
            "PipelineWaitExceeded",
            "'pipeline execution ' & $states.input.pipeline_execution_arn & ' still ' & $states.input.pipeline_status "
            "& ' after ' & $string($states.input.polls) & ' polls (lock kept: the pipeline may still finish)'",
        ),
        "WaitForPipeline": asl.wait(o.setting("pipeline_poll_seconds"), "CheckPipeline"),
        "WindowDone": asl.succeed(output="'completed'"),
        **release_lock(o, "ReleaseLockAfterFailure", "PipelineFailed"),
        "PipelineFailed": asl.fail(
            "PipelineFailed",
            "'pipeline execution ' & $states.input.pipeline_execution_arn & ' ended ' & $states.input.pipeline_status "
            "& ' (lock released: a new backfill retries the window)'",
        ),
    }
    process_windows = asl.distributed_map(
        None,
        asl.branch("CheckWindow", item_states),
        "CheckWindowResults",
        comment=(
            "Each window: the same lock-and-start states as the live flow, then wait for its pipeline. The windows "
            "are read from the extractor's items file (ItemReader): no list passes through SendTaskSuccess or a "
            "variable. Each child's output is one short word, so the result array of MAX_BACKFILL_WINDOWS fits the "
            "256 KB state output quota (moto 5.2.5 cannot parse a JSONata ResultWriter)."
        ),
        item_reader={
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Arguments": {"Bucket": asl.field("$extracted.bucket"), "Key": asl.field("$extracted.key")},
        },
        item_selector={"window": asl.field(window_context(expression("backfill_window")))},
        max_concurrency="$subject.max_concurrency",
        catches=[asl.catch("WindowsFailed")],
        output=expression("window_results"),
    )
    states: dict[str, State] = {
        "ParseRequest": asl.pass_state(
            "CheckRequest",
            comment="Validate the request and fill its defaults (once).",
            assigns=asl.assign(subject=request),
        ),
        "CheckRequest": asl.choice([asl.rule("$exists($subject.problem)", "InvalidBackfillRequest")], "QueryProject"),
        "InvalidBackfillRequest": asl.fail("InvalidBackfillRequest", "$subject.problem"),
        "QueryProject": query_project(
            o,
            "CheckProject",
            project("$subject.feature_spec_version", extractor_jobs, extractor_flow.steps[0].job, extractor=True),
        ),
        "CheckProject": asl.choice(project_rules(), "RunExtractor"),
        **lookup_failed(),
        **project_failures(o),
        "RunExtractor": run_extractor(o),
        "ExtractorFailed": asl.fail(
            "ExtractorFailed",
            inline(
                "'historical extractor ' & #{pipeline} & ' failed: ' & $states.input.Error & ': ' & "
                "$states.input.Cause",
                pipeline=extractor_pipeline,
            ),
        ),
        "CheckWindows": asl.choice(
            [
                asl.rule("$exists($extracted.problem)", "InvalidExtractorOutput"),
                asl.rule("$extracted.count = 0", "NoWindows"),
                asl.rule(f"$extracted.count > {MAX_BACKFILL_WINDOWS}", "TooManyWindows"),
            ],
            "ProcessWindows",
        ),
        "TooManyWindows": asl.fail(
            "TooManyWindows",
            f"'the extractor found ' & $string($extracted.count) & ' windows; one backfill runs at most "
            f"{MAX_BACKFILL_WINDOWS} (its results must fit the 256 KB state output): split the date range'",
        ),
        "InvalidExtractorOutput": asl.fail("InvalidExtractorOutput", "$extracted.problem"),
        "NoWindows": asl.succeed(comment="Nothing to process in the date range."),
        "ProcessWindows": process_windows,
        "CheckWindowResults": asl.choice(
            [asl.rule("$states.input.failed > 0", "WindowsFailed")],
            "BackfillDone",
            comment="Every window completed or was a duplicate (defence in depth: the Map tolerates no failure).",
        ),
        "BackfillDone": asl.succeed(),
        "WindowsFailed": asl.fail(
            "WindowsFailed",
            "'backfill windows failed (windows already started keep their locks; re-running the backfill retries "
            "the rest): ' & ($exists($states.input.failed) ? $string($states.input.failed) & ' of ' & "
            "$string($states.input.windows) & ' windows failed' : $states.input.Error & ': ' & $states.input.Cause)",
        ),
    }
    comment = (
        f"Backfill for {o.environment.name}: historical extractor {extractor_pipeline} (task token) -> per window "
        f"lock -> 15-minute pipeline {o.name(n.FEATURE_15M)}. Compiled by ndrc; do not edit."
    )
    return asl.state_machine(comment, "ParseRequest", states)


def outcome_machine(o: Orchestration) -> dict[str, Any]:
    """Started by the EventBridge rule `<prefix>live-outcome` with SageMaker's status-change event of a failed or
    stopped `<prefix>feature-15m` execution. The execution's description (set by `StartPipeline`:
    `<source> <lock_key> by <execution ARN>`) names the lock and who took it; the lock item is marked
    `lock_status = failed` only if that execution still holds it, so a redelivered event (live) or a re-run
    (backfill) may take the window again; then an alert goes to `orchestration.alert_topic_arn` (if set).
    ParseOutcome -> CheckOutcome -> MarkLockFailed [-> Alert]; anything else ends in Ignored / NotHeld."""
    topic = o.environment.get("orchestration.alert_topic_arn")
    parse = inline(
        "( $d := $states.input.detail; $description := $d.pipelineExecutionDescription; "
        "$rest := $substringAfter($description, ' '); "
        "{'status': $d.currentPipelineExecutionStatus, 'pipeline_execution_arn': $d.pipelineExecutionArn, "
        "'lock_key': $substringBefore($rest, ' by '), 'execution_arn': $substringAfter($rest, ' by '), "
        "'ndrc': $type($description) = 'string' and $contains($description, ' by arn:') and "
        "$lowercase($d.pipelineArn) = #{pipeline}} )",
        pipeline=o.pipeline_arn(n.FEATURE_15M).lower(),
    )
    marked = "$merge([$outcome, {'lock': 'marked failed'}])"
    states: dict[str, State] = {
        "ParseOutcome": asl.pass_state(
            "CheckOutcome",
            comment="The status-change event -> status, lock key and the execution that took the lock.",
            assigns=asl.assign(outcome=parse),
        ),
        "CheckOutcome": asl.choice(
            [
                asl.rule(
                    f"$outcome.ndrc and $outcome.status in {json_literal(list(PIPELINE_ENDED_BADLY))}", "MarkLockFailed"
                )
            ],
            "Ignored",
        ),
        "Ignored": asl.succeed(comment="Not a failed or stopped execution that ndrc started: nothing to do."),
        "MarkLockFailed": asl.task(
            "arn:aws:states:::dynamodb:updateItem",
            comment="Mark the window's lock failed, only while the execution that started this pipeline holds it.",
            arguments={
                "TableName": o.tables["lock"],
                "Key": {n.LOCK_KEY_ATTRIBUTE: {"S": asl.field("$outcome.lock_key")}},
                "UpdateExpression": "SET #lock_status = :failed, #failed_at = :now, "
                "#pipeline_execution_arn = :pipeline, #pipeline_status = :status",
                "ConditionExpression": "#execution_arn = :execution_arn AND "
                "(attribute_not_exists(#lock_status) OR #lock_status <> :failed)",
                "ExpressionAttributeNames": {
                    "#lock_status": LOCK_STATUS,
                    "#failed_at": "failed_at",
                    "#pipeline_execution_arn": "pipeline_execution_arn",
                    "#pipeline_status": "pipeline_status",
                    "#execution_arn": "execution_arn",
                },
                "ExpressionAttributeValues": {
                    ":failed": {"S": LOCK_FAILED},
                    ":now": {"S": asl.field("$now()")},
                    ":pipeline": {"S": asl.field("$outcome.pipeline_execution_arn")},
                    ":status": {"S": asl.field("$outcome.status")},
                    ":execution_arn": {"S": asl.field("$outcome.execution_arn")},
                },
            },
            retry=_copy(RETRY_DYNAMODB),
            catches=[
                asl.catch("NotHeld", "$outcome", errors=("DynamoDB.ConditionalCheckFailedException",)),
                asl.catch("MarkFailed"),
            ],
            output=marked,
            next_state="Alert" if topic else None,
        ),
        "NotHeld": asl.succeed(
            comment="No lock of that execution to mark: released by the backfill, expired, taken again by a newer "
            "execution, or already marked (EventBridge delivers at least once).",
        ),
        "MarkFailed": asl.fail(
            "MarkFailed",
            inline(
                "'could not mark the lock in table ' & #{table} & ': ' & $states.input.Error & ': ' & "
                "$states.input.Cause",
                table=o.tables["lock"],
            ),
        ),
    }
    if topic:
        states["Alert"] = asl.task(
            "arn:aws:states:::sns:publish",
            comment="Tell the operators: the window's lock is released for a retry, the window has no features yet.",
            arguments={
                "TopicArn": str(topic),
                "Subject": asl.field(
                    inline(
                        "#{title} & ' ' & $outcome.status", title=f"ndrc {o.environment.name}: {o.name(n.FEATURE_15M)}"
                    )
                ),
                "Message": asl.field(
                    "$string({'pipeline_execution_arn': $outcome.pipeline_execution_arn, 'status': $outcome.status, "
                    "'lock_key': $outcome.lock_key, 'started_by': $outcome.execution_arn, "
                    "'lock': 'marked failed: a redelivered event or a backfill re-run may start the window again'})"
                ),
            },
            retry=[{"ErrorEquals": ["States.TaskFailed"], **_BACKOFF}],
            output=marked,
        )
    comment = (
        f"Outcome of {o.name(n.FEATURE_15M)} for {o.environment.name}: a failed or stopped execution marks its "
        "window's lock failed (so the window can be started again) and alerts. Started by the EventBridge rule "
        f"{o.name(n.LIVE_OUTCOME)}. Compiled by ndrc; do not edit."
    )
    return asl.state_machine(comment, "ParseOutcome", states)


MACHINES = {
    n.LIVE: (live_machine, "live"),
    n.BACKFILL: (backfill_machine, "backfill"),
    n.LIVE_OUTCOME: (outcome_machine, "outcome"),
}
