"""`ndrc plan --base REF`: the plan between the workspace at a git ref and the workspace now, for review without
AWS. The tree at REF is exported with `git archive` into a temporary folder (the repository and its worktrees are
not touched) and compiled there by this ndrc; its build then stands in for the deployed state."""

from __future__ import annotations

import tempfile
from pathlib import Path

from compiler.compilation.compile import compile_workspace
from compiler.deploy.deployed import Deployed, DeployedState
from compiler.deploy.desired import DesiredState, read_build, table_layouts
from compiler.deploy.diff import content_hash
from compiler.deploy.gitinfo import export_tree
from compiler.deploy.impact import analyze
from compiler.deploy.plan import Plan, compute_plan
from compiler.errors import UsageError, WorkspaceInvalid
from compiler.load.workspace import Workspace
from compiler.model import EnvironmentConfig
from compiler.validation.workspace_config import load_workspace


def as_deployed(desired: DesiredState, env: EnvironmentConfig) -> DeployedState:
    """A build seen as if it were deployed exactly as built."""
    state = DeployedState()
    layouts = table_layouts(env)
    scopes: dict[str, list[Deployed]] = {}
    for resource in desired.resources:
        key = item = None
        if resource.kind == "dynamodb_item":
            item = resource.payload
            key = {name: item[name] for name in layouts[resource.target]}
        deployed = Deployed(
            resource.kind,
            resource.target,
            resource.label,
            resource.scope,
            resource.content,
            content_hash(resource.content),
            key=key,
            item=item,
        )
        scopes.setdefault(resource.scope.id, []).append(deployed)
    for resources in scopes.values():
        state.add(resources[0].scope, resources)
    return state


def compile_base(workspace: Workspace, env_name: str, ref: str, folder: Path) -> tuple[DesiredState, str]:
    base_root, commit = export_tree(workspace.root, ref, folder)
    try:
        base = load_workspace(base_root)
        environment = base.environment(env_name)
        build = compile_workspace(base, environment.name).out_dir
    except WorkspaceInvalid as invalid:
        first = next((d for d in invalid.diagnostics if d.is_error), None)
        where = f": {first.path}:{first.line}:{first.column}: {first.message}" if first is not None else ""
        raise UsageError(
            f"--base {ref}: the workspace at commit {commit[:12]} does not compile ({invalid}){where}"
        ) from None
    except UsageError as problem:
        raise UsageError(f"--base {ref}: the workspace at commit {commit[:12]}: {problem}") from None
    return read_build(build, environment), commit


def plan_against_base(workspace: Workspace, env_name: str, ref: str, head_build: Path) -> Plan:
    env = workspace.environment(env_name)
    head = read_build(head_build, env)
    with tempfile.TemporaryDirectory(prefix="ndrc-base-") as folder:
        base, commit = compile_base(workspace, env.name, ref, Path(folder))
        plan = compute_plan(head, as_deployed(base, env), str(env.account_id or ""), env.region)
    plan.base = {"ref": ref, "commit": commit}
    analyze(plan, head_build, env, table_layouts(env))
    return plan
