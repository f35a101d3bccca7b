"""A saved plan is verified before anything of it is applied: every payload against its hash, the shown diff
against the payload, and the whole plan against the build it was made from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from publish_helpers import Sandbox, job_item

from compiler.cli import cli
from compiler.deploy.diff import content_hash, plain_item

pytestmark = pytest.mark.emulator


def _cli(sandbox: Sandbox, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--workspace", str(sandbox.root)])
    return result.exit_code, result.output


def _planned(sandbox: Sandbox, tmp_path: Path) -> tuple[Path, Path]:
    first = sandbox.write_build("first", items=[job_item("alpha", "fg_c_builder", z_max=5)])
    assert _cli(sandbox, "publish", "--build", str(first), "--yes")[0] == 0
    second = sandbox.write_build("second", items=[job_item("alpha", "fg_c_builder", z_max=6)])
    saved = tmp_path / "plan.json"
    assert _cli(sandbox, "plan", "--build", str(second), "--out", str(saved))[0] == 1
    return second, saved


def _edit(saved: Path, edit: Any) -> Path:
    document = json.loads(saved.read_text())
    edit(document["changes"][0])
    tampered = saved.with_name("tampered.json")
    tampered.write_text(json.dumps(document))
    return tampered


def _payload_99(change: dict[str, Any]) -> None:
    change["payload"]["spec"]["M"]["z_max"] = {"N": "99"}
    change["payload"]["injected"] = {"S": "x"}


def _payload_and_hash(change: dict[str, Any]) -> None:
    _payload_99(change)
    change["desired_sha256"] = content_hash(plain_item(change["payload"]))
    change["fields"] = [
        {"path": "injected", "change": "added", "old": "(absent)", "new": '"x"'},
        {"path": "spec.z_max", "change": "changed", "old": "5", "new": "99"},
    ]


def _fields_only(change: dict[str, Any]) -> None:
    change["fields"][0]["new"] = "7"


@pytest.mark.parametrize(
    "edit", [_payload_99, _payload_and_hash, _fields_only], ids=["payload", "payload-and-hash", "shown-diff"]
)
@pytest.mark.parametrize("mode", ["--dry-run", "--yes"])
def test_a_tampered_saved_plan_is_refused_and_nothing_is_written(
    provisioned: Sandbox, tmp_path: Path, edit: Any, mode: str
) -> None:
    build, saved = _planned(provisioned, tmp_path)
    tampered = _edit(saved, edit)
    code, output = _cli(provisioned, "publish", "--plan", str(tampered), "--build", str(build), mode)
    assert code == 2, output
    assert "does not match" in output and "nothing was written" in output
    assert "z_max: 5 → 6" not in output
    item = provisioned.items(provisioned.env.parameters_table)["alpha / fg_c_builder#v1"]
    assert item["spec"]["z_max"] == 5 and "injected" not in item


def test_a_saved_plan_needs_the_build_it_was_made_from(provisioned: Sandbox, tmp_path: Path) -> None:
    build, saved = _planned(provisioned, tmp_path)
    other = provisioned.write_build("other", items=[job_item("alpha", "fg_c_builder", z_max=7)])
    code, output = _cli(provisioned, "publish", "--plan", str(saved), "--build", str(other), "--yes")
    assert code == 2 and "manifest sha256" in output
    code, output = _cli(provisioned, "publish", "--plan", str(saved), "--build", str(build), "--yes")
    assert code == 0, output
    assert provisioned.items(provisioned.env.parameters_table)["alpha / fg_c_builder#v1"]["spec"]["z_max"] == 6


@pytest.mark.parametrize("content", ["[]", "{}", '{"format": "ndrc-plan", "version": 2}', "null", "not json"])
def test_a_plan_file_that_is_not_a_plan_is_a_plain_error(provisioned: Sandbox, tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, output = _cli(provisioned, "publish", "--plan", str(bad), "--yes")
    assert code == 2 and "internal error" not in output and "saved plan" in output
