"""Plan rendering and the saved-plan format: no emulator needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.deploy.plan import Change, Plan, load_plan, save_plan
from compiler.deploy.plan_render import render_markdown, render_text
from compiler.errors import UsageError


def big_plan(changes: int) -> Plan:
    plan = Plan("prod", "345678901234", "eu-west-1", "sha", ["p"])
    for number in range(changes):
        fields = [{"path": f"spec.k{n}", "change": "changed", "old": "1" * 80, "new": "2" * 80} for n in range(40)]
        plan.changes.append(
            Change(
                "update",
                "dynamodb_item",
                "ml_projects_parameters",
                f"p{number} / job#v1",
                "scope",
                {},
                "h",
                "f",
                {},
                number % 7 == 0,
                True,
                fields,
            )
        )
    plan.changes.append(Change("delete", "dynamodb_item", "ml_projects_routing", "acme#old", "scope"))
    return plan


def test_markdown_stays_under_the_github_comment_limit_by_summarising() -> None:
    text = render_markdown(big_plan(2000))
    assert len(text) < 65_535
    assert "| dynamodb_item | `ml_projects_parameters` | update | 2000 |" in text
    assert "more change(s) not shown" in text and "needs --prune" in text


def test_text_shows_old_and_new_values_drift_and_prune() -> None:
    text = render_text(big_plan(1))
    assert "~ update p0 / job#v1" in text and "- spec.k0: " + "1" * 80 in text and "+ spec.k0: " + "2" * 80 in text
    assert "drift: changed outside git" in text and "… 15 more field(s)" in text
    assert "- delete acme#old (needs --prune)" in text
    assert "\033[" not in text and "\033[" in render_text(big_plan(1), color=True)


def test_saved_plan_round_trips_and_rejects_other_documents(tmp_path: Path) -> None:
    plan = big_plan(3)
    save_plan(plan, tmp_path / "plan.json")
    loaded = load_plan(tmp_path / "plan.json")
    assert loaded.to_json() == plan.to_json()
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(UsageError, match="not an ndrc-plan v2 document"):
        load_plan(tmp_path / "other.json")
