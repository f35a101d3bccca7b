"""Rendering a plan: `text` (ANSI colour on a terminal), `json` (the saved-plan document), `markdown`
(a pull-request comment that stays under GitHub's 65,535-character limit by summarising)."""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from compiler.deploy.deployed import SERVER_MANAGED
from compiler.deploy.diff import plain_item, show
from compiler.deploy.plan import Change, Plan

MARKDOWN_BUDGET = 60_000
MAX_FIELDS = 25
SYMBOL = {"create": "+", "update": "~", "delete": "-"}
COLOUR = {"create": "32", "update": "33", "delete": "31", "drift": "35", "dim": "2"}
DRIFT_NOTE = "drift: changed outside git since it was published; publishing restores the git version"


def drift_note(change: Change) -> str:
    return change.drift_note or DRIFT_NOTE


def _paint(text: str, colour: str, enabled: bool) -> str:
    return f"\033[{COLOUR[colour]}m{text}\033[0m" if enabled else text


def summary(plan: Plan) -> str:
    deletes = plan.count("delete")
    parts = [
        f"{plan.count('create')} to create",
        f"{plan.count('update')} to update",
        f"{deletes} to delete" + (" (needs --prune)" if deletes else ""),
        f"{sum(plan.unchanged.values())} unchanged",
    ]
    if plan.drifted:
        parts.append(f"{plan.drifted} drifted")
    return "Plan: " + ", ".join(parts) + "."


def field_lines(change: Change, limit: int = MAX_FIELDS) -> Iterator[tuple[str, str]]:
    """(sign, text) per changed field: `-` old value, `+` new value, in diff order."""
    for number, field in enumerate(change.fields):
        if number == limit:
            yield " ", f"… {len(change.fields) - limit} more field(s)"
            return
        if field["change"] != "added":
            yield "-", f"{field['path']}: {field['old']}"
        if field["change"] != "removed":
            yield "+", f"{field['path']}: {field['new']}"


def _groups(plan: Plan) -> dict[tuple[str, str], list[Change]]:
    groups: dict[tuple[str, str], list[Change]] = {}
    for change in sorted(plan.changes, key=lambda c: (c.kind, c.target, c.label)):
        groups.setdefault((change.kind, change.target), []).append(change)
    return groups


def wipe_warning(project: str) -> str:
    return (
        f"WARNING: this plan deletes EVERY item of project {project} (its specs are gone); "
        f"publish applies that only with --prune --delete-project {project}"
    )


def heading(plan: Plan) -> str:
    if plan.base is not None:
        return (
            f"Plan for environment {plan.environment} ({plan.region}) against git {plan.base['ref']} "
            f"(commit {plan.base['commit'][:12]}), not the deployed state"
        )
    return f"Plan for environment {plan.environment} (account {plan.account_id}, {plan.region})"


def impact_text(impact: dict[str, str]) -> str:
    return impact["why"]


def owned_deletion_warnings(plan: Plan) -> list[str]:
    """Loud lines for deletions of state machines / pipelines / other owned artifacts (never quiet)."""
    by_kind: dict[str, list[str]] = {}
    for change in plan.changes:
        if change.action == "delete" and change.kind != "dynamodb_item":
            by_kind.setdefault(change.kind, []).append(change.target)
    lines = []
    for kind, names in sorted(by_kind.items()):
        every = (
            " — EVERY one deployed; publish needs --prune --delete-kind " + kind
            if kind in plan.deleted_kinds
            else "; publish needs --prune"
        )
        lines.append(
            f"WARNING: this plan deletes {len(names)} {kind} artifact(s) ndrc created that the build no "
            f"longer has: {', '.join(sorted(names))}{every}"
        )
    return lines


def render_text(plan: Plan, color: bool = False) -> str:
    lines = [heading(plan)]
    lines += [_paint(wipe_warning(project), "delete", color) for project in plan.deleted_projects]
    lines += [_paint(line, "delete", color) for line in owned_deletion_warnings(plan)]
    if plan.causes:
        lines += ["\nWhere the changes come from:", *(f"  {cause}" for cause in plan.causes)]
    for (kind, target), changes in _groups(plan).items():
        lines.append(f"\n{kind} {target}")
        for change in changes:
            note = _notes(change)
            lines.append(
                _paint(f"  {SYMBOL[change.action]} {change.action:<6} {change.label}{note}", change.action, color)
            )
            if change.drift:
                lines.append(_paint(f"      ! {drift_note(change)}", "drift", color))
            lines += [f"      → {impact_text(impact)}" for impact in change.impact]
            for sign, text in field_lines(change):
                lines.append(_paint(f"      {sign} {text}", {"-": "delete", "+": "create"}.get(sign, "dim"), color))
    if plan.skipped:
        lines += ["\nNot published:", *(f"  {note}" for note in plan.skipped)]
    if plan.unsupported:
        lines += [
            _paint("\nCannot publish (publish refuses until resolved):", "delete", color),
            *(_paint(f"  {problem}", "delete", color) for problem in plan.unsupported),
        ]
    lines.append("\n" + summary(plan) if plan.has_changes else "\nNo changes. " + summary(plan))
    return "\n".join(lines) + "\n"


def render_json(plan: Plan, color: bool = False) -> str:
    return json.dumps(plan.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}" if path else str(key))
    else:
        yield path or "(item)", value


def content_lines(change: Change, limit: int = MAX_FIELDS) -> Iterator[tuple[str, str]]:
    """(sign, text) lines of a change: changed fields of an update, the whole item of a create (`+`) or a
    delete (`-`, as the plan saw it)."""
    if change.action == "update" or change.kind != "dynamodb_item":
        yield from field_lines(change, limit)
        return
    if change.action == "create":
        sign, item = "+", change.payload
    else:
        sign, item = "-", change.seen if change.seen is not None else (change.payload or {}).get("Key", {})
    try:
        content = {k: v for k, v in plain_item(item).items() if k not in SERVER_MANAGED}
    except (ValueError, TypeError, AttributeError):
        return
    for number, (path, value) in enumerate(_leaves(content)):
        if number == limit:
            yield " ", "… more field(s)"
            return
        yield sign, f"{path}: {show(value)}"


def drift_title(change: Change) -> str:
    if not change.drift:
        return ""
    return " (DRIFT: deleted outside ndrc)" if change.action == "create" else " (DRIFT: changed outside ndrc)"


def _notes(change: Change) -> str:
    note = " (needs --prune)" if change.action == "delete" else ""
    note += drift_title(change)
    return note + ("" if change.managed or change.action == "create" else " (not written by ndrc before)")


def _md_details(change: Change) -> str:
    title = (
        f"{SYMBOL[change.action]} {change.action} <code>{html.escape(change.label)}</code> "
        f"({html.escape(change.target)}){html.escape(_notes(change))}"
    )
    body = "\n".join(f"{sign} {text}" for sign, text in content_lines(change))
    drift = f"\n\n> ⚠️ **{html.escape(drift_note(change))}**" if change.drift else ""
    impact = ""
    if change.impact:
        rows = [f"| {_cell(i['affects'])} | {_cell(i['kind'])} | {_cell(i['why'])} |" for i in change.impact]
        impact = "\n\n| Affects | Kind | Impact |\n|---|---|---|\n" + "\n".join(rows)
    return f"<details><summary>{title}</summary>{drift}{impact}\n\n```diff\n{body}\n```\n</details>\n\n"


def _cell(text: str) -> str:
    """A table cell shown as written: HTML escaped, no Markdown syntax, no cell separator."""
    escaped = html.escape(text).replace("|", "&#124;")
    return re.sub(r"([\\`*_\[\]<>#~])", r"\\\1", escaped)


def render_markdown(plan: Plan, color: bool = False, budget: int = MARKDOWN_BUDGET) -> str:
    where = (
        f"against git `{plan.base['ref']}` (commit {plan.base['commit'][:12]})"
        if plan.base is not None
        else f"(account {plan.account_id}, {plan.region})"
    )
    head = [
        f"<!-- ndrc-plan:{plan.environment} -->",
        f"### ndrc plan: `{plan.environment}` {where}",
        "",
        f"**{summary(plan)}**",
        "",
    ]
    if plan.causes:
        head += ["Where the changes come from:", "", *(f"- {_cell(cause)}" for cause in plan.causes), ""]
    notes = [f"> - ❌ **{wipe_warning(project)}**" for project in plan.deleted_projects]
    notes += [f"> - ❌ **{_cell(line)}**" for line in owned_deletion_warnings(plan)]
    notes += [f"> - ❌ cannot publish: {note}" for note in plan.unsupported]
    notes += [f"> - not published: {note}" for note in plan.skipped]
    head += [*notes, ""] if notes else []
    if not plan.has_changes:
        return "\n".join(head) + "\nNothing to publish.\n"
    counts = Counter((c.kind, c.target, c.action) for c in plan.changes)
    head += ["| Kind | Target | Action | Count |", "|---|---|---|---|"]
    head += [f"| {k} | `{t}` | {a} | {n} |" for (k, t, a), n in sorted(counts.items())]
    text = "\n".join(head) + "\n\n"
    order = {"update": 0, "create": 1, "delete": 2}
    details = sorted(plan.changes, key=lambda c: (order[c.action], c.kind, c.target, c.label))
    shown = 0
    for change in details:
        block = _md_details(change)
        if len(text) + len(block) > budget:
            break
        text += block
        shown += 1
    if shown < len(details):
        text += (
            f"\n_… {len(details) - shown} more change(s) not shown to stay under GitHub's comment limit; "
            f"run `ndrc plan --env {plan.environment}` for the full plan._\n"
        )
    return text


RENDERERS: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json, "markdown": render_markdown}
