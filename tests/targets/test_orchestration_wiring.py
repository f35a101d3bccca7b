"""The compiled wiring: every document is a valid request of its AWS API, every pipeline has a starter,
schedules follow the specs and ndrc.yaml. moto accepts much more than AWS: botocore's own service models
(the shapes AWS publishes) validate each document here."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from compiler.compilation.compile import CompileResult
from compiler.model import EnvironmentConfig
from compiler.orchestration.flows import FLOWS_BY_KEY
from compiler.orchestration.names import Orchestration
from compiler.orchestration.wiring import MAX_DELAY_SECONDS, SCHEDULE_TARGET, schedules
from compiler.targets import wiring

SESSION = botocore.session.get_session()
OPERATIONS = {
    "sqs_queue": ("sqs", "CreateQueue"),
    "sns_subscription": ("sns", "Subscribe"),
    "pipe": ("pipes", "CreatePipe"),
    "schedule": ("scheduler", "CreateSchedule"),
}
SCHEDULED_TIME = "2025-03-01T00:30:00Z"


def _valid(service: str, operation: str, document: dict[str, Any]) -> None:
    shape = SESSION.get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(document, shape)
    assert not report.has_errors(), f"{service}.{operation}: {report.generate_report()}"


def _documents(build: CompileResult, kind: str) -> list[dict[str, Any]]:
    return [json.loads(a.content) for a in build.artifacts if a.kind == kind]


@pytest.mark.parametrize("env", ["local", "prod"])
def test_every_wiring_document_is_a_valid_request_of_its_api(builds: dict[str, CompileResult], env: str) -> None:
    for kind, (service, operation) in OPERATIONS.items():
        documents = _documents(builds[env], kind)
        assert documents, kind
        for document in documents:
            _valid(service, operation, document)


@pytest.mark.parametrize("env", ["local", "prod"])
def test_schedule_inputs_are_valid_start_pipeline_execution_requests(
    builds: dict[str, CompileResult], env: str
) -> None:
    """The universal target sends `Input` as the request once Scheduler replaced its context attributes."""
    pipelines = {a.name: json.loads(a.content) for a in builds[env].artifacts if a.kind == "sagemaker_pipeline"}
    for schedule in _documents(builds[env], "schedule"):
        assert schedule["Target"]["Arn"] == SCHEDULE_TARGET
        assert re.fullmatch(r"cron\(\S+ \S+ \S+ \S+ \S+ \S+\)", schedule["ScheduleExpression"])
        assert schedule["FlexibleTimeWindow"]["Mode"] == "FLEXIBLE"
        assert schedule["Target"]["DeadLetterConfig"]["Arn"].endswith("schedules-dlq")
        text = schedule["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", SCHEDULED_TIME)
        assert "<aws." not in text
        request = json.loads(text)
        _valid("sagemaker", "StartPipelineExecution", request)
        declared = {p["Name"] for p in pipelines[request["PipelineName"]]["Parameters"]}
        passed = {p["Name"] for p in request["PipelineParameters"]}
        assert passed <= declared, passed - declared
        assert {"ProjectName", "FeatureSpecVersion", "ReferenceTsIso"} <= passed


def test_every_compiled_pipeline_has_a_starter(builds: dict[str, CompileResult]) -> None:
    """A state machine starts it, or a schedule does (the extractor: the backfill machine)."""
    build = builds["local"]
    started_by_machines = set()
    for definition in _documents(build, "state_machine"):
        text = json.dumps(definition)
        started_by_machines |= {
            a.name for a in build.artifacts if a.kind == "sagemaker_pipeline" and json.dumps(a.name) in text
        }
    scheduled = {json.loads(s["Target"]["Input"])["PipelineName"] for s in _documents(build, "schedule")}
    pipelines = {a.name for a in build.artifacts if a.kind == "sagemaker_pipeline"}
    assert pipelines - started_by_machines - scheduled == set()
    assert scheduled == {"ndr-local-fg-b-baseline", "ndr-local-if-training", "ndr-local-machine-inventory-unload"}
    [pipe] = _documents(build, "pipe")
    assert pipe["Target"].endswith(":stateMachine:ndr-local-live-inference")


def test_schedules_per_project_follow_the_specs_and_routes(builds: dict[str, CompileResult]) -> None:
    names = sorted(s["Name"] for s in _documents(builds["local"], "schedule"))
    assert names == [
        "ndr-local-fg-b-baseline-ndr-acme-prod-v1",
        "ndr-local-fg-b-baseline-ndr-prod-v1",  # ndr-prod has v1 and v2 specs; its routes pin v1
        "ndr-local-if-training-ndr-acme-prod-v1",
        "ndr-local-if-training-ndr-prod-v1",
        "ndr-local-machine-inventory-unload-ndr-acme-prod-v1",
        "ndr-local-machine-inventory-unload-ndr-prod",  # an unversioned spec: FeatureSpecVersion empty
    ]
    fg_b = next(s for s in _documents(builds["local"], "schedule") if s["Name"].endswith("fg-b-baseline-ndr-prod-v1"))
    parameters = {p["Name"]: p["Value"] for p in json.loads(fg_b["Target"]["Input"])["PipelineParameters"]}
    assert parameters["FgBBuilderInstanceCount"] == "4"  # the spec's processing resources, as the machines pass
    assert set(parameters) - {"ProjectName", "FeatureSpecVersion", "ReferenceTsIso"} <= {
        p["Name"]
        for p in json.loads(next(a.content for a in builds["local"].artifacts if a.name == "ndr-local-fg-b-baseline"))[
            "Parameters"
        ]
    }
    assert FLOWS_BY_KEY["fg-b-baseline"].steps[0].name == "FgBBuilder"


def test_schedule_settings_come_from_ndrc_yaml(builds: dict[str, CompileResult]) -> None:
    compiled = builds["local"].compiled
    assert compiled is not None
    env = compiled.environment
    settings = {
        **env.settings,
        "orchestration": {
            "schedules": {
                "fg-b-baseline": {"cron": "cron(0 2 * * ? *)", "flexible_window_minutes": 15, "enabled": False}
            }
        },
    }
    tuned = replace(compiled, environment=EnvironmentConfig(env.name, settings))
    fg_b = [s.document for s in schedules(Orchestration(tuned.environment), tuned) if s.flow == "fg-b-baseline"]
    assert fg_b and all(
        (d["ScheduleExpression"], d["FlexibleTimeWindow"]["MaximumWindowInMinutes"], d["State"])
        == ("cron(0 2 * * ? *)", 15, "DISABLED")
        for d in fg_b
    )


def test_the_entry_queue_redrives_to_its_dlq_and_admits_only_the_producer_topic(
    builds: dict[str, CompileResult],
) -> None:
    queues = {q["QueueName"]: q["Attributes"] for q in _documents(builds["prod"], "sqs_queue")}
    entry = queues["ndr-prod-live-entry"]
    redrive = json.loads(entry["RedrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:345678901234:ndr-prod-live-entry-dlq",
        "maxReceiveCount": 5,
    }
    [statement] = json.loads(entry["Policy"])["Statement"]
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "arn:aws:sns:eu-west-1:345678901234:ndr-ingestion-events-prod"}
    }
    # SQS keeps a message at most 14 days; the DLQ keeps it that long, longer than the entry queue
    assert int(queues["ndr-prod-live-entry-dlq"]["MessageRetentionPeriod"]) == 14 * 86400
    assert int(entry["MessageRetentionPeriod"]) < 14 * 86400
    [subscription] = _documents(builds["prod"], "sns_subscription")
    assert subscription["Attributes"] == {"RawMessageDelivery": "true"}


def test_the_redrive_delay_never_exceeds_what_sqs_allows(builds: dict[str, CompileResult]) -> None:
    requeue = json.loads(next(a.content for a in builds["local"].artifacts if a.role == "live"))["States"]["Requeue"]
    assert f"$min([{MAX_DELAY_SECONDS}," in requeue["Arguments"]["DelaySeconds"] and MAX_DELAY_SECONDS == 900


def test_wiring_pieces_without_their_settings_are_left_out(builds: dict[str, CompileResult]) -> None:
    compiled = builds["local"].compiled
    assert compiled is not None
    settings = {k: v for k, v in compiled.environment.settings.items() if k != "account_id"}
    without_account = replace(compiled, environment=EnvironmentConfig("local", settings))
    assert wiring.build_artifacts(without_account) == []  # the documents name queues by ARN
    roles = {k: v for k, v in compiled.environment.settings["roles"].items() if k not in ("pipe", "scheduler")}
    without_roles = replace(
        compiled, environment=EnvironmentConfig("local", {**compiled.environment.settings, "roles": roles})
    )
    kinds = sorted(a.kind for a in wiring.build_artifacts(without_roles))
    # the entry queues and the live-outcome rule (roles.events), no pipe, no schedules
    assert kinds == ["event_rule", "sns_subscription", "sqs_queue", "sqs_queue"]


def _redrive_allow_problems(policy: dict[str, Any]) -> list[str]:
    """AWS's rule for a queue's RedriveAllowPolicy (SQS API Reference, SetQueueAttributes): `redrivePermission`
    is `allowAll`, `denyAll` or `byQueue`; `sourceQueueArns` (1-10 queue ARNs) is required with `byQueue` and
    not allowed otherwise. moto 5.2.5 drops the attribute, so only this check holds the documents to it."""
    problems = []
    permission = policy.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        problems.append(f"redrivePermission {permission!r}")
    sources = policy.get("sourceQueueArns")
    if permission == "byQueue":
        if not isinstance(sources, list) or not 1 <= len(sources) <= 10:
            problems.append("byQueue needs 1-10 sourceQueueArns")
        elif not all(re.fullmatch(r"arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}", s) for s in sources):
            problems.append(f"not queue ARNs: {sources}")
    elif sources is not None:
        problems.append(f"sourceQueueArns with {permission}")
    if set(policy) - {"redrivePermission", "sourceQueueArns"}:
        problems.append(f"unknown keys {sorted(set(policy) - {'redrivePermission', 'sourceQueueArns'})}")
    return problems


def test_every_dead_letter_queue_admits_exactly_the_queues_that_redrive_to_it(
    builds: dict[str, CompileResult],
) -> None:
    for build in builds.values():
        queues = {q["QueueName"]: q["Attributes"] for q in _documents(build, "sqs_queue")}
        arn_prefix = "arn:aws:sqs:eu-west-1:" if build is builds["prod"] else "arn:aws:sqs:"
        redriving: dict[str, list[str]] = {}
        for name, attributes in queues.items():
            if "RedrivePolicy" in attributes:
                target = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[1]
                source_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[0]
                redriving.setdefault(target, []).append(f"{source_arn}:{name}")
        dead_letter = [name for name in queues if name.endswith("-dlq")]
        assert dead_letter and all(name.startswith(arn_prefix) for names in redriving.values() for name in names)
        for name in dead_letter:
            policy = json.loads(queues[name]["RedriveAllowPolicy"])
            assert _redrive_allow_problems(policy) == [], name
            if name in redriving:
                assert policy == {"redrivePermission": "byQueue", "sourceQueueArns": sorted(redriving[name])}
            else:  # the schedules' DLQ: Scheduler sends to it, no queue redrives to it
                assert policy == {"redrivePermission": "denyAll"}


def test_the_redrive_allow_rule_check_rejects_what_aws_rejects() -> None:
    good = "arn:aws:sqs:eu-west-1:345678901234:q"
    assert _redrive_allow_problems({"redrivePermission": "byQueue", "sourceQueueArns": [good]}) == []
    assert _redrive_allow_problems({"redrivePermission": "byQueue"})
    assert _redrive_allow_problems({"redrivePermission": "byQueue", "sourceQueueArns": [good] * 11})
    assert _redrive_allow_problems({"redrivePermission": "denyAll", "sourceQueueArns": [good]})
    assert _redrive_allow_problems({"redrivePermission": "bySource"})
