"""Library API of `ndrc plan` and `ndrc publish`: open the environment, diff, apply in dependency order.

The CLI and the tests call `make_plan` and `publish`; both take an optional `Aws` (to count calls or
inject a session) and callbacks for showing the plan, confirming it and reporting progress.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from compiler.compilation.compile import compile_workspace
from compiler.deploy import wiring
from compiler.deploy.apply import Applier, Outcome
from compiler.deploy.aws import Aws
from compiler.deploy.deployed import DeployedState, Reader
from compiler.deploy.deployments import DeploymentLog, DeploymentRecord, plan_sha256, who
from compiler.deploy.desired import DesiredState, Scope, read_build, table_layouts
from compiler.deploy.gitinfo import checkout
from compiler.deploy.impact import analyze
from compiler.deploy.owned import OWNED_KINDS, OWNED_SCOPE
from compiler.deploy.plan import Change, Plan, compute_plan, load_plan, replay
from compiler.deploy.plan_verify import plan_problems, summarize
from compiler.deploy.preflight import write_problems
from compiler.errors import NdrcError, UsageError
from compiler.load.symlinks import scan_specs
from compiler.load.workspace import Workspace
from compiler.model import EnvironmentConfig

WRITE_WORKERS = 16
ApplyProgress = Callable[[Outcome, int, int], None]


@dataclass
class Deployment:
    """One environment to publish to: its workspace, settings, AWS clients and the account they reach."""

    workspace: Workspace
    environment: EnvironmentConfig
    aws: Aws
    account: str


def open_deployment(workspace: Workspace, env_name: str | None, aws: Aws | None = None) -> Deployment:
    """Select the environment and check the account (the caller has started the local emulator if needed)."""
    aws = aws or Aws(workspace.environment(env_name))
    environment = aws.environment
    return Deployment(workspace, environment, aws, aws.check_account())


def spec_projects(workspace: Workspace) -> set[str]:
    """Project folders under specs/ (by the same walk validation uses, links followed by the same rule): a
    project whose specs were all removed still gets its items read."""
    return scan_specs(workspace.specs_dir, workspace.root).projects


def desired_state(target: Deployment, build_dir: Path | None, only_table: str | None = None) -> DesiredState:
    if build_dir is None:
        build_dir = compile_workspace(target.workspace, target.environment.name).out_dir
    state = read_build(build_dir, target.environment)
    state.projects |= spec_projects(target.workspace)
    if only_table is not None:
        state.resources = [r for r in state.resources if r.kind == "dynamodb_item" and r.target == only_table]
    return state


def read_deployed(
    target: Deployment,
    scopes: list[Scope],
    projects: set[str],
    wanted: set[str],
    desired_ids: frozenset[str] = frozenset(),
) -> DeployedState:
    def keep(deployed):  # type: ignore[no-untyped-def]
        return deployed.id in wanted or deployed.content.get("project_name") in projects

    return Reader(target.aws, table_layouts(target.environment), keep, desired_ids).read(scopes)


def owned_scopes(env: EnvironmentConfig) -> list[Scope]:
    """One listing per owned artifact kind: what ndrc created in this environment (name prefix + tags)."""
    if not env.name_prefix:
        return []
    return [Scope(OWNED_SCOPE, kind, env.name_prefix) for kind in sorted(OWNED_KINDS)]


def plan_deployment(target: Deployment, build_dir: Path | None = None, only_table: str | None = None) -> Plan:
    return plan_desired(target, desired_state(target, build_dir, only_table), only_table)


def deleted_outside(plan: Plan, last: DeploymentRecord | None) -> None:
    """Mark as drift every create of a resource the last recorded deployment left deployed: it was published
    by ndrc and has been deleted outside ndrc since."""
    if last is None:
        return
    for change in plan.changes:
        if change.action == "create" and change.id in last.published:
            change.drift = True
            change.drift_note = (
                f"drift: published by ndrc (deployment of {last.applied_at}, build "
                f"{last.manifest_sha256[:12]}) and deleted outside ndrc since; publishing "
                "creates it again"
            )


def plan_desired(target: Deployment, desired: DesiredState, only_table: str | None = None) -> Plan:
    scopes = {r.scope.id: r.scope for r in desired.resources}
    env = target.environment
    if only_table in (None, env.parameters_table):
        for project in desired.projects:
            scope = Scope("dynamodb_query", env.parameters_table, project)
            scopes[scope.id] = scope
    if only_table is None:
        scopes.update((scope.id, scope) for scope in owned_scopes(env))
    desired_ids = frozenset(r.id for r in desired.resources)
    deployed = read_deployed(target, list(scopes.values()), desired.projects, set(desired_ids), desired_ids)
    plan = compute_plan(desired, deployed, target.account, env.region)
    kept_kinds = {r.kind for r in desired.resources}
    plan.deleted_kinds = sorted(
        {c.kind for c in plan.changes if c.action == "delete" and c.kind in OWNED_KINDS} - kept_kinds
    )
    if only_table is None and not env.name_prefix:
        plan.skipped.append(
            "state machines and pipelines the build no longer has: environment "
            f"{env.name!r} has no name_prefix, so ndrc cannot tell its own from others; none is pruned"
        )
    deleted_outside(plan, DeploymentLog(target.aws).latest())
    if desired.build_dir is not None:
        analyze(plan, desired.build_dir, env, table_layouts(env))
    return plan


def make_plan(
    workspace: Workspace, env_name: str | None = None, *, build_dir: Path | None = None, aws: Aws | None = None
) -> Plan:
    if build_dir is None and aws is None:  # an invalid workspace is reported before any AWS call
        build_dir = compile_workspace(workspace, env_name).out_dir
    return plan_deployment(open_deployment(workspace, env_name, aws), build_dir)


@dataclass
class PublishResult:
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    already: list[Change] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    declined: bool = False
    record: DeploymentRecord | None = None  # what the deployments log now says about this publish
    record_note: str = ""  # why it was not recorded, when it was not

    @property
    def ok(self) -> bool:
        return not self.refused and not self.declined and all(o.ok for o in self.outcomes)

    def count(self, status: str) -> int:
        """Outcomes with this status; `already` also counts saved-plan changes found applied before."""
        extra = len(self.already) if status == "already" else 0
        return extra + sum(1 for outcome in self.outcomes if outcome.status == status)


def phase(change: Change, env: EnvironmentConfig) -> int:
    """Dependency order: archive, parameters, routing, pipelines, state machines; deletions last."""
    if change.action == "delete":
        if change.kind in OWNED_KINDS:
            return OWNED_KINDS[change.kind].delete_phase
        return 10 if change.target == env.routing_table else 11
    if change.kind == "dynamodb_item":
        return 1 if change.target == env.parameters_table else 2
    if change.kind in wiring.KINDS:
        return wiring.phase(change)
    return {"s3_object": 0, "sagemaker_pipeline": 3, "state_machine": 4}.get(change.kind, 5)


def apply_changes(target: Deployment, changes: list[Change], progress: ApplyProgress | None = None) -> list[Outcome]:
    """Apply phase by phase, in parallel within a phase; after a failed phase, attempt nothing more."""
    applier = Applier(target.aws, table_layouts(target.environment))
    outcomes: list[Outcome] = []
    phases = sorted({phase(c, target.environment) for c in changes})
    for number in phases:
        batch = [c for c in changes if phase(c, target.environment) == number]
        if any(not o.ok for o in outcomes):
            for change in batch:
                outcomes.append(Outcome(change, "not attempted", "an earlier step failed"))
                if progress:
                    progress(outcomes[-1], len(outcomes), len(changes))
            continue
        pool = ThreadPoolExecutor(max_workers=WRITE_WORKERS)
        try:
            for future in as_completed([pool.submit(applier.apply, c) for c in batch]):
                outcomes.append(future.result())
                if progress:
                    progress(outcomes[-1], len(outcomes), len(changes))
        finally:  # on Ctrl-C, finish the writes in flight (each is atomic) and start no more
            pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


def _saved_plan_changes(
    target: Deployment, plan_file: Path, result: PublishResult, desired: DesiredState
) -> list[Change]:
    plan = result.plan
    env = target.environment
    if plan.base is not None:
        raise UsageError(
            f"{plan_file} compares two git versions (`plan --base`), not the deployed state; "
            "it cannot be published: make a plan without --base"
        )
    if (plan.environment, plan.account_id, plan.region) != (env.name, target.account, env.region):
        raise UsageError(
            f"{plan_file} was made for environment {plan.environment!r} (account "
            f"{plan.account_id}, {plan.region}), not {env.name!r} ({target.account}, {env.region})"
        )
    problems = plan_problems(plan, desired)
    if problems:
        raise UsageError(
            f"{plan_file} does not match the build it names; refusing it, nothing was written: {summarize(problems)}"
        )
    scopes = [Scope.from_id(s) for s in plan.scopes]
    now = read_deployed(
        target, scopes, set(plan.projects), {c.id for c in plan.changes}, frozenset(r.id for r in desired.resources)
    )
    checked = replay(plan, now)
    result.refused, result.already = checked.moved, checked.already
    return checked.pending


def record_deployment(
    target: Deployment, result: PublishResult, desired: DesiredState, build_dir: Path, rollback_of: str | None
) -> None:
    """Append this publish to the environment's deployments log, with the build it applied."""
    log = DeploymentLog(target.aws)
    if not log.available:
        result.record_note = (
            f"not recorded: environment {target.environment.name!r} has no buckets.artifacts for the deployments log"
        )
        return
    failed = {o.change.id for o in result.outcomes if not o.ok or o.status == "skipped"}
    published = {r.id: r.content_sha256 for r in desired.resources if r.id not in failed}
    counts = {s: result.count(s) for s in ("applied", "already", "conflict", "failed", "not attempted", "skipped")}
    env = target.environment
    found = checkout(target.workspace.root)
    record = DeploymentRecord(
        env.name,
        target.account,
        env.region,
        "",
        who(target.aws),
        found.to_json() if found else None,
        plan_sha256(result.plan.to_json()),
        desired.source,
        result.ok,
        {k: v for k, v in counts.items() if v},
        published,
        rollback_of,
    )
    try:
        result.record = log.record(record, build_dir)
    except NdrcError as problem:  # the changes are applied; say so, and that the log could not be written
        result.record_note = f"not recorded in the deployments log: {problem}"


def publish(
    workspace: Workspace,
    env_name: str | None = None,
    *,
    build_dir: Path | None = None,
    plan_file: Path | None = None,
    prune: bool = False,
    dry_run: bool = False,
    aws: Aws | None = None,
    show: Callable[[Plan], None] | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    progress: ApplyProgress | None = None,
    only_table: str | None = None,
    delete_projects: frozenset[str] = frozenset(),
    rollback: str | None = None,
    delete_kinds: frozenset[str] = frozenset(),
) -> PublishResult:
    """Plan (or load a saved plan and check it is still current), then apply it unless told not to.

    With `rollback` (a build manifest sha256 or a unique prefix of one), the build is the one the deployments log
    kept for that earlier deployment, applied through the same plan, confirmation and prune rules."""
    if rollback is not None and (plan_file is not None or build_dir is not None or only_table is not None):
        raise UsageError("--rollback applies a recorded build; it cannot be combined with --plan or --build")
    saved = load_plan(plan_file) if plan_file is not None else None  # invalid input fails before any AWS call
    if build_dir is None and aws is None and only_table is None and rollback is None:
        build_dir = compile_workspace(workspace, env_name).out_dir
    target = open_deployment(workspace, env_name, aws)
    if rollback is None:
        return _publish(
            target,
            build_dir,
            saved,
            plan_file,
            prune,
            dry_run,
            show,
            confirm,
            progress,
            only_table,
            delete_projects,
            delete_kinds,
        )
    log = DeploymentLog(target.aws)
    manifest_sha = log.resolve(rollback)
    with tempfile.TemporaryDirectory(prefix="ndrc-rollback-") as folder:
        build = log.fetch_build(manifest_sha, Path(folder) / target.environment.name)
        return _publish(
            target,
            build,
            None,
            None,
            prune,
            dry_run,
            show,
            confirm,
            progress,
            None,
            delete_projects,
            delete_kinds,
            rollback_of=manifest_sha,
        )


def _publish(
    target: Deployment,
    build_dir: Path | None,
    saved: Plan | None,
    plan_file: Path | None,
    prune: bool,
    dry_run: bool,
    show: Callable[[Plan], None] | None,
    confirm: Callable[[Plan], bool] | None,
    progress: ApplyProgress | None,
    only_table: str | None,
    delete_projects: frozenset[str],
    delete_kinds: frozenset[str],
    rollback_of: str | None = None,
) -> PublishResult:
    if build_dir is None:
        build_dir = compile_workspace(target.workspace, target.environment.name).out_dir
    desired = desired_state(target, build_dir, only_table)
    if plan_file is not None and saved is not None:
        result = PublishResult(saved)
        changes = _saved_plan_changes(target, plan_file, result, desired)
    else:
        result = PublishResult(plan_desired(target, desired, only_table))
        changes = list(result.plan.changes)
    if show:
        show(result.plan)
    if result.plan.unsupported and not dry_run:
        raise UsageError("the build has artifacts this ndrc cannot publish (listed above); nothing was written")
    unnamed = [p for p in result.plan.deleted_projects if p not in delete_projects]
    if prune and unnamed and not dry_run:
        flags = " ".join(f"--delete-project {project}" for project in unnamed)
        raise UsageError(
            f"this plan deletes every item of project(s) {', '.join(unnamed)}; if that is intended, "
            f"pass {flags}; nothing was written"
        )
    wiped = [k for k in result.plan.deleted_kinds if k not in delete_kinds]
    if prune and wiped and not dry_run:
        flags = " ".join(f"--delete-kind {kind}" for kind in wiped)
        raise UsageError(
            f"this plan deletes every deployed {', '.join(wiped)} of the environment (the build has "
            f"none left); if that is intended, pass {flags}; nothing was written"
        )
    applicable = [c for c in changes if c.action != "delete" or prune]
    rejected = write_problems(applicable, table_layouts(target.environment))
    if rejected:
        raise UsageError(
            "DynamoDB would reject these writes, so none is made (nothing was written): " + summarize(rejected)
        )
    result.outcomes = [
        Outcome(c, "skipped", "deletion needs --prune") for c in changes if c.action == "delete" and not prune
    ]
    if result.refused or dry_run or not applicable:
        result.calls = dict(target.aws.calls)
        return result
    if confirm is not None and not confirm(result.plan):
        result.declined = True
        return result
    result.outcomes.extend(apply_changes(target, applicable, progress))
    if only_table is None:
        record_deployment(target, result, desired, build_dir, rollback_of)
    else:
        result.record_note = "not recorded: a publish of one table only (provision --seed-routing)"
    result.calls = dict(target.aws.calls)
    return result
