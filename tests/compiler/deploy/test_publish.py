"""Publish against a moto server over HTTP: create, no-op, one change, races, drift, prune, partial failure."""

from __future__ import annotations

import hashlib
import json
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from publish_helpers import Sandbox, job_item, pipeline, route, state_machine

from compiler.deploy.publish import make_plan, publish
from compiler.errors import UsageError

pytestmark = pytest.mark.emulator

PROJECTS = ("alpha", "beta", "gamma")


def full_build(sandbox: Sandbox, eps: str = "1e-6", folder: str = "build", alpha_eps: str | None = None) -> Path:
    def spec_eps(project: str) -> Decimal:
        return Decimal(alpha_eps if project == "alpha" and alpha_eps else eps)

    items = [
        job_item(p, job, spec_eps=spec_eps(p) if job == "fg_c_builder" else 1)
        for p in PROJECTS
        for job in ("delta_builder", "fg_c_builder")
    ]
    items.append(job_item("alpha", "machine_inventory_unload", version=None))
    return sandbox.write_build(
        folder,
        items=items,
        routes=[route("acme", p, p) for p in PROJECTS],
        machines={sandbox.name("live"): state_machine("hello")},
        pipelines={sandbox.name("fifteen-minute"): pipeline("alpha")},
        files={"runtime/abc123/runtime.zip": b"PK-not-really-a-zip", "runtime/abc123/launcher.py": b"print()\n"},
    )


def test_first_publish_creates_everything_and_the_second_is_a_no_op(provisioned: Sandbox) -> None:
    build = full_build(provisioned)
    aws, log = provisioned.aws()
    first = publish(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert first.ok and first.count("applied") == 7 + 3 + 1 + 1 + 2
    env = provisioned.env
    deployed = provisioned.items(env.parameters_table)
    assert set(deployed) == {f"{p} / {j}#v1" for p in PROJECTS for j in ("delta_builder", "fg_c_builder")} | {
        "alpha / machine_inventory_unload"
    }
    item = deployed["alpha / fg_c_builder#v1"]
    assert item["spec"]["spec_eps"] == Decimal("0.000001") and item["owner"] == "team-a"
    assert item["updated_at"].endswith("Z") and len(item["content_sha256"]) == 64
    assert set(provisioned.items(env.routing_table)) == {f"acme#{p}" for p in PROJECTS}
    body = aws.client("s3").get_object(Bucket=env.get("buckets.artifacts"), Key="runtime/abc123/runtime.zip")
    assert body["Body"].read() == b"PK-not-really-a-zip"
    assert aws.client("sagemaker").describe_pipeline(PipelineName=provisioned.name("fifteen-minute"))["RoleArn"]

    log.reset()
    second = publish(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert second.ok and second.outcomes == [] and not second.plan.has_changes
    assert log.writes() == 0
    assert log.count("dynamodb.Query") == len(PROJECTS)  # one read per project (+ the routing table's scan)
    assert log.count("dynamodb.Scan") == 1
    assert sum(n for name, n in log.calls.items() if name.startswith("dynamodb.")) == len(PROJECTS) + 1


def test_one_spec_edited_is_exactly_one_put_item(provisioned: Sandbox) -> None:
    aws, log = provisioned.aws()
    publish(provisioned.workspace, "local", build_dir=full_build(provisioned), aws=aws)
    edited = full_build(provisioned, folder="edited", alpha_eps="2e-6")
    plan = make_plan(provisioned.workspace, "local", build_dir=edited, aws=aws)
    (change,) = plan.changes
    assert (change.action, change.label) == ("update", "alpha / fg_c_builder#v1")
    assert change.fields == [{"path": "spec.spec_eps", "change": "changed", "old": "0.000001", "new": "0.000002"}]
    log.reset()
    result = publish(provisioned.workspace, "local", build_dir=edited, aws=aws)
    assert result.ok and result.count("applied") == 1
    assert log.count("dynamodb.PutItem") == 1 and log.writes() == 1


def test_two_publishers_racing_on_one_item_one_wins_the_other_reports_a_conflict(provisioned: Sandbox) -> None:
    publish(provisioned.workspace, "local", build_dir=full_build(provisioned), aws=provisioned.aws()[0])
    builds = [full_build(provisioned, eps=eps, folder=f"racer{n}") for n, eps in enumerate(("3e-6", "4e-6"))]
    both_planned = threading.Barrier(2)
    results = {}

    def racer(number: int) -> None:
        def confirm(_plan: object) -> bool:
            both_planned.wait(timeout=30)  # both have read the same deployed state before either writes
            return True

        results[number] = publish(
            provisioned.workspace, "local", build_dir=builds[number], aws=provisioned.aws()[0], confirm=confirm
        )

    threads = [threading.Thread(target=racer, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    deployed = provisioned.items(provisioned.env.parameters_table)
    for project in PROJECTS:  # per item: exactly one racer wrote it, the other was told, nothing is lost
        label = f"{project} / fg_c_builder#v1"
        outcomes = {n: o for n in (0, 1) for o in results[n].outcomes if o.change.label == label}
        assert sorted(o.status for o in outcomes.values()) == ["applied", "conflict"]
        winner = next(n for n, o in outcomes.items() if o.status == "applied")
        assert "changed since plan" in outcomes[1 - winner].message
        assert deployed[label]["spec"]["spec_eps"] == Decimal(("3e-6", "4e-6")[winner])


def test_out_of_band_edit_shows_as_drift_and_publish_restores_git(provisioned: Sandbox) -> None:
    build = full_build(provisioned)
    aws, _ = provisioned.aws()
    publish(provisioned.workspace, "local", build_dir=build, aws=aws)
    aws.client("dynamodb").update_item(
        TableName=provisioned.env.parameters_table,
        Key={"project_name": {"S": "beta"}, "job_name": {"S": "fg_c_builder#v1"}},
        UpdateExpression="SET spec.spec_eps = :e",
        ExpressionAttributeValues={":e": {"N": "0.5"}},
    )
    plan = make_plan(provisioned.workspace, "local", build_dir=build, aws=aws)
    (change,) = plan.changes
    assert change.drift and change.action == "update" and change.label == "beta / fg_c_builder#v1"
    assert change.fields == [{"path": "spec.spec_eps", "change": "changed", "old": "0.5", "new": "0.000001"}]
    assert publish(provisioned.workspace, "local", build_dir=build, aws=aws).ok
    assert not make_plan(provisioned.workspace, "local", build_dir=build, aws=aws).has_changes


def test_deletion_only_with_prune(provisioned: Sandbox) -> None:
    aws, log = provisioned.aws()
    publish(provisioned.workspace, "local", build_dir=full_build(provisioned), aws=aws)
    smaller = provisioned.write_build(
        "smaller",
        items=[job_item(p, "delta_builder", spec_eps=1) for p in PROJECTS],
        routes=[route("acme", p, p) for p in PROJECTS],
        machines={provisioned.name("live"): state_machine("hello")},
        pipelines={provisioned.name("fifteen-minute"): pipeline("alpha")},
    )
    kept = publish(provisioned.workspace, "local", build_dir=smaller, aws=aws)
    assert kept.ok and kept.count("skipped") == 4 and kept.count("applied") == 0
    assert len(provisioned.items(provisioned.env.parameters_table)) == 7
    log.reset()
    pruned = publish(provisioned.workspace, "local", build_dir=smaller, aws=aws, prune=True)
    assert pruned.ok and pruned.count("applied") == 4 and log.count("dynamodb.DeleteItem") == 4
    assert set(provisioned.items(provisioned.env.parameters_table)) == {f"{p} / delta_builder#v1" for p in PROJECTS}


def test_dry_run_writes_nothing(provisioned: Sandbox) -> None:
    aws, log = provisioned.aws()
    result = publish(provisioned.workspace, "local", build_dir=full_build(provisioned), aws=aws, dry_run=True)
    assert result.plan.count("create") == 14 and result.outcomes == [] and log.writes() == 0


def test_one_bad_item_fails_alone_and_later_steps_wait(provisioned: Sandbox) -> None:
    items = [job_item("alpha", "delta_builder"), job_item("alpha", "fg_a_builder")]
    build = provisioned.write_build(items=items, machines={provisioned.name("sm"): state_machine("x")})
    aws = provisioned.aws()[0]

    def confirm(_plan: object) -> bool:  # someone creates one of the items between plan and write
        aws.client("dynamodb").put_item(
            TableName=provisioned.env.parameters_table,
            Item={"project_name": {"S": "alpha"}, "job_name": {"S": "fg_a_builder#v1"}, "owner": {"S": "someone"}},
        )
        return True

    result = publish(provisioned.workspace, "local", build_dir=build, aws=aws, confirm=confirm)
    statuses = {o.change.label: o.status for o in result.outcomes}
    assert not result.ok
    assert statuses == {
        "alpha / delta_builder#v1": "applied",
        "alpha / fg_a_builder#v1": "conflict",
        provisioned.name("sm"): "not attempted",
    }
    fixed = provisioned.write_build("fixed", items=items[:1], machines={provisioned.name("sm"): state_machine("x")})
    again = publish(provisioned.workspace, "local", build_dir=fixed, aws=provisioned.aws()[0])
    assert again.ok and [o.change.label for o in again.outcomes if o.status == "applied"] == [provisioned.name("sm")]


def test_an_empty_key_is_refused_before_any_write(provisioned: Sandbox) -> None:
    items = [job_item("alpha", "delta_builder"), {**job_item("alpha", "fg_a_builder"), "job_name": ""}]
    aws, log = provisioned.aws()
    with pytest.raises(UsageError, match="job_name: a key attribute must be a non-empty string"):
        publish(provisioned.workspace, "local", build_dir=provisioned.write_build(items=items), aws=aws)
    assert log.writes() == 0


def test_unknown_artifact_kind_is_shown_and_blocks_publish(provisioned: Sandbox) -> None:
    build = provisioned.write_build(items=[job_item("alpha", "delta_builder")])
    (build / "w.json").write_bytes(b"")
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["artifacts"].append(
        {
            "kind": "quantum_widget",
            "name": "w",
            "path": "w.json",
            "sha256": hashlib.sha256(b"").hexdigest(),
            "sources": [],
        }
    )
    (build / "manifest.json").write_text(json.dumps(manifest))
    aws, log = provisioned.aws()
    plan = make_plan(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert plan.unsupported == ["w.json: unknown artifact kind 'quantum_widget'; this ndrc cannot publish it"]
    with pytest.raises(UsageError, match="cannot publish"):
        publish(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert log.writes() == 0


def test_missing_tables_say_to_provision(sandbox: Sandbox) -> None:
    build = sandbox.write_build(items=[job_item("alpha", "delta_builder")])
    with pytest.raises(UsageError, match="run `ndrc provision --env local`"):
        make_plan(sandbox.workspace, "local", build_dir=build)


def test_state_machines_and_pipelines_are_updated_in_place(provisioned: Sandbox) -> None:
    aws, log = provisioned.aws()
    machine, flow = provisioned.name("live"), provisioned.name("fifteen-minute")
    first = provisioned.write_build("one", machines={machine: state_machine("v1")}, pipelines={flow: pipeline("a")})
    assert publish(provisioned.workspace, "local", build_dir=first, aws=aws).ok
    second = provisioned.write_build("two", machines={machine: state_machine("v2")}, pipelines={flow: pipeline("b")})
    plan = make_plan(provisioned.workspace, "local", build_dir=second, aws=aws)
    assert {(c.kind, c.action, tuple(f["path"] for f in c.fields)) for c in plan.changes} == {
        ("state_machine", "update", ("definition.States.Done.Result.message",)),
        ("sagemaker_pipeline", "update", ("definition.Parameters[0].DefaultValue",)),
    }
    log.reset()
    assert publish(provisioned.workspace, "local", build_dir=second, aws=aws).ok
    assert log.count("stepfunctions.UpdateStateMachine") == 1 and log.count("sagemaker.UpdatePipeline") == 1
    assert log.writes() == 2
    deployed = aws.client("sagemaker").describe_pipeline(PipelineName=flow)["PipelineDefinition"]
    assert json.loads(deployed) == pipeline("b")


def test_throttled_writes_are_retried_by_botocore(provisioned: Sandbox) -> None:
    """Every third PutItem attempt is throttled; adaptive retries absorb it and each item is one API call."""
    from botocore.awsrequest import AWSResponse

    aws, log = provisioned.aws()
    attempts = {"n": 0}

    class Raw:
        def stream(self, **_: object) -> object:
            yield b""

    def throttle(request: object, **_: object) -> AWSResponse | None:
        attempts["n"] += 1
        if attempts["n"] % 3:
            return None
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}'
        response = AWSResponse("http://emulator", 400, {"content-type": "application/x-amz-json-1.0"}, Raw())
        response._content = body
        return response

    aws.session.events.register("before-send.dynamodb.PutItem", throttle)
    build = provisioned.write_build(items=[job_item("alpha", f"job{n}") for n in range(6)])
    result = publish(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert result.ok and result.count("applied") == 6
    assert log.count("dynamodb.PutItem") == 6 and attempts["n"] >= 8
    assert not make_plan(provisioned.workspace, "local", build_dir=build, aws=aws).has_changes
