"""The Markdown plan as GitHub shows it, checked with a real CommonMark renderer (markdown-it-py, HTML blocks
and tables on, as in GitHub-flavoured Markdown): one <details> per change, signs and notes kept."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from compiler.deploy.plan import Change, Plan
from compiler.deploy.plan_render import render_markdown


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


def _plan_of(*changes: Change) -> Plan:
    plan = Plan("prod", "345678901234", "eu-west-1", "sha", ["p"])
    plan.changes = list(changes)
    return plan


def _plan() -> Plan:
    return _plan_of(
        Change(
            "create",
            "dynamodb_item",
            "params",
            "p / fg_a#v1",
            "s",
            {"spec": {"M": {"eps": {"N": "1e-6"}}}, "owner": {"S": "team"}},
            "h",
        ),
        Change(
            "update",
            "dynamodb_item",
            "params",
            "p / fg_c#v1",
            "s",
            {},
            "h",
            "f",
            {},
            False,
            True,
            [{"path": "spec.z_max", "change": "changed", "old": "6", "new": "4"}],
        ),
        Change(
            "delete",
            "dynamodb_item",
            "routing",
            "acme#old",
            "s",
            {"Key": {"org_key": {"S": "acme#old"}}},
            seen={"org_key": {"S": "acme#old"}, "enabled": {"BOOL": True}},
        ),
        Change(
            "update",
            "dynamodb_item",
            "params",
            "p / fg_b#v1",
            "s",
            {},
            "h",
            "f",
            {},
            False,
            False,
            [{"path": "owner", "change": "added", "old": "(absent)", "new": '"x"'}],
        ),
    )


def test_one_details_block_per_change_with_sign_and_notes() -> None:
    html = _html(render_markdown(_plan()))
    assert html.count("<details>") == 4 and html.count("</details>") == 4
    summaries = re.findall(r"<summary>(.*?)</summary>", html)
    assert sorted(s.split(" ", 2)[1] for s in summaries) == ["create", "delete", "update", "update"]
    assert all(s[0] == {"create": "+", "update": "~", "delete": "-"}[s.split(" ", 2)[1]] for s in summaries)
    assert any("(needs --prune)" in s and s.startswith("- delete") for s in summaries)
    assert any("(not written by ndrc before)" in s for s in summaries)
    assert "<li>" not in html.split("<table>")[1]  # nothing after the table is turned into (nested) bullets


def test_creates_and_deletes_show_their_content_in_the_diff() -> None:
    html = _html(render_markdown(_plan()))
    assert "+ owner: &quot;team&quot;" in html and "+ spec.eps: 0.000001" in html
    assert "- enabled: true" in html


def test_a_drifted_delete_is_shown_once() -> None:
    plan = _plan_of(
        Change(
            "delete",
            "dynamodb_item",
            "params",
            "p / fg_z#v1",
            "s",
            {"Key": {"job_name": {"S": "fg_z#v1"}}},
            drift=True,
            seen={"job_name": {"S": "fg_z#v1"}, "owner": {"S": "someone"}},
        )
    )
    html = _html(render_markdown(plan))
    assert html.count("<details>") == 1 and html.count("fg_z#v1</code>") == 1
    assert html.count("DRIFT") == 1 and html.count("- owner: &quot;someone&quot;") == 1
    assert "| dynamodb_item | `params` | delete | 1 |" in render_markdown(plan)
