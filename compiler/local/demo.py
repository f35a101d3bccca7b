"""`ndrc demo`: the whole compiled platform running locally, end to end, through the artifacts `ndrc publish`
deploys (no parallel code path).

Stages (each a small function; `run_demo` chains them and reports each one's time to a `Progress`):
environment (a throwaway emulator executing pipelines, on its own free port and state folder, so a user's `ndrc
local up` is untouched; it keeps running afterwards, found again by a plain `ndrc local status|down` through
`demo_state`) -> publish (the demo-sized copy of the workspace: `demo_workspace`) -> traffic (`demo_world`) ->
inventory (the compiled `machine-inventory-unload` pipeline) beside the history backfill (the backfill state
machine, its extractor, one `feature-15m` per window, a project's windows in order) -> FG-B baselines (the compiled
schedule flow) -> training backfill of the projects that train -> training (verifier ... attributes -> deploy, then
the local model server serves the deployed endpoint; the untrained projects' training backfill runs beside it) ->
live (objects written to the ingestion bucket, their S3 events published to the producer topic -> SNS -> SQS -> the
published pipe applied by `entry_poller` -> live state machine -> `feature-15m`; in rounds: batch i of each
project, then batch i + 1 once theirs ended, as 15 minutes apart in production; the untrained projects' batches
once their training backfill ended; one delivery replayed on purpose) -> report (terminal summary + self-contained
HTML). During publish, as soon as the runtime bundle is uploaded, the emulator is asked to prewarm its warm workers
(`_Prewarm`); `<state dir>/timeline.json` records every step's start and end against the stage windows
(`demo_timeline`)."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from compiler.compilation.compile import compile_workspace
from compiler.deploy.apply import Outcome
from compiler.deploy.aws import Aws
from compiler.deploy.provision import provision
from compiler.deploy.publish import publish
from compiler.errors import UsageError
from compiler.local import daemon, demo_state, demo_timeline, demo_workspace, entry_poller, model_server
from compiler.local.demo_report import Deviation, HostScore, RunReport, render_html, summary_lines
from compiler.local.demo_world import (
    BASELINE_DAY,
    SAMPLE_PROJECTS,
    TRAINING_REFERENCE,
    ProjectTraffic,
    plan_traffic,
    write_batch,
    write_inventory,
)
from compiler.local.emulator import LOOPBACK, free_port, request_prewarm
from compiler.local.executions import trigger
from compiler.local.run_collect import live_batches
from compiler.local.run_scores import deviations, host_scores, peaks
from compiler.model import EnvironmentConfig
from compiler.orchestration.names import (
    BACKFILL,
    FEATURE_15M,
    FG_B_BASELINE,
    IF_TRAINING,
    MACHINE_INVENTORY_UNLOAD,
    Orchestration,
)
from compiler.validation.workspace_config import load_workspace
from runtime.storage import LocalStorage

ENVIRONMENT = "local"
TRAINING_SPEC = "pipeline_training_data_verifier#v1.yaml"  # a project with the training chain has it
WAIT_POLL_SECONDS = 0.25  # the demo's own Describe* polling (cheap calls on the emulator; each wait ends sooner)
STAGES = (
    "environment",
    "publish",
    "traffic",
    "inventory + history backfill",
    "FG-B baselines",
    "training backfill",
    "training + deploy",
    "live batches",
    "report",
)


class Progress(Protocol):
    def start(self, index: int, total: int, name: str) -> None: ...
    def done(self, name: str, seconds: float, detail: str) -> None: ...


@dataclass(frozen=True)
class DemoOptions:
    hours: int = 3
    projects: tuple[str, ...] = SAMPLE_PROJECTS
    seed: int = 7
    out: Path = Path("ndrc-demo.html")
    state_dir: Path = Path(".ndrc/demo")
    source: Path = Path(".")
    step_budget: int = 2
    keep_running: bool = True
    timeout: float = 1800.0
    live_batches: int | None = None  # live batches per project instead of a third of --hours (the live benchmark)
    remember: bool = True  # record the environment in the source workspace (a benchmark's throwaway one: not)

    def check(self) -> None:
        """Bad input as one-line usage errors (the CLI exits 2)."""
        if not 1 <= self.hours <= 24:
            raise UsageError(f"--hours must be between 1 and 24 (got {self.hours})")
        if not self.projects:
            raise UsageError("--projects needs at least one project")
        unknown = [p for p in self.projects if p not in SAMPLE_PROJECTS]
        if unknown:
            raise UsageError(
                f"--projects: {', '.join(unknown)} not a sample project (choose from {', '.join(SAMPLE_PROJECTS)})"
            )
        if len(set(self.projects)) != len(self.projects):
            raise UsageError("--projects names a project twice")
        if self.step_budget < 1:
            raise UsageError(f"--step-budget must be at least 1 (got {self.step_budget})")
        if not (self.source / "ndrc.yaml").is_file():
            raise UsageError(f"{self.source} is not an ndrc workspace (no ndrc.yaml)")


@dataclass(frozen=True)
class StageResult:
    name: str
    seconds: float
    detail: str
    started: float = 0.0  # epoch seconds (the timeline's stage windows)


@dataclass
class DemoResult:
    stages: list[StageResult]
    report: RunReport
    html: Path
    backfill: dict[str, dict[str, int]]  # project -> {"windows", "succeeded"} over both backfills
    live_pipelines: dict[str, list[str]]  # project -> statuses of the live batches' feature-15m executions
    predictions: dict[str, int]  # project -> prediction rows
    skipped_inference: dict[str, str] = field(default_factory=dict)  # project -> why nothing was scored

    def summary(self) -> list[str]:
        lines = summary_lines(self.report)
        lines.insert(1, "  stages (seconds):")
        for offset, stage in enumerate(self.stages, start=2):
            lines.insert(offset, f"    {stage.name:<20} {stage.seconds:7.1f}  {stage.detail}")
        lines.append(f"  report: {self.html}")
        return lines


@dataclass
class Context:
    """What the stages share: the running environment and the demo's workspace copy."""

    options: DemoOptions
    workspace_dir: Path
    environment: EnvironmentConfig
    model_port: int
    traffic: dict[str, ProjectTraffic] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # projects whose training backfill starts with the training
    pending: dict[str, str] = field(default_factory=dict)  # project -> a backfill started, not yet waited for

    @property
    def aws(self) -> Aws:
        return Aws(self.environment)

    @property
    def orchestration(self) -> Orchestration:
        return Orchestration(self.environment)

    @property
    def storage_root(self) -> Path:
        return self.workspace_dir / str(self.environment.settings["local_storage_root"])

    def bucket(self, purpose: str) -> str:
        return str(self.environment.settings["buckets"][purpose])


# --- waiting on executions -----------------------------------------------------------------------------


def wait_machine(ctx: Context, arn: str) -> dict[str, Any]:
    sfn = ctx.aws.client("stepfunctions")
    deadline = time.monotonic() + ctx.options.timeout
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{arn} still running after {ctx.options.timeout:.0f} s")
        time.sleep(WAIT_POLL_SECONDS)
    return dict(described)


def wait_pipeline(ctx: Context, arn: str) -> dict[str, Any]:
    sagemaker = ctx.aws.client("sagemaker")
    deadline = time.monotonic() + ctx.options.timeout
    while (described := sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn))[
        "PipelineExecutionStatus"
    ] == "Executing":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{arn} still executing after {ctx.options.timeout:.0f} s")
        time.sleep(WAIT_POLL_SECONDS)
    return dict(described)


def _require_succeeded(described: dict[str, Any], what: str) -> None:
    if described["PipelineExecutionStatus"] != "Succeeded":
        raise RuntimeError(f"{what} {described['PipelineExecutionStatus']}: {described.get('FailureReason', '')}")


def pipeline_runs(ctx: Context, flow: str) -> list[dict[str, Any]]:
    """Every execution of a pipeline with its parameters (oldest first)."""
    sagemaker = ctx.aws.client("sagemaker")
    found = sagemaker.list_pipeline_executions(PipelineName=ctx.orchestration.name(flow), SortOrder="Ascending")
    runs = []
    for summary in found["PipelineExecutionSummaries"]:
        arn = summary["PipelineExecutionArn"]
        parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
        runs.append(
            {
                "arn": arn,
                "status": summary["PipelineExecutionStatus"],
                "parameters": {p["Name"]: p["Value"] for p in parameters},
            }
        )
    return runs


def _start_all(ctx: Context, flow: str, projects: list[str], reference: str) -> dict[str, str]:
    """Start the schedule-started flow for every project at once (the step budget runs them side by side), each
    through the one schedule published for that project (the versions the routes pin; the inventory unload may
    be unversioned); project -> execution ARN."""
    return {p: trigger(ctx.aws, ctx.orchestration, flow, p, "", reference) for p in projects}


def _wait_all(ctx: Context, flow: str, started: dict[str, str]) -> str:
    for project, arn in started.items():
        _require_succeeded(wait_pipeline(ctx, arn), f"{flow} for {project}")
    return f"{len(started)} execution(s) of {ctx.orchestration.name(flow)} succeeded"


def _trigger_all(ctx: Context, flow: str, projects: list[str], reference: str) -> str:
    return _wait_all(ctx, flow, _start_all(ctx, flow, projects, reference))


# --- stages --------------------------------------------------------------------------------------------


def runtime_bundles(build: Path) -> dict[str, set[str]]:
    """The build's runtime bundles: the folder URI the pipelines' code input names (`s3://<artifacts>/runtime/
    <sha256>/`) -> the object URIs publish uploads into it."""
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    bundles: dict[str, set[str]] = {}
    for entry in manifest.get("artifacts", []):
        name = str(entry.get("name", ""))
        if entry.get("kind") == "runtime_bundle" and name.startswith("s3://"):
            bundles.setdefault(name.rsplit("/", 1)[0] + "/", set()).add(name)
    return bundles


class _Prewarm:
    """Publish's progress: once every object of a runtime bundle is uploaded (publish's first phase), the
    emulator is asked to start that bundle's warm workers, so their JVM start and first Spark query overlap
    the rest of publish and the traffic instead of the first backfill steps."""

    def __init__(self, endpoint: str, bundles: dict[str, set[str]]) -> None:
        self.endpoint = endpoint
        self.missing = {uri: set(objects) for uri, objects in bundles.items()}
        self.requested: list[str] = []

    def __call__(self, outcome: Outcome, done: int, total: int) -> None:
        del done, total
        if outcome.ok and outcome.change.kind == "s3_object":
            for uri, objects in self.missing.items():
                objects.discard(outcome.change.target)
                if not objects and uri not in self.requested:
                    self.request(uri)

    def request(self, uri: str) -> None:
        self.requested.append(uri)
        request_prewarm(self.endpoint, uri)

    def finish(self) -> None:
        """After publish: any bundle not requested yet (its objects were already there)."""
        for uri in self.missing:
            if uri not in self.requested:
                self.request(uri)


def stage_publish(ctx: Context) -> str:
    workspace = load_workspace(ctx.workspace_dir)
    provision(workspace, ENVIRONMENT, seed_routing=True, aws=ctx.aws)
    build = compile_workspace(workspace, ENVIRONMENT).out_dir
    prewarm = _Prewarm(str(ctx.environment.endpoint_url), runtime_bundles(build))
    result = publish(workspace, ENVIRONMENT, aws=ctx.aws, build_dir=build, confirm=lambda plan: True, progress=prewarm)
    prewarm.finish()
    if not result.ok:
        raise RuntimeError(f"publish failed: {result}")
    # reference data the specs point at (port sets), where the artifacts bucket lives locally
    reference = ctx.options.source / "reference"
    if reference.is_dir():
        shutil.copytree(reference, ctx.storage_root / ctx.bucket("artifacts") / "reference", dirs_exist_ok=True)
    return f"{len(ctx.options.projects)} project(s) published to {ctx.environment.endpoint_url}"


def _route(workspace_dir: Path, project: str) -> tuple[str, str]:
    import yaml

    routing = yaml.safe_load((workspace_dir / "specs" / project / "routing.yaml").read_text(encoding="utf-8"))
    for route in routing.get("routes", []):
        if route.get("enabled", True):
            return str(route["org1"]), str(route["org2"])
    raise UsageError(f"project {project!r} has no enabled ingestion route")


def stage_traffic(ctx: Context) -> str:
    storage = LocalStorage(ctx.storage_root)
    bucket_uri = f"s3://{ctx.bucket('ingestion')}"
    written = 0
    for index, project in enumerate(ctx.options.projects):
        org1, org2 = _route(ctx.workspace_dir, project)
        traffic = plan_traffic(
            project,
            org1,
            org2,
            bucket_uri,
            ctx.options.seed + index,
            ctx.options.hours,
            inject=index == 0,
            live=ctx.options.live_batches,
        )
        for batch in traffic.phase("history") + traffic.phase("training"):
            write_batch(storage, traffic, batch)
            written += 1
        write_inventory(ctx.storage_root, traffic)
        ctx.traffic[project] = traffic
    first = ctx.traffic[ctx.options.projects[0]]
    return (
        f"{written} batches written ({first.phases.history} history + {first.phases.training} training per "
        f"project; {first.phases.live} live later); injected host {first.injected_ip} in {first.project}"
    )


def _start_backfills(ctx: Context, day: datetime, phase: str, projects: list[str]) -> dict[str, str]:
    """One backfill execution per project over `day`, side by side; project -> execution ARN."""
    sfn = ctx.aws.client("stepfunctions")
    started = {}
    for project in projects:
        # one window at a time per project: a window's FG-A reads the windows before it (1h/8h/24h), so a
        # neighbour still being built would make its features depend on timing (docs/orchestration.md)
        payload = {
            "project_name": project,
            "start_date": f"{day:%Y-%m-%d}",
            "end_date": f"{day:%Y-%m-%d}",
            "max_concurrency": 1,
        }
        started[project] = sfn.start_execution(
            stateMachineArn=ctx.orchestration.state_machine_arn(BACKFILL),
            name=f"demo-{phase}-{uuid.uuid4().hex[:8]}",
            input=json.dumps(payload),
        )["executionArn"]
    return started


def _wait_backfills(ctx: Context, phase: str, started: dict[str, str]) -> str:
    """Each backfill must run one `feature-15m` per window the extractor found and succeed."""
    windows = 0
    for project, arn in started.items():
        described = wait_machine(ctx, arn)
        expected = len(ctx.traffic[project].phase(phase))
        output = json.loads(described.get("output") or "{}")
        if described["status"] != "SUCCEEDED" or (output.get("completed"), output.get("failed")) != (expected, 0):
            raise RuntimeError(
                f"the {phase} backfill of {project} ended {described['status']} "
                f"({described.get('error', '')} {described.get('cause', '')} {output})"
            )
        windows += expected
    return f"{windows} window(s) -> {windows} feature-15m execution(s) succeeded"


def stage_history(ctx: Context) -> str:
    """The inventory unloads and the history backfills at once: `feature-15m` does not read the inventory
    (only FG-B does), so the unloads run while the backfills' extractors start."""
    projects = list(ctx.options.projects)
    inventory = _start_all(ctx, MACHINE_INVENTORY_UNLOAD, projects, f"{BASELINE_DAY:%Y-%m-%dT%H:%M:%SZ}")
    backfilled = _wait_backfills(
        ctx, "history", _start_backfills(ctx, BASELINE_DAY - timedelta(days=1), "history", projects)
    )
    return f"{_wait_all(ctx, MACHINE_INVENTORY_UNLOAD, inventory)}; {backfilled}"


def stage_baselines(ctx: Context) -> str:
    return _trigger_all(ctx, FG_B_BASELINE, list(ctx.options.projects), f"{BASELINE_DAY:%Y-%m-%dT%H:%M:%SZ}")


def stage_training_backfill(ctx: Context) -> str:
    """The training backfills of the projects that train, alone on the step slots (the training waits for
    them); the other projects' backfills start beside the training (`stage_training`), whose scikit-learn
    fit leaves a step slot idle."""
    trained = trained_projects(ctx)
    ctx.deferred = [p for p in ctx.options.projects if p not in trained]
    if not trained:
        return f"no project trains: {', '.join(ctx.deferred)} backfilled beside the next stage"
    done = _wait_backfills(ctx, "training", _start_backfills(ctx, BASELINE_DAY, "training", trained))
    return done + (f"; {', '.join(ctx.deferred)} starts beside the training" if ctx.deferred else "")


def trained_projects(ctx: Context) -> list[str]:
    return [p for p in ctx.options.projects if (ctx.workspace_dir / "specs" / p / TRAINING_SPEC).is_file()]


def stage_training(ctx: Context) -> str:
    projects = trained_projects(ctx)
    for project in ctx.options.projects:
        if project not in projects:
            ctx.notes.append(
                f"{project} has no training chain in the sample workspace (no {TRAINING_SPEC}): "
                "its inference reports 'skipped: no model in service'"
            )
    # the training first: its steps then take a free step slot before the backfill's (`StepSlots`)
    training = _start_all(ctx, IF_TRAINING, projects, TRAINING_REFERENCE)
    if ctx.deferred:
        ctx.pending = _start_backfills(ctx, BASELINE_DAY, "training", ctx.deferred)
        ctx.deferred = []
    if not projects:
        return "no project has a training chain" + _finish_pending(ctx)
    done = _wait_all(ctx, IF_TRAINING, training)
    served = model_server.serve_deployed_model(load_workspace(ctx.workspace_dir), ctx.environment, ctx.model_port)
    if served.state != "running":
        raise RuntimeError(f"the deployed model is not served: {served.describe()}")
    if len(projects) > 1:
        ctx.notes.append(
            f"one local model server serves {served.model.endpoint_name if served.model else '?'}; "
            "other endpoints are not served"
        )
    beside = f"; training backfill of {', '.join(ctx.pending)} running beside it" if ctx.pending else ""
    return f"{done}; {served.describe()}{beside}"


def _finish_pending(ctx: Context) -> str:
    """Wait for the training backfills of the projects that do not train (started by the previous stage)."""
    if not ctx.pending:
        return ""
    pending, ctx.pending = ctx.pending, {}
    return f"; training backfill of {', '.join(pending)}: {_wait_backfills(ctx, 'training', pending)}"


def s3_event(bucket: str, key: str, event_time: str) -> dict[str, Any]:
    """The producer bucket's ObjectCreated notification (the emulator's S3 sends none: this stands in for the
    bucket's notification configuration publishing to the producer topic)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": event_time,
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}},
            }
        ]
    }


def stage_live(ctx: Context) -> str:
    """Live batches through the entry wiring. The projects whose training backfill is done go first; a
    project whose training backfill still runs (beside the training) is delivered once it ended, since its
    live FG-A reads the windows before."""
    storage = LocalStorage(ctx.storage_root)
    sns = ctx.aws.client("sns")
    topic = str(ctx.environment.settings["entry"]["topic_arn"])
    pipe = entry_poller.published_pipe(ctx.aws, ctx.orchestration)
    events: list[dict[str, Any]] = []
    deliveries: list[entry_poller.Delivery] = []

    def deliver(projects: list[str]) -> None:
        """In rounds, as the producer writes them 15 minutes apart: batch i of every project, then batch i + 1
        once their `feature-15m` executions ended (its FG-A reads batch i's delta)."""
        rounds = max((len(ctx.traffic[p].phase("live")) for p in projects), default=0)
        for index in range(rounds):
            batch_ids = []
            for project in projects:
                traffic = ctx.traffic[project]
                batches = traffic.phase("live")
                if index >= len(batches):
                    continue
                batch = batches[index]
                write_batch(storage, traffic, batch)
                event_time = datetime.fromisoformat(batch.batch_end_ts_iso.replace("Z", "+00:00")) + timedelta(
                    seconds=5
                )
                event = s3_event(ctx.bucket("ingestion"), traffic.key(batch), f"{event_time:%Y-%m-%dT%H:%M:%S.000Z}")
                sns.publish(TopicArn=topic, Message=json.dumps(event))
                events.append(event)
                batch_ids.append(batch.mini_batch_id)
            delivered = entry_poller.drain(ctx.aws, pipe)
            deliveries.extend(delivered)
            for delivery in delivered:
                wait_machine(ctx, delivery.execution_arn)
            for run in pipeline_runs(ctx, FEATURE_15M):
                if run["parameters"].get("MiniBatchId") in batch_ids:
                    wait_pipeline(ctx, run["arn"])

    later = [p for p in ctx.options.projects if p in ctx.pending]
    deliver([p for p in ctx.options.projects if p not in later])
    waited = _finish_pending(ctx)
    if later:
        deliver(later)
    # the producer delivers the first event again (at-least-once): the live lock must suppress it
    sns.publish(TopicArn=topic, Message=json.dumps(events[0]))
    deliveries.extend(entry_poller.drain(ctx.aws, pipe))
    for delivery in deliveries:
        wait_machine(ctx, delivery.execution_arn)
    live_ids = {b.mini_batch_id: p for p, t in ctx.traffic.items() for b in t.phase("live")}
    runs = [r for r in pipeline_runs(ctx, FEATURE_15M) if r["parameters"].get("MiniBatchId") in live_ids]
    for run in runs:
        what = f"feature-15m of live batch {run['parameters']['MiniBatchId']}"
        _require_succeeded(wait_pipeline(ctx, run["arn"]), what)
    return (
        f"{len(events) + 1} deliveries ({len(events)} batches + 1 duplicate) -> {len(deliveries)} live "
        f"execution(s) -> {len(runs)} feature-15m execution(s) succeeded{waited}"
    )


def _skipped(ctx: Context, project: str) -> str | None:
    """The reason inference recorded for skipping a live batch of the project, if it skipped one."""
    folder = ctx.storage_root / ctx.bucket("features") / project / "v1" / "predictions"
    for batch in ctx.traffic[project].phase("live"):
        for path in sorted(folder.rglob(f"_metrics/inference_predictions/mini_batch_id={batch.mini_batch_id}.json")):
            metrics = json.loads(path.read_text())
            if metrics.get("status") == "skipped":
                return str(metrics.get("reason"))
    return None


def collect(ctx: Context, html: Path) -> DemoResult:
    batches, steps = live_batches(ctx.aws, ctx.orchestration)
    scores: list[HostScore] = []
    devs: list[Deviation] = []
    predictions, skipped = {}, {}
    features = f"s3://{ctx.bucket('features')}"
    for project in ctx.options.projects:
        found = host_scores(ctx.storage_root, f"{features}/{project}/v1/predictions/", project)
        predictions[project] = len(found)
        scores += found
        devs += deviations(ctx.storage_root, f"{features}/{project}/v1/fg_c/", peaks(found))
        if (reason := _skipped(ctx, project)) is not None:
            skipped[project] = reason
            ctx.notes.append(f"{project}: {reason}")
    injected = ctx.traffic[ctx.options.projects[0]].injected_ip
    report = RunReport(
        title=f"ndrc demo: {ctx.options.hours} h of traffic, {len(ctx.options.projects)} project(s)",
        generated=datetime.now(UTC).replace(microsecond=0),
        batches=tuple(batches),
        steps=tuple(steps),
        scores=tuple(scores),
        deviations=tuple(devs),
        injected_host=injected,
        notes=tuple(ctx.notes),
    )
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(render_html(report), encoding="utf-8")
    live_ids = {b.mini_batch_id: p for p, t in ctx.traffic.items() for b in t.phase("live")}
    live: dict[str, list[str]] = {p: [] for p in ctx.options.projects}
    backfill: dict[str, dict[str, int]] = {p: {"windows": 0, "succeeded": 0} for p in ctx.options.projects}
    backfilled = {b.mini_batch_id: p for p, t in ctx.traffic.items() for b in t.phase("history") + t.phase("training")}
    for run in pipeline_runs(ctx, FEATURE_15M):
        batch_id = run["parameters"].get("MiniBatchId")
        if batch_id in live_ids:
            live[live_ids[batch_id]].append(run["status"])
        elif batch_id in backfilled:
            backfill[backfilled[batch_id]]["windows"] += 1
            backfill[backfilled[batch_id]]["succeeded"] += run["status"] == "Succeeded"
    return DemoResult([], report, html, backfill, live, predictions, skipped)


# --- the chain -----------------------------------------------------------------------------------------


def stop_previous(options: DemoOptions) -> None:
    """Stop what an earlier demo left running: the one recorded in the source workspace and the one in this
    state folder (its files are about to be replaced)."""
    candidates: list[Path | None] = [options.state_dir.resolve() / "workspace"]
    if options.remember:
        candidates.append(demo_state.recorded(options.source.resolve()))
    for folder in dict.fromkeys(c for c in candidates if c is not None and (c / "ndrc.yaml").is_file()):
        demo = demo_state.open_demo(folder)
        if demo is not None:
            demo_state.stop(demo)


@contextmanager
def demo_environment(options: DemoOptions) -> Iterator[Context]:
    """A fresh state folder holding the demo workspace, whose own emulator (`ndrc local up` of that workspace,
    on a free port, steps calling a model server on another free port) runs the demo. The source workspace
    records it (`demo_state`), so a plain `ndrc local status|down` there lists and stops it. It keeps running
    afterwards (also after a failed stage, to be inspected) unless `keep_running` is off; an interrupt
    (Ctrl-C) stops it."""
    stop_previous(options)
    state = options.state_dir.resolve()
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    workspace_dir = state / "workspace"
    demo_workspace.prepare(options.source, workspace_dir, options.projects, demo_workspace.read_overlay())
    port, model_port = free_port(), free_port()
    demo_workspace.prepare_endpoint(workspace_dir / "ndrc.yaml", ENVIRONMENT, f"http://{LOOPBACK}:{port}")
    workspace = load_workspace(workspace_dir)
    environment = workspace.environment(ENVIRONMENT)
    if options.remember:
        demo_state.remember(options.source.resolve(), workspace_dir)
    daemon.up(
        workspace, environment, port=port, model_url=f"http://{LOOPBACK}:{model_port}", step_budget=options.step_budget
    )
    keep = options.keep_running
    try:
        yield Context(options, workspace_dir, environment, model_port)
    except BaseException as err:
        keep = keep and not isinstance(err, KeyboardInterrupt)
        raise
    finally:
        if not keep:
            demo_state.stop(demo_state.DemoEnvironment(workspace, environment))
            if options.remember:
                demo_state.forget(options.source.resolve())


def run_demo(options: DemoOptions, progress: Progress) -> DemoResult:
    options.check()
    stages: list[StageResult] = []
    total = len(STAGES)

    def timed(name: str, action: Callable[[], str]) -> None:
        progress.start(len(stages) + 1, total, name)
        began, wall = time.monotonic(), time.time()
        detail = action()
        stage = StageResult(name, time.monotonic() - began, detail, wall)
        stages.append(stage)
        progress.done(name, stage.seconds, detail)

    progress.start(1, total, STAGES[0])
    began, wall = time.monotonic(), time.time()
    with demo_environment(options) as ctx:
        stages.append(
            StageResult(
                STAGES[0],
                time.monotonic() - began,
                f"emulator at {ctx.environment.endpoint_url}; state in {options.state_dir}",
                wall,
            )
        )
        progress.done(STAGES[0], stages[-1].seconds, stages[-1].detail)
        timed("publish", lambda: stage_publish(ctx))
        timed("traffic", lambda: stage_traffic(ctx))
        timed("inventory + history backfill", lambda: stage_history(ctx))
        timed("FG-B baselines", lambda: stage_baselines(ctx))
        timed("training backfill", lambda: stage_training_backfill(ctx))
        timed("training + deploy", lambda: stage_training(ctx))
        timed("live batches", lambda: stage_live(ctx))
        result: list[DemoResult] = []
        timed("report", lambda: _report(ctx, options.out, result))
        write_timeline(ctx, stages)
    result[0].stages = stages
    return result[0]


def write_timeline(ctx: Context, stages: list[StageResult]) -> Path:
    """`<state dir>/timeline.json`: the stage windows and every pipeline step's start and end, for
    `python -m benchmarks.demo_timeline` (where the wall time goes)."""
    windows = [demo_timeline.StageSpan(s.name, s.started, s.started + s.seconds) for s in stages]
    spans = demo_timeline.collect_spans(ctx.aws.client("sagemaker"))
    path = ctx.options.state_dir.resolve() / "timeline.json"
    path.write_text(json.dumps(demo_timeline.to_json(windows, spans), indent=1), encoding="utf-8")
    return path


def _report(ctx: Context, out: Path, into: list[DemoResult]) -> str:
    into.append(collect(ctx, out.resolve()))
    return f"written {out}"
