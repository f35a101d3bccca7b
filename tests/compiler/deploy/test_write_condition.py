"""Every write is conditional on the whole item the plan saw: an edit made by anyone between plan and
write (console, script, another tool: none of them touch content_sha256/updated_at) is a conflict."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from publish_helpers import Sandbox, job_item

from compiler.deploy.plan import Plan
from compiler.deploy.publish import publish

pytestmark = pytest.mark.emulator

KEY = {"project_name": {"S": "alpha"}, "job_name": {"S": "fg_c_builder#v1"}}


def _publish_editing_meanwhile(sandbox: Sandbox, build: Any, edit: dict[str, Any], prune: bool = False) -> Any:
    """Publish `build`; while it waits for confirmation, someone edits the item with UpdateItem."""
    aws = sandbox.aws()[0]

    def confirm(_plan: Plan) -> bool:
        aws.client("dynamodb").update_item(TableName=sandbox.env.parameters_table, Key=KEY, **edit)
        return True

    return publish(sandbox.workspace, "local", build_dir=build, aws=aws, confirm=confirm, prune=prune)


def _first(sandbox: Sandbox) -> None:
    build = sandbox.write_build(
        "first",
        items=[
            job_item("alpha", "fg_c_builder", z_max=6, nested={"a": [1, 2]}),
            job_item("alpha", "delta_builder", eps=1),
        ],
    )
    assert publish(sandbox.workspace, "local", build_dir=build, aws=sandbox.aws()[0]).ok


def _deployed(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.items(sandbox.env.parameters_table)["alpha / fg_c_builder#v1"]


@pytest.mark.parametrize(
    "edit",
    [
        {"UpdateExpression": "SET spec.z_max = :v", "ExpressionAttributeValues": {":v": {"N": "42"}}},
        {"UpdateExpression": "SET spec.nested.a[1] = :v", "ExpressionAttributeValues": {":v": {"N": "3"}}},
        {
            "UpdateExpression": "SET #o = :v",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":v": {"S": "someone-else"}},
        },
        {"UpdateExpression": "REMOVE spec.nested"},
        {"UpdateExpression": "SET tags = :v", "ExpressionAttributeValues": {":v": {"M": {"team": {"S": "x"}}}}},
    ],
    ids=["nested-number", "list-element", "top-level-attribute", "removed-attribute", "added-attribute"],
)
def test_an_edit_between_plan_and_write_is_a_conflict_never_overwritten(
    provisioned: Sandbox, edit: dict[str, Any]
) -> None:
    _first(provisioned)
    before_edit = _deployed(provisioned)
    second = provisioned.write_build(
        "second",
        items=[
            {**job_item("alpha", "fg_c_builder", z_max=4, nested={"a": [1, 2]}), "tags": {"team": "y"}},
            job_item("alpha", "delta_builder", eps=1),
        ],
    )
    result = _publish_editing_meanwhile(provisioned, second, edit)
    (outcome,) = result.outcomes
    assert outcome.status == "conflict" and "changed since plan" in outcome.message
    assert not result.ok
    after = _deployed(provisioned)
    assert after != before_edit  # the edit is still there ...
    assert after["spec"]["z_max"] != Decimal(4)  # ... and the plan's value was not written


def test_a_deletion_of_an_item_edited_since_the_plan_is_a_conflict(provisioned: Sandbox) -> None:
    _first(provisioned)
    smaller = provisioned.write_build("smaller", items=[job_item("alpha", "delta_builder", eps=1)])
    edit = {"UpdateExpression": "SET spec.z_max = :v", "ExpressionAttributeValues": {":v": {"N": "42"}}}
    result = _publish_editing_meanwhile(provisioned, smaller, edit, prune=True)
    (outcome,) = result.outcomes
    assert outcome.status == "conflict"
    assert _deployed(provisioned)["spec"]["z_max"] == Decimal(42)


def test_without_an_edit_the_same_publish_applies(provisioned: Sandbox) -> None:
    _first(provisioned)
    second = provisioned.write_build(
        "second",
        items=[
            job_item("alpha", "fg_c_builder", z_max=4, nested={"a": [1, 2]}),
            job_item("alpha", "delta_builder", eps=1),
        ],
    )
    result = publish(provisioned.workspace, "local", build_dir=second, aws=provisioned.aws()[0])
    assert result.ok and result.count("applied") == 1
    assert _deployed(provisioned)["spec"]["z_max"] == Decimal(4)
