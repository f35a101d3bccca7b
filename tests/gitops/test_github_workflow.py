"""The GitHub Actions workflow teams copy (`examples/github-actions/ndrc.yml`): lint-clean and wired as documented."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "github-actions" / "ndrc.yml"


def load() -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    loaded["on"] = loaded.pop(True, loaded.get("on"))  # YAML 1.1 reads the key `on` as true
    return loaded


def test_actionlint_finds_no_problem(actionlint: str) -> None:
    done = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_report_a_broken_copy(actionlint: str, tmp_path: Path) -> None:
    broken = tmp_path / "ndrc.yml"
    broken.write_text(WORKFLOW.read_text().replace("${{ matrix.environment }}", "${{ matrix.enviroment }}", 1))
    done = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "enviroment" in done.stdout


def run_lines(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_pull_requests_get_annotations_and_one_sticky_plan_comment() -> None:
    review = load()["jobs"]["review"]
    assert "ndrc validate --format github" in run_lines(review)
    assert 'ndrc plan --env "$env" --format markdown' in run_lines(review)
    sticky = [s for s in review["steps"] if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment")]
    assert len(sticky) == 1 and sticky[0]["with"]["path"] == "plan.md"
    assert review["permissions"]["id-token"] == "write" and review["permissions"]["pull-requests"] == "write"


def test_merges_publish_the_saved_plan_one_environment_at_a_time() -> None:
    workflow = load()
    publish = workflow["jobs"]["publish"]
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert publish["strategy"]["max-parallel"] == 1
    assert publish["concurrency"] == {
        "group": "ndrc-publish-${{ matrix.environment }}",
        "cancel-in-progress": False,
    }
    commands = run_lines(publish)
    assert commands.index("--out plan.json") < commands.index("ndrc publish")
    assert 'ndrc publish --env "${{ matrix.environment }}" --plan plan.json --yes' in commands
    credentials = [s for s in publish["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
    assert credentials and "role-to-assume" in credentials[0]["with"]
    assert "aws-access-key-id" not in str(workflow)  # OIDC only, no stored keys
