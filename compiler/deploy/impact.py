"""Impact analysis: for each change of a plan, what it affects (pipelines and their steps, state machines,
projects, runtime jobs) and why, derived from the build itself, never from a hand-kept table.

What is read, all from `build/<env>/`:
- each compiled SageMaker pipeline: its steps, the runtime job each step runs (the first container argument),
  the jobs its entry step requires (`--jobs`), the code prefix its steps download (ProcessingInputs);
- each other artifact that names a pipeline (a state machine, or any starter kind added later) starts it; a
  state machine's manifest `role` (`live`) says it runs every window;
- the tables a state machine reads (`TableName` of its tasks);
- the routing items: which feature spec version each enabled route of a project runs;
- `ndrc.yaml`'s settings (image settings resolved to their URIs), to name the setting a changed value comes from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.deploy.desired import MANIFEST, item_label
from compiler.deploy.diff import plain_item
from compiler.deploy.plan import Change, Plan
from compiler.errors import NdrcError
from compiler.model import EnvironmentConfig
from compiler.orchestration.images import image_uri
from runtime.contract import PROJECT_PARAMETERS_JOB, sort_key, split_sort_key

ENTRY_JOB = "pipeline_entry"
# an event_rule names the pipeline it watches (the live-outcome rule), it does not start it
STARTER_SKIP_KINDS = frozenset({"iam_policy", "sagemaker_pipeline", "dynamodb_items", "event_rule"})
MIN_SETTING_LENGTH = 6  # shorter setting values ("v1", "1") would match by accident
STEP_PATH = re.compile(r"^definition\.Steps\[(\d+)\]")
PARAMETER_PATH = re.compile(r"^definition\.Parameters\[(\d+)\]")


@dataclass(frozen=True)
class PipelineStep:
    name: str
    job: str


@dataclass
class Pipeline:
    name: str
    steps: list[PipelineStep] = field(default_factory=list)
    required_jobs: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    code_prefixes: set[str] = field(default_factory=set)
    starters: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, role)


@dataclass
class BuildGraph:
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    machines: dict[str, tuple[str, set[str]]] = field(default_factory=dict)  # name -> (role, tables it reads)
    routes: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)  # ndrc.yaml dotted path -> value as it lands

    def active_versions(self, project: str) -> dict[str, list[str]]:
        """feature_spec_version -> the enabled routes (org keys) of `project` that run it."""
        found: dict[str, list[str]] = {}
        for route in self.routes:
            if route.get("project_name") == project and route.get("enabled", True) is not False:
                found.setdefault(str(route.get("feature_spec_version", "")), []).append(str(route.get("org_key")))
        return found

    def projects(self) -> list[str]:
        return sorted(
            {str(r["project_name"]) for r in self.routes if r.get("enabled", True) is not False and "project_name" in r}
        )

    def steps_running(self, job: str) -> Iterator[tuple[Pipeline, PipelineStep]]:
        for pipeline in self.pipelines.values():
            for step in pipeline.steps:
                if step.job == job:
                    yield pipeline, step


def _container_arguments(step: dict[str, Any]) -> list[Any]:
    return list(step.get("Arguments", {}).get("AppSpecification", {}).get("ContainerArguments", []))


def _pipeline(name: str, definition: dict[str, Any]) -> Pipeline:
    pipeline = Pipeline(name, parameters=[str(p.get("Name")) for p in definition.get("Parameters", [])])
    for step in definition.get("Steps", []):
        arguments = _container_arguments(step)
        job = str(arguments[0]) if arguments and isinstance(arguments[0], str) else ""
        pipeline.steps.append(PipelineStep(str(step.get("Name")), job))
        if job == ENTRY_JOB and "--jobs" in arguments:
            listed = arguments[arguments.index("--jobs") + 1]
            pipeline.required_jobs = [j for j in str(listed).split(",") if j]
        for source in step.get("Arguments", {}).get("ProcessingInputs", []):
            uri = source.get("S3Input", {}).get("S3Uri")
            if isinstance(uri, str):
                pipeline.code_prefixes.add(uri)
    return pipeline


def _tables_read(definition: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(definition, dict):
        for key, value in definition.items():
            if key == "TableName" and isinstance(value, str):
                found.add(value)
            else:
                found |= _tables_read(value)
    elif isinstance(definition, list):
        for value in definition:
            found |= _tables_read(value)
    return found


def _flatten(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(value[key], f"{path}.{key}" if path else str(key))
    else:
        yield path, value


def settings_values(env: EnvironmentConfig) -> dict[str, str]:
    """ndrc.yaml settings of the environment as they appear in artifacts (images resolved to URIs)."""
    values: dict[str, str] = {}
    for name, declared in (env.get("images") or {}).items():
        try:
            values[f"images.{name}"] = image_uri(declared, env.region)
        except (NdrcError, ValueError, TypeError, KeyError):  # unresolvable: compile reports it, not this
            continue
    for path, value in _flatten(env.settings):
        if path.startswith("images.") or not isinstance(value, str | int) or isinstance(value, bool):
            continue
        if len(str(value)) >= MIN_SETTING_LENGTH:
            values[path] = str(value)
    return values


def read_graph(build_dir: Path, env: EnvironmentConfig) -> BuildGraph:
    """The facts impact analysis needs, read from a compiled build."""
    graph = BuildGraph(settings=settings_values(env))
    manifest = json.loads((build_dir / MANIFEST).read_text(encoding="utf-8"))
    texts: dict[tuple[str, str], tuple[str, str]] = {}
    for entry in manifest.get("artifacts", []):
        path = build_dir / str(entry["path"])
        kind, name = str(entry.get("kind")), str(entry.get("name"))
        if not path.is_file() or kind in ("runtime_bundle", "runtime_archive", "s3_object"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if kind == "sagemaker_pipeline":
            graph.pipelines[name] = _pipeline(name, json.loads(text))
        elif kind == "state_machine":
            graph.machines[name] = (str(entry.get("role", "")), _tables_read(json.loads(text)))
        elif kind == "dynamodb_items" and name == env.routing_table:
            graph.routes = [plain_item(json.loads(line)["Item"]) for line in text.splitlines() if line.strip()]
        texts[(kind, name)] = (text, str(entry.get("role", "")))
    for (kind, name), (text, role) in sorted(texts.items()):
        if kind in STARTER_SKIP_KINDS or (kind == "state_machine" and ":startPipelineExecution" not in text):
            continue  # a machine naming a pipeline without starting it (live-outcome watches it) starts nothing
        for pipeline in graph.pipelines.values():
            if json.dumps(pipeline.name) in text or f":pipeline/{pipeline.name}" in text:
                pipeline.starters.append((kind, name, role))
    return graph


def _when(pipeline: Pipeline) -> str:
    if any(role == "live" for _, _, role in pipeline.starters):
        return "at the next window"
    if pipeline.starters:
        return "when " + " or ".join(f"{name}" for _, name, _ in pipeline.starters) + " next starts it"
    return "at its next run (no compiled starter)"


def _impact(kind: str, affects: str, why: str) -> dict[str, str]:
    return {"kind": kind, "affects": affects, "why": why}


def _parameters_item(
    change: Change, item: dict[str, Any], graph: BuildGraph, env: EnvironmentConfig
) -> list[dict[str, str]]:
    project = str(item.get("project_name", ""))
    job, version = split_sort_key(str(item.get("job_name", "")))
    subject = sort_key(job, version)
    found = []
    if job == PROJECT_PARAMETERS_JOB:
        for machine, (_, tables) in sorted(graph.machines.items()):
            if env.parameters_table in tables:
                found.append(
                    _impact(
                        "state_machine",
                        machine,
                        f"{subject} of {project}: read by state machine "
                        f"{machine} (project defaults) at its next execution",
                    )
                )
        for pipeline in graph.pipelines.values():
            for step in pipeline.steps:
                if step.job == ENTRY_JOB:
                    found.append(
                        _impact(
                            "pipeline_step",
                            f"{step.name} in {pipeline.name}",
                            f"{subject} of {project}: read by {step.name} in {pipeline.name} {_when(pipeline)}",
                        )
                    )
        return found
    active = graph.active_versions(project)
    if version is None:
        live = "a legacy unversioned item: read when no versioned item of the job exists"
    elif version in active:
        live = f"enabled route(s) {', '.join(sorted(active[version]))} run {version}"
    else:
        live = (
            f"no enabled route of {project} runs {version}: read only by runs started with "
            f"FeatureSpecVersion={version} (e.g. a backfill)"
        )
    for pipeline, step in graph.steps_running(job):
        verb = "no longer found by" if change.action == "delete" else "read by"
        found.append(
            _impact(
                "pipeline_step",
                f"{step.name} in {pipeline.name}",
                f"{subject} of {project}: {verb} {step.name} in {pipeline.name} {_when(pipeline)} ({live})",
            )
        )
        if change.action == "delete" and job in pipeline.required_jobs:
            found.append(
                _impact(
                    "pipeline",
                    pipeline.name,
                    f"{pipeline.name}: its entry step requires {job}, so its "
                    f"runs for {project} at {version or 'the legacy version'} "
                    "fail at entry",
                )
            )
    if not found:
        found.append(
            _impact(
                "runtime_job",
                job,
                f"{subject} of {project}: no compiled pipeline runs runtime job "
                f"{job}; read by `ndrc run {job}` and by jobs that look it up",
            )
        )
    return found


def _routing_item(
    change: Change, item: dict[str, Any], graph: BuildGraph, env: EnvironmentConfig
) -> list[dict[str, str]]:
    org = f"{item.get('org1', '?')}/{item.get('org2', '?')}"
    project, version = item.get("project_name"), item.get("feature_spec_version")
    if change.action == "delete":
        effect = f"batches of {org} are no longer routed (their lookup fails)"
    elif item.get("enabled", True) is False:
        effect = f"batches of {org} are refused (route disabled)"
    else:
        effect = f"routes batches of {org} to project {project} at feature spec version {version}"
    found = []
    for machine, (role, tables) in sorted(graph.machines.items()):
        if env.routing_table in tables:
            when = "at the next window" if role == "live" else "at its next execution"
            found.append(_impact("state_machine", machine, f"{machine}: {effect} {when}"))
            started = [p for p in graph.pipelines.values() if any(name == machine for _, name, _ in p.starters)]
            if change.action != "delete" and item.get("enabled", True) is not False:
                for pipeline in started:
                    jobs = ", ".join(s.job for s in pipeline.steps if s.job != ENTRY_JOB)
                    found.append(
                        _impact(
                            "pipeline",
                            pipeline.name,
                            f"{pipeline.name}: runs {jobs} of project {project} at {version} for {org}",
                        )
                    )
    return found


def _changed_steps(change: Change, pipeline: Pipeline) -> list[str]:
    """The steps whose definition or run parameters the field diff touches."""
    steps: set[str] = set()
    every = False
    for field_change in change.fields:
        path = field_change["path"]
        if (match := STEP_PATH.match(path)) and int(match.group(1)) < len(pipeline.steps):
            steps.add(pipeline.steps[int(match.group(1))].name)
        elif (match := PARAMETER_PATH.match(path)) and int(match.group(1)) < len(pipeline.parameters):
            parameter = pipeline.parameters[int(match.group(1))]
            steps |= {s.name for s in pipeline.steps if parameter.startswith(s.name)}
        else:
            every = True
    return [s.name for s in pipeline.steps if every or s.name in steps]


def setting_causes(change: Change, graph: BuildGraph) -> list[str]:
    """The ndrc.yaml settings whose value is in a new value of this change and in none of its old ones."""
    causes = []
    for path, value in sorted(graph.settings.items()):
        if any(value in f["new"] and value not in f["old"] for f in change.fields):
            causes.append(path)
    return causes


def _pipeline_change(change: Change, graph: BuildGraph) -> list[dict[str, str]]:
    pipeline = graph.pipelines.get(change.target)
    if pipeline is None:  # a deletion: the build no longer has it
        return [
            _impact(
                "pipeline",
                change.target,
                f"{change.target}: no longer in the build; executions in flight finish on the old definition",
            )
        ]
    found = []
    if change.action == "update":
        steps = _changed_steps(change, pipeline)
        jobs = sorted({s.job for s in pipeline.steps if s.name in steps})
        found.append(
            _impact(
                "pipeline",
                pipeline.name,
                f"{pipeline.name}: steps {', '.join(steps)} change (runtime jobs {', '.join(jobs)}) {_when(pipeline)}",
            )
        )
    else:
        jobs = list(dict.fromkeys(s.job for s in pipeline.steps))
        found.append(
            _impact(
                "pipeline",
                pipeline.name,
                f"{pipeline.name}: new, {len(pipeline.steps)} steps running runtime jobs {', '.join(jobs)}",
            )
        )
    for kind, name, role in pipeline.starters:
        found.append(
            _impact(kind, name, f"{name} starts {pipeline.name}" + (" every window" if role == "live" else ""))
        )
    projects = graph.projects()
    if projects and any(role == "live" for _, _, role in pipeline.starters):
        found.append(
            _impact(
                "projects",
                ", ".join(projects),
                f"projects {', '.join(projects)}: every project with an enabled route runs {pipeline.name}",
            )
        )
    return found


def _machine_change(change: Change, graph: BuildGraph) -> list[dict[str, str]]:
    if change.target not in graph.machines:
        return [
            _impact(
                "state_machine",
                change.target,
                f"{change.target}: no longer in the build; executions in flight keep running until they end",
            )
        ]
    role, tables = graph.machines[change.target]
    started = sorted(p.name for p in graph.pipelines.values() if any(n == change.target for _, n, _ in p.starters))
    when = "from the next window (every batch event)" if role == "live" else "from its next execution"
    found = [_impact("pipeline", name, f"{name}: started by {change.target} {when}") for name in started]
    if tables:
        found.append(
            _impact("state_machine", change.target, f"{change.target}: reads table(s) {', '.join(sorted(tables))}")
        )
    return found


def _object_change(change: Change, graph: BuildGraph) -> list[dict[str, str]]:
    found = []
    for pipeline in graph.pipelines.values():
        if any(change.target.startswith(prefix) for prefix in pipeline.code_prefixes):
            jobs = list(dict.fromkeys(s.job for s in pipeline.steps))
            found.append(
                _impact(
                    "pipeline",
                    pipeline.name,
                    f"{pipeline.name}: the code of its {len(pipeline.steps)} "
                    f"steps (runtime jobs {', '.join(jobs)}) "
                    f"{_when(pipeline)}",
                )
            )
    if not found:
        found.append(_impact("s3_object", change.target, f"{change.target}: no compiled pipeline step downloads it"))
    return found


def _schedule_request(document: dict[str, Any]) -> dict[str, Any]:
    request = document.get("Target", {}).get("Input", {})
    if isinstance(request, str):
        try:
            request = json.loads(request)
        except ValueError:
            return {}
    return request if isinstance(request, dict) else {}


def _wiring_change(change: Change, graph: BuildGraph) -> list[dict[str, str]]:
    """The live entry (S3 event -> SNS -> SQS -> pipe -> live state machine) and the schedules."""
    document = change.payload if isinstance(change.payload, dict) else {}
    live = sorted(name for name, (role, _) in graph.machines.items() if role == "live")
    entry = f"the live entry of {', '.join(live) or 'the live state machine'}"
    gone = change.action == "delete"
    if change.kind == "schedule":
        request = _schedule_request(document)
        pipeline, cron = request.get("PipelineName"), document.get("ScheduleExpression")
        parameters = {p.get("Name"): p.get("Value") for p in request.get("PipelineParameters", [])}
        if gone or not pipeline:
            return [
                _impact(
                    "pipeline",
                    change.target,
                    f"{change.target}: no longer in the build; the pipeline it "
                    "started is no longer started on a schedule by it",
                )
            ]
        project = parameters.get("ProjectName") or "?"
        return [
            _impact("pipeline", str(pipeline), f"{pipeline}: started by {change.target} for {project} on {cron} (UTC)")
        ]
    if change.kind == "event_rule":
        if gone:
            return [
                _impact(
                    "state_machine",
                    change.target,
                    f"{change.target}: no longer in the build; a failed "
                    "15-minute pipeline keeps its window locked until the TTL",
                )
            ]
        return [
            _impact(
                "state_machine",
                change.target,
                f"{change.target}: a failed or stopped 15-minute pipeline marks its window's lock failed and alerts",
            )
        ]
    if change.kind == "pipe":
        if gone:
            return [
                _impact(
                    "state_machine",
                    ", ".join(live) or change.target,
                    f"{change.target}: no longer in the build; producer events stay in the entry queue "
                    "(then its dead-letter queue) and start no execution",
                )
            ]
        return [
            _impact(
                "state_machine",
                ", ".join(live) or change.target,
                f"{change.target}: starts {', '.join(live) or 'the live state machine'} for every producer "
                "event, from its next message",
            )
        ]
    what = "queue" if change.kind == "sqs_queue" else "SNS subscription"
    if gone:
        return [
            _impact(
                "wiring",
                change.target,
                f"{change.target}: {what} no longer in the build; messages it holds are deleted with it",
            )
        ]
    return [
        _impact(
            "wiring",
            change.target,
            f"{change.target}: {what} on {entry} or its dead-letter path; "
            "every batch event passes through the entry path",
        )
    ]


def change_impact(
    change: Change, graph: BuildGraph, env: EnvironmentConfig, layouts: dict[str, tuple[str, ...]]
) -> list[dict[str, str]]:
    if change.kind == "dynamodb_item":
        typed = change.payload if change.action != "delete" else (change.seen or (change.payload or {}).get("Key"))
        try:
            item = plain_item(typed or {})
        except (ValueError, TypeError, AttributeError):
            return []
        if change.target == env.parameters_table:
            return _parameters_item(change, item, graph, env)
        if change.target == env.routing_table:
            return _routing_item(change, item, graph, env)
        keys = layouts.get(change.target, ())
        label = item_label(keys, item) if keys else change.label
        return [_impact("table", change.target, f"{change.target}: item {label}")]
    if change.kind == "sagemaker_pipeline":
        return _pipeline_change(change, graph)
    if change.kind == "state_machine":
        return _machine_change(change, graph)
    if change.kind == "s3_object":
        return _object_change(change, graph)
    if change.kind in ("sqs_queue", "sns_subscription", "pipe", "schedule", "event_rule"):
        return _wiring_change(change, graph)
    return []


def plan_causes(plan: Plan, graph: BuildGraph) -> list[str]:
    """One line per ndrc.yaml setting the plan's changes come from: `ndrc.yaml images.spark_processing: every
    step of 5 pipelines`."""
    by_setting: dict[str, dict[str, list[str]]] = {}
    for change in plan.changes:
        if change.kind != "sagemaker_pipeline" or change.action != "update" or change.target not in graph.pipelines:
            continue
        pipeline = graph.pipelines[change.target]
        for setting in setting_causes(change, graph):
            touched = [f for f in change.fields if graph.settings[setting] in f["new"]]
            steps = _changed_steps(Change(**{**change.__dict__, "fields": touched}), pipeline)
            by_setting.setdefault(setting, {})[pipeline.name] = steps
    lines = []
    for setting, pipelines in sorted(by_setting.items()):
        every = all(set(steps) == {s.name for s in graph.pipelines[name].steps} for name, steps in pipelines.items())
        count = sum(len(steps) for steps in pipelines.values())
        scope = (
            f"every step of {len(pipelines)} pipeline(s)"
            if every
            else f"{count} step(s) of {len(pipelines)} pipeline(s)"
        )
        lines.append(f"ndrc.yaml {setting}: {scope} ({', '.join(sorted(pipelines))})")
    return lines


def analyze(plan: Plan, build_dir: Path, env: EnvironmentConfig, layouts: dict[str, tuple[str, ...]]) -> None:
    """Fill `impact` of every change and the plan's `causes` from the build the plan was made from."""
    graph = read_graph(build_dir, env)
    for change in plan.changes:
        change.impact = change_impact(change, graph, env, layouts)
    plan.causes = plan_causes(plan, graph)
