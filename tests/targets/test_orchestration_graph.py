"""`ndrc graph`: Mermaid diagrams drawn from the compiled definitions."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from compiler.cli import cli


def _run(repo_root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["graph", "--workspace", str(repo_root), *args])
    return result.exit_code, result.output


def test_markdown_has_one_mermaid_block_per_state_machine_and_pipeline(repo_root: Path) -> None:
    code, output = _run(repo_root, "--env", "prod")
    assert code == 0, output
    headings = re.findall(r"^## (\S+)$", output, flags=re.M)
    assert headings == [
        "ndr-prod-live-inference",
        "ndr-prod-backfill",
        "ndr-prod-live-outcome",
        "ndr-prod-feature-15m",
        "ndr-prod-fg-b-baseline",
        "ndr-prod-backfill-extractor",
        "ndr-prod-if-training",
        "ndr-prod-machine-inventory-unload",
    ]
    assert output.count("```mermaid\n") == len(headings)


def test_live_flow_diagram_shows_every_state_and_branch(repo_root: Path) -> None:
    code, output = _run(repo_root, "ndr-local-live-inference", "--format", "mermaid")
    assert code == 0 and output.startswith("flowchart TD\n")
    assert "sm_start((start)) --> sm_ParseEvent" in output
    assert 'sm_AcquireLock -.->|"ConditionalCheckFailed"| sm_Duplicate' in output
    assert "sm_CheckProject -->|default| sm_AcquireLock" in output
    assert "class sm_UnknownProject fail" in output and "sm_StartPipeline --> sm_end" in output


def test_backfill_map_is_a_subgraph(repo_root: Path) -> None:
    code, output = _run(repo_root, "ndr-local-backfill", "--format", "mermaid")
    assert code == 0
    assert 'subgraph sm_ProcessWindows["ProcessWindows: Map (distributed), for each item"]' in output
    assert "sm_ProcessWindows_AcquireLock" in output and "sm_ProcessWindows_done --> sm_CheckWindowResults" in output
    # the extractor's Parallel state: one subgraph, both branches inside
    assert 'subgraph sm_RunExtractor["RunExtractor: Parallel, every branch"]' in output
    assert "sm_RunExtractor_1_AwaitWindows" in output and "sm_RunExtractor_2_WatchExtractor" in output
    assert "sm_RunExtractor_done -.->" in output and "sm_RunExtractor_done --> sm_CheckWindows" in output


def test_pipeline_diagram_follows_depends_on(repo_root: Path) -> None:
    code, output = _run(repo_root, "ndr-local-feature-15m", "--format", "mermaid")
    assert code == 0
    assert "FgABuilder --> FgCBuilder" in output and "PairCountsBuilder --> FgCBuilder" in output
    assert "DeltaBuilder --> FgABuilder" in output and "FgCBuilder --> InferencePredictions" in output


def test_usage_errors(repo_root: Path, tmp_path: Path) -> None:
    code, output = _run(repo_root, "no-such-thing")
    assert code == 2 and "unknown name(s) no-such-thing" in output
    code, output = _run(repo_root, "--format", "mermaid")
    assert code == 2 and "draws one diagram" in output
    code, output = _run(repo_root, "--out", str(tmp_path / "graphs.md"))
    assert code == 0 and (tmp_path / "graphs.md").read_text().count("```mermaid") == 8
