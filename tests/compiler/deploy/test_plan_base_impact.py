"""`ndrc plan --base REF` and the impact lines, on a git copy of the sample workspace: no AWS, no emulator.

The three formats are compared with golden files (tests/golden/plan/); regenerate them with
`NDRC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/compiler/deploy/test_plan_base_impact.py` and review the
diff. The scenario edits what a pull request would: an image setting of ndrc.yaml, one spec value, one removed
spec, one route enabled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from compiler.cli import cli

REPO_ROOT = Path(__file__).resolve().parents[3]
GOLDEN = REPO_ROOT / "tests" / "golden" / "plan"
UPDATE = os.environ.get("NDRC_UPDATE_GOLDEN") == "1"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "ndrc",
    "GIT_AUTHOR_EMAIL": "ndrc@example.com",
    "GIT_COMMITTER_NAME": "ndrc",
    "GIT_COMMITTER_EMAIL": "ndrc@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def git(root: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    )
    return completed.stdout.strip()


@pytest.fixture(scope="module")
def pull_request(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample workspace committed on `main`, then edited (uncommitted) as a pull request would."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copy(REPO_ROOT / "ndrc.yaml", root / "ndrc.yaml")
    shutil.copytree(REPO_ROOT / "specs", root / "specs")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "ndrc.yaml", "specs")
    git(root, "commit", "-qm", "sample workspace")
    config = (root / "ndrc.yaml").read_text()
    prod = config.index("  prod:")
    old = "ndr-runtime-spark-processing:3.5-py312-1"
    assert old in config[prod:]
    config = config[:prod] + config[prod:].replace(old, "ndr-runtime-spark-processing:3.5-py312-2", 1)
    (root / "ndrc.yaml").write_text(config)
    spec = root / "specs" / "ndr-acme-prod" / "fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text().replace("eps: 1e-6", "eps: 1e-5"))
    (root / "specs" / "ndr-prod" / "inference_predictions#v2.yaml").unlink()
    routing = root / "specs" / "ndr-prod" / "routing.yaml"
    routing.write_text(
        routing.read_text().replace(
            "feature_spec_version: v2\n    enabled: false", "feature_spec_version: v2\n    enabled: true"
        )
    )
    return root


def plan_output(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["plan", "--env", "prod", "--workspace", str(root), "--base", "main", *args])
    return result.exit_code, result.output


def normalized(text: str, root: Path) -> str:
    text = text.replace(str(root.resolve()), "<workspace>").replace(str(root), "<workspace>")
    text = re.sub(r'"created_at": "[^"]*"', '"created_at": "<time>"', text)
    text = re.sub(r"\b[0-9a-f]{40}\b", "<commit>", text)
    return re.sub(r"commit [0-9a-f]{12}\b", "commit <commit>", text)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.read_text() == text, f"{name} changed; review, then regenerate with NDRC_UPDATE_GOLDEN=1"


def test_text_plan_against_a_git_ref_names_what_each_change_affects(pull_request: Path) -> None:
    code, output = plan_output(pull_request)
    assert code == 1
    assert "against git main (commit " in output
    assert re.search(
        r"ndrc\.yaml images\.spark_processing: 9 step\(s\) of 3 pipeline\(s\) \(ndr-prod-feature-15m, "
        r"ndr-prod-fg-b-baseline, ndr-prod-if-training\)",
        output,
    )
    assert (
        "fg_c_builder#v1 of ndr-acme-prod: read by FgCBuilder in ndr-prod-feature-15m at the next window "
        "(enabled route(s) acme#finance run v1)"
    ) in output
    assert (
        "inference_predictions#v2 of ndr-prod: no longer found by InferencePredictions in ndr-prod-feature-15m"
        in output
    )
    assert (
        "ndr-prod-feature-15m: its entry step requires inference_predictions, so its runs for ndr-prod at v2 "
        "fail at entry" in output
    )
    assert (
        "ndr-prod-live-inference: routes batches of globex/lab to project ndr-prod at feature spec version v2" in output
    )
    check_golden("impact.txt", normalized(output, pull_request))


def test_json_plan_carries_the_impact_of_every_change(pull_request: Path) -> None:
    code, output = plan_output(pull_request, "--format", "json")
    document = json.loads(output)
    assert code == 1 and document["base"]["ref"] == "main" and len(document["base"]["commit"]) == 40
    assert all(change["impact"] for change in document["changes"])
    essentials = {
        "base": {"ref": "main"},
        "causes": document["causes"],
        "summary": document["summary"],
        "changes": [
            {k: c[k] for k in ("action", "kind", "target", "label", "impact")}
            for c in sorted(document["changes"], key=lambda c: (c["kind"], c["target"], c["label"]))
        ],
    }
    check_golden("impact.json", json.dumps(essentials, indent=1, sort_keys=True) + "\n")


def test_markdown_plan_renders_impact_tables_inside_each_change(pull_request: Path) -> None:
    code, output = plan_output(pull_request, "--format", "markdown")
    assert code == 1
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(output)
    blocks = html.split("<details>")[1:]
    assert len(blocks) == output.count("<details>") and all("</details>" in b for b in blocks)
    fg_c = next(b for b in blocks if "ndr-acme-prod / fg_c_builder#v1" in b)
    assert "<th>Affects</th>" in fg_c and "<td>FgCBuilder in ndr-prod-feature-15m</td>" in fg_c
    assert "fg_c_builder#v1 of ndr-acme-prod: read by FgCBuilder" in fg_c  # escapes render as written
    assert "<li>" not in html.split("<table>", 2)[2]  # no change line turned into a bullet
    check_golden("impact.md", normalized(output, pull_request))


def test_base_errors_are_located_and_exit_2(pull_request: Path, tmp_path: Path) -> None:
    code, output = plan_output(pull_request, "--format", "text", "--base", "no-such-branch")
    assert code == 2 and "--base 'no-such-branch': no such commit" in output and "Traceback" not in output
    plain = tmp_path / "plain"
    shutil.copytree(pull_request, plain, ignore=shutil.ignore_patterns(".git", "build"))
    result = CliRunner().invoke(cli, ["plan", "--env", "prod", "--workspace", str(plain), "--base", "main"])
    assert result.exit_code == 2 and "needs a git repository" in result.output


def test_a_base_that_does_not_compile_is_named(pull_request: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(pull_request, repo, ignore=shutil.ignore_patterns("build"))
    spec = repo / "specs" / "ndr-prod" / "fg_c_builder#v1.yaml"
    good = spec.read_text()
    spec.write_text(good.replace("eps: 1e-6", "eps: [unclosed", 1))
    git(repo, "commit", "-qam", "broken")
    spec.write_text(good)
    result = CliRunner().invoke(cli, ["plan", "--env", "prod", "--workspace", str(repo), "--base", "HEAD"])
    assert result.exit_code == 2 and "--base HEAD: the workspace at commit" in result.output
    assert "specs/ndr-prod/fg_c_builder#v1.yaml:" in result.output


def test_a_workspace_in_a_subfolder_of_the_repository(pull_request: Path, tmp_path: Path) -> None:
    repo = tmp_path / "monorepo"
    shutil.copytree(pull_request, repo / "platform" / "ndr", ignore=shutil.ignore_patterns(".git", "build"))
    (repo / "README").write_text("other things\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "monorepo")
    workspace = repo / "platform" / "ndr"
    result = CliRunner().invoke(cli, ["plan", "--env", "prod", "--workspace", str(workspace), "--base", "main"])
    assert result.exit_code == 0 and "No changes." in result.output
    spec = workspace / "specs" / "ndr-prod" / "fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text().replace("eps: 1e-6", "eps: 1e-4"))
    result = CliRunner().invoke(cli, ["plan", "--env", "prod", "--workspace", str(workspace), "--base", "main"])
    assert result.exit_code == 1 and "~ update ndr-prod / fg_c_builder#v1" in result.output
