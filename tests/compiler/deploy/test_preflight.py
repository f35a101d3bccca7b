"""Every item is checked against DynamoDB's limits before the first write: a build holding a number DynamoDB
cannot store (e.g. from `--build` made elsewhere) is refused whole, never half-applied."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from publish_helpers import Sandbox, job_item, state_machine

from compiler.deploy.publish import publish
from compiler.errors import UsageError

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize("number", ["1e-200", "1e130", "123456789012345678901234567890123456789"])
def test_an_unstorable_number_refuses_the_whole_publish(provisioned: Sandbox, number: str) -> None:
    items = [
        job_item("alpha", "delta_builder"),
        job_item("alpha", "fg_a_builder", eps=Decimal(1)),
        job_item("alpha", "fg_c_builder", eps=Decimal(2)),
    ]
    build = provisioned.write_build(items=items, machines={provisioned.name("sm"): state_machine("x")})
    path = build / f"dynamodb/{provisioned.env.parameters_table}.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"eps":{"N":"2"}', f'"eps":{{"N":"{number}"}}')
    path.write_text("\n".join(lines) + "\n")
    manifest = json.loads((build / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        entry["sha256"] = hashlib.sha256((build / entry["path"]).read_bytes()).hexdigest()
    (build / "manifest.json").write_text(json.dumps(manifest))
    aws, log = provisioned.aws()
    with pytest.raises(UsageError, match=r"nothing was written.*fg_c_builder#v1: spec\.eps: "):
        publish(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert log.writes() == 0
    assert provisioned.items(provisioned.env.parameters_table) == {}
