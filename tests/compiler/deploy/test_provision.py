"""`ndrc provision`: tables with the agreed keys, TTL and recovery; idempotent; seeds routing from the build."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from publish_helpers import REPO_ROOT, Sandbox

from compiler.cli import cli
from compiler.deploy.provision import provision
from compiler.errors import UsageError

pytestmark = pytest.mark.emulator


def test_creates_the_three_tables_then_changes_nothing(sandbox: Sandbox) -> None:
    aws, log = sandbox.aws()
    first = provision(sandbox.workspace, "local", aws=aws)
    assert first.changed and log.count("dynamodb.CreateTable") == 3
    client = aws.client("dynamodb")
    env = sandbox.env
    keys = {
        t: [(k["AttributeName"], k["KeyType"]) for k in client.describe_table(TableName=t)["Table"]["KeySchema"]]
        for t in (env.parameters_table, env.routing_table, env.lock_table)
    }
    assert keys == {
        env.parameters_table: [("project_name", "HASH"), ("job_name", "RANGE")],
        env.routing_table: [("org_key", "HASH")],
        env.lock_table: [("lock_key", "HASH")],
    }
    for table in keys:
        description = client.describe_table(TableName=table)["Table"]
        assert description["TableStatus"] == "ACTIVE"
        assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = client.describe_time_to_live(TableName=env.lock_table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    log.reset()
    second = provision(sandbox.workspace, "local", aws=aws)
    assert not second.changed and log.writes() == 0
    assert not [name for name in log.calls if "Create" in name or "Update" in name]


def test_a_table_with_other_keys_is_an_error(sandbox: Sandbox) -> None:
    aws, _ = sandbox.aws()
    aws.client("dynamodb").create_table(
        TableName=sandbox.env.routing_table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "project_name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "project_name", "AttributeType": "S"}],
    )
    with pytest.raises(UsageError, match="not the table ndrc expects"):
        provision(sandbox.workspace, "local", aws=aws)


def test_seed_routing_writes_the_compiled_routes_once(sandbox: Sandbox) -> None:
    shutil.copytree(REPO_ROOT / "specs", sandbox.root / "specs")
    runner = CliRunner()
    result = runner.invoke(cli, ["provision", "--seed-routing", "--workspace", str(sandbox.root)])
    assert result.exit_code == 0, result.output
    compiled = (sandbox.root / "build" / "local" / "dynamodb" / f"{sandbox.env.routing_table}.jsonl").read_text()
    expected = {json.loads(line)["Item"]["org_key"]["S"] for line in compiled.splitlines()}
    assert expected and set(sandbox.items(sandbox.env.routing_table)) == expected
    assert sandbox.items(sandbox.env.parameters_table) == {}  # only routing is seeded
    again = runner.invoke(cli, ["provision", "--seed-routing", "--workspace", str(sandbox.root)])
    assert again.exit_code == 0 and "already provisioned" in again.output and "nothing to do" in again.output
