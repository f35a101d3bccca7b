"""The deployments log against a moto server over HTTP: what publish records, `ndrc history`, `publish
--rollback`, and an item ndrc published then deleted outside ndrc rendered as drift in every plan format."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt
from publish_helpers import Sandbox, job_item, route

from compiler.cli import cli
from compiler.deploy.deployments import DeploymentLog
from compiler.deploy.plan_render import render_json, render_markdown, render_text
from compiler.deploy.publish import make_plan, publish

pytestmark = pytest.mark.emulator


def build(sandbox: Sandbox, folder: str, eps: int, projects: tuple[str, ...] = ("alpha", "beta")) -> Path:
    items = [job_item(p, "fg_c_builder", eps=eps) for p in projects]
    return sandbox.write_build(
        folder,
        items=items,
        routes=[route("acme", "hq", "alpha")],
        files={"runtime/abc/runtime.zip": f"zip {eps}".encode()},
    )


def ndrc(sandbox: Sandbox, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--workspace", str(sandbox.root)])
    return result.exit_code, result.output


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def test_publish_records_plan_build_who_when_and_git_commit(provisioned: Sandbox) -> None:
    subprocess.run(["git", "init", "-q", str(provisioned.root)], check=True)
    subprocess.run(["git", "-C", str(provisioned.root), "add", "ndrc.yaml"], check=True)
    subprocess.run(
        ["git", "-C", str(provisioned.root), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init"],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(provisioned.root), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    aws, _ = provisioned.aws()
    result = publish(provisioned.workspace, "local", build_dir=build(provisioned, "b1", 1), aws=aws)
    assert result.ok and result.record is not None
    (record,) = DeploymentLog(aws).records()
    assert record.manifest_sha256 == result.plan.source and len(record.plan_sha256) == 64
    assert record.who["arn"] == aws.identity()["arn"] and record.account_id == "123456789012"
    assert record.git == {"commit": head, "dirty": False}  # untracked files (the build) do not count
    assert record.counts == {"applied": 4} and record.ok
    assert len(record.published) == 4 and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", record.applied_at)
    again = publish(provisioned.workspace, "local", build_dir=build(provisioned, "b1", 1), aws=aws)
    assert again.ok and again.record is None and len(DeploymentLog(aws).records()) == 1  # nothing applied


def test_an_item_published_then_deleted_outside_ndrc_is_drift_in_every_format(provisioned: Sandbox) -> None:
    aws, _ = provisioned.aws()
    assert publish(provisioned.workspace, "local", build_dir=build(provisioned, "b1", 1), aws=aws).ok
    aws.client("dynamodb").delete_item(
        TableName=provisioned.env.parameters_table,
        Key={"project_name": {"S": "beta"}, "job_name": {"S": "fg_c_builder#v1"}},
    )
    bigger = build(provisioned, "b2", 1, projects=("alpha", "beta", "gamma"))
    plan = make_plan(provisioned.workspace, "local", build_dir=bigger, aws=aws)
    changes = {c.label: c for c in plan.changes}
    gone, new = changes["beta / fg_c_builder#v1"], changes["gamma / fg_c_builder#v1"]
    assert (gone.action, gone.drift, new.action, new.drift) == ("create", True, "create", False)
    assert "deleted outside ndrc" in gone.drift_note and plan.drifted == 1

    text = render_text(plan)
    assert "+ create beta / fg_c_builder#v1 (DRIFT: deleted outside ndrc)" in text
    assert "! drift: published by ndrc" in text and "1 drifted" in text
    assert "+ create gamma / fg_c_builder#v1\n" in text

    document = json.loads(render_json(plan))
    assert document["summary"]["drift"] == 1
    (drifted,) = [c for c in document["changes"] if c["drift"]]
    assert drifted["label"] == "beta / fg_c_builder#v1" and "deleted outside ndrc" in drifted["drift_note"]

    html = _html(render_markdown(plan))
    summaries = re.findall(r"<summary>(.*?)</summary>", html)
    assert [s for s in summaries if "DRIFT" in s] == [
        "+ create <code>beta / fg_c_builder#v1</code> (ml_projects_parameters_"
        + provisioned.uid
        + ") (DRIFT: deleted outside ndrc)"
    ]
    beta = html.split("beta / fg_c_builder#v1")[1].split("</details>")[0]
    assert "<blockquote>" in beta and "deleted outside ndrc since" in beta and "<li>" not in beta

    assert publish(provisioned.workspace, "local", build_dir=bigger, aws=aws).ok
    assert not make_plan(provisioned.workspace, "local", build_dir=bigger, aws=aws).has_changes


def test_rollback_reapplies_a_recorded_build_through_the_normal_path(provisioned: Sandbox) -> None:
    first = build(provisioned, "b1", 1)
    assert ndrc(provisioned, "publish", "--build", str(first), "--yes")[0] == 0
    aws, _ = provisioned.aws()
    first_hash = DeploymentLog(aws).records()[0].manifest_sha256
    shutil.rmtree(first.parent)  # the rollback needs only what the log kept
    code, output = ndrc(provisioned, "publish", "--build", str(build(provisioned, "b2", 2)), "--yes")
    assert code == 0 and "recorded deployment" in output

    code, output = ndrc(provisioned, "publish", "--rollback", first_hash[:10], "--dry-run")
    assert code == 0 and "~ update alpha / fg_c_builder#v1" in output and "- spec.eps: 2" in output
    assert "Plan: 0 to create, 3 to update" in output  # both items and the runtime archive go back
    code, output = ndrc(provisioned, "publish", "--rollback", first_hash[:10], "--yes")
    assert code == 0, output
    items = provisioned.items(provisioned.env.parameters_table)
    assert {k: v["spec"]["eps"] for k, v in items.items()} == {
        "alpha / fg_c_builder#v1": Decimal(1),
        "beta / fg_c_builder#v1": Decimal(1),
    }
    records = DeploymentLog(aws).records()
    assert [r.manifest_sha256 for r in records] == [first_hash, records[1].manifest_sha256, first_hash]
    assert records[0].rollback_of == first_hash and records[1].rollback_of is None

    code, output = ndrc(provisioned, "history")
    assert code == 0 and output.count("build ") == 3 and f"rollback to {first_hash[:12]}" in output
    code, output = ndrc(provisioned, "history", "--format", "json", "--limit", "2")
    document = json.loads(output)
    assert [d["manifest_sha256"] for d in document["deployments"]] == [first_hash, records[1].manifest_sha256]
    assert document["deployments"][0]["published"] == 4


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--rollback", "zz"), "give a build manifest sha256"),
        (("--rollback", "0123456789abcdef"), "no recorded build"),
        (("--rollback", "0123456789abcdef", "--plan", "ndrc.yaml"), "cannot be combined"),
    ],
)
def test_rollback_refuses_bad_references(provisioned: Sandbox, arguments: tuple[str, ...], message: str) -> None:
    code, output = ndrc(provisioned, "publish", "--yes", *arguments)
    assert code == 2 and message in output and "Traceback" not in output


def test_history_of_an_empty_log(provisioned: Sandbox) -> None:
    code, output = ndrc(provisioned, "history")
    assert code == 0 and "no deployments recorded for local" in output
