"""The local stand-in for EventBridge Scheduler: the compiled schedules, fired as Scheduler fires them.

moto stores schedules (`CreateSchedule` / `GetSchedule` / `ListSchedules`) but invokes nothing. Firing a
schedule here does what Scheduler does with the stored document (EventBridge Scheduler User Guide, "Managing
targets" -> universal targets, and "Adding context attributes",
https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html):

- the target `arn:aws:scheduler:::aws-sdk:<service>:<apiAction>` is the API `<apiAction>` of `<service>`, called
  with the target's `Input` as its request (the compiled schedules: SageMaker `StartPipelineExecution`);
- before the call, the context attributes in `Input` are replaced: `<aws.scheduler.schedule-arn>`,
  `<aws.scheduler.scheduled-time>` (the occurrence, `2022-03-22T18:59:43Z`), `<aws.scheduler.execution-id>`
  (one per attempted invocation; here a digest of the schedule, the time and the attempt) and
  `<aws.scheduler.attempt-number>` (`1`).

The schedules are read from the emulator (what `ndrc publish` created: `ListSchedules`, then `GetSchedule` for
each ndrc-owned one), else from the build (`wiring/schedules/<name>.schedule.json`, the `CreateSchedule`
documents). `due()` lists every occurrence of every enabled schedule in a time range (`compiler.local.cron`,
the schedule's `ScheduleExpressionTimezone`, `StartDate` / `EndDate` honoured); firing one twice is harmless
when the Input's idempotency token is built from the scheduled time, as the compiled ones are.

Not emulated: the flexible time window (an occurrence is invoked at its scheduled time, the start of the
window), retries and the dead-letter queue (a failed call is reported, not retried or dead-lettered), templated
(non-universal) targets.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from compiler.deploy.aws import Aws, translated
from compiler.errors import UsageError
from compiler.local import cron
from compiler.orchestration.names import Orchestration

UNIVERSAL_TARGET = re.compile(r"^arn:[a-z-]+:scheduler:::aws-sdk:(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)$")
# The universal target names services as the AWS SDKs' service ids; where boto3 names one differently.
BOTO3_SERVICE = {"sfn": "stepfunctions"}
SCHEDULE_SUFFIX = ".schedule.json"


@dataclass(frozen=True)
class Schedule:
    name: str
    group: str
    arn: str
    expression: str
    timezone: str
    state: str
    target_arn: str
    input: str
    start_date: datetime | None = None
    end_date: datetime | None = None

    @property
    def request(self) -> dict[str, Any]:
        """The target's Input as JSON (context attributes unresolved); {} when it is not a JSON object."""
        try:
            parsed = json.loads(self.input)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    @property
    def pipeline_parameters(self) -> dict[str, str]:
        return {p["Name"]: p["Value"] for p in self.request.get("PipelineParameters", []) if "Name" in p}


@dataclass(frozen=True)
class Fired:
    schedule: str
    scheduled_time: datetime
    request: dict[str, Any]
    response: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def started(self) -> str:
        """What the call started (the pipeline execution ARN for the compiled schedules)."""
        for key in ("PipelineExecutionArn", "executionArn", "MessageId"):
            if key in self.response:
                return str(self.response[key])
        return json.dumps(self.response, sort_keys=True, default=str)


def iso(moment: datetime) -> str:
    """A time as Scheduler writes `<aws.scheduler.scheduled-time>`: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _schedule(document: dict[str, Any], arn: str) -> Schedule:
    target = document.get("Target") or {}
    return Schedule(
        name=str(document["Name"]),
        group=str(document.get("GroupName") or "default"),
        arn=arn,
        expression=str(document.get("ScheduleExpression", "")),
        timezone=str(document.get("ScheduleExpressionTimezone") or "UTC"),
        state=str(document.get("State") or "ENABLED"),
        target_arn=str(target.get("Arn", "")),
        input=str(target.get("Input", "")),
        start_date=_date(document.get("StartDate")),
        end_date=_date(document.get("EndDate")),
    )


def _date(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def schedule_arn(o: Orchestration, group: str, name: str) -> str:
    return o.arn("scheduler", f"schedule/{group}/{name}")


def published_schedules(aws: Aws, o: Orchestration) -> list[Schedule]:
    """The environment's schedules as the emulator holds them (names starting with the environment's prefix)."""
    scheduler = aws.client("scheduler")
    found: list[Schedule] = []
    with translated("list the schedules"):
        pages = scheduler.get_paginator("list_schedules").paginate(NamePrefix=o.prefix)
        for summary in (s for page in pages for s in page["Schedules"]):
            reply = scheduler.get_schedule(Name=summary["Name"], GroupName=summary.get("GroupName", "default"))
            found.append(_schedule(reply, str(reply.get("Arn") or schedule_arn(o, reply["GroupName"], reply["Name"]))))
    return sorted(found, key=lambda s: s.name)


def built_schedules(build_dir: Path, o: Orchestration) -> list[Schedule]:
    """The compiled CreateSchedule documents of a build (`<build>/wiring/schedules/*.schedule.json`)."""
    found = []
    for path in sorted((build_dir / "wiring" / "schedules").glob(f"*{SCHEDULE_SUFFIX}")):
        document = json.loads(path.read_text(encoding="utf-8"))
        found.append(_schedule(document, schedule_arn(o, document.get("GroupName", "default"), document["Name"])))
    return found


def _names(schedules: list[Schedule]) -> str:
    return ", ".join(s.name for s in schedules) or "none (publish the workspace first)"


def select(
    schedules: list[Schedule], o: Orchestration, flow: str, project: str | None = None, version: str = ""
) -> Schedule:
    """The schedule named `flow`, else the one starting the flow's pipeline for `project` (and `version` when
    given); UsageError listing the schedules that exist otherwise."""
    by_name = [s for s in schedules if s.name == flow]
    if by_name:
        return by_name[0]
    if project is None:
        raise UsageError(
            f"no schedule named {flow!r} (give --project to choose by flow); schedules: {_names(schedules)}"
        )
    matching = [
        s
        for s in schedules
        if s.request.get("PipelineName") == o.name(flow)
        and s.pipeline_parameters.get("ProjectName") == project
        and (not version or s.pipeline_parameters.get("FeatureSpecVersion") == version)
    ]
    if len(matching) == 1:
        return matching[0]
    wanted = f"{flow} for project {project}" + (f" version {version}" if version else "")
    if not matching:
        raise UsageError(f"no schedule starts {wanted}; schedules: {_names(schedules)}")
    raise UsageError(f"several schedules start {wanted} (give --version): {_names(matching)}")


def resolve_context(text: str, schedule: Schedule, scheduled_time: datetime, attempt: int = 1) -> str:
    """The Input with Scheduler's context attributes replaced (keywords, not JSON: replaced in the text)."""
    when = iso(scheduled_time)
    execution = hashlib.sha256(f"{schedule.arn}|{when}|{attempt}".encode()).hexdigest()[:16]
    values = {
        "<aws.scheduler.schedule-arn>": schedule.arn,
        "<aws.scheduler.scheduled-time>": when,
        "<aws.scheduler.execution-id>": execution,
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    for keyword, value in values.items():
        text = text.replace(keyword, value)
    return text


def target_call(schedule: Schedule) -> tuple[str, str]:
    """(boto3 service, boto3 method) of a universal target; UsageError for any other target."""
    matched = UNIVERSAL_TARGET.match(schedule.target_arn)
    if not matched:
        raise UsageError(
            f"schedule {schedule.name}: target {schedule.target_arn!r} is not a universal target "
            "(arn:aws:scheduler:::aws-sdk:<service>:<apiAction>); only those are fired locally"
        )
    service = BOTO3_SERVICE.get(matched["service"], matched["service"])
    action = matched["action"]
    return service, re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def fire(aws: Aws, schedule: Schedule, scheduled_time: datetime, overrides: dict[str, Any] | None = None) -> Fired:
    """Invoke the schedule's target once for `scheduled_time`, as Scheduler's first attempt would."""
    service, method = target_call(schedule)
    text = resolve_context(schedule.input, schedule, scheduled_time)
    try:
        request = json.loads(text) if text else {}
    except ValueError as problem:
        raise UsageError(f"schedule {schedule.name}: its target Input is not JSON ({problem})") from None
    request.update(overrides or {})
    client = aws.client(service)
    if not hasattr(client, method):
        raise UsageError(f"schedule {schedule.name}: {service} has no API {method} (target {schedule.target_arn})")
    with translated(f"fire schedule {schedule.name}"):  # an unreachable endpoint stops the run (exit 2)
        try:
            response = getattr(client, method)(**request)
        except (ClientError, ParamValidationError) as problem:  # the target refused: reported, the run goes on
            return Fired(schedule.name, scheduled_time, request, error=str(problem))
    response.pop("ResponseMetadata", None)
    return Fired(schedule.name, scheduled_time, request, dict(response))


def due(schedules: list[Schedule], start: datetime, end: datetime) -> list[tuple[datetime, Schedule]]:
    """Every occurrence in [start, end) of every ENABLED schedule within its StartDate/EndDate, in time order
    (then by name). CronError when an expression cannot be evaluated."""
    if end <= start:
        raise UsageError(f"the clock range is empty: --to {iso(end)} is not after --from {iso(start)}")
    found = []
    for schedule in schedules:
        if schedule.state != "ENABLED":
            continue
        try:
            parsed = cron.parse(schedule.expression)
        except cron.CronError as problem:
            raise cron.CronError(f"schedule {schedule.name}: {problem}") from None
        low = max(start, schedule.start_date) if schedule.start_date else start
        high = min(end, schedule.end_date) if schedule.end_date else end
        if low < high:
            found += [(t, schedule) for t in cron.occurrences(parsed, low, high, schedule.timezone)]
    return sorted(found, key=lambda pair: (pair[0], pair[1].name))
