"""The sample workspace under specs/: clean, compiled items match the reviewed golden files.

Regenerate the golden files after an intended change with
    NDRC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/compiler/test_sample_workspace.py
and review the diff.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from boto3.dynamodb.types import TypeDeserializer

from compiler.compilation.compile import compile_workspace
from compiler.validation.validate import validate_workspace
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "dynamodb"
TABLES = ("ml_projects_parameters", "ml_projects_routing")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample")
    shutil.copytree(REPO / "specs", root / "specs")
    shutil.copy(REPO / "ndrc.yaml", root / "ndrc.yaml")
    return root


def test_sample_workspace_has_no_diagnostics_in_any_environment(sample: Path) -> None:
    workspace = load_workspace(sample)
    for name in workspace.environment_names:
        assert validate_workspace(workspace, workspace.environment(name)).diagnostics == [], name


def test_sample_covers_every_job_name_and_two_versions(sample: Path) -> None:
    from compiler.model import JOB_NAMES

    workspace = load_workspace(sample)
    compiled = validate_workspace(workspace, workspace.environment("local")).compiled
    assert {item.job_name for item in compiled.items} == set(JOB_NAMES)
    versions = {(i.project_name, i.feature_spec_version) for i in compiled.items}
    assert ("ndr-prod", "v1") in versions and ("ndr-prod", "v2") in versions
    assert any(i.feature_spec_version is None for i in compiled.items)
    assert len(compiled.projects()) >= 2


@pytest.mark.parametrize("table", TABLES)
def test_compiled_items_match_golden(sample: Path, table: str) -> None:
    result = compile_workspace(load_workspace(sample), "local", sample / "build")
    produced = (result.out_dir / "dynamodb" / f"{table}.jsonl").read_bytes()
    golden = GOLDEN / f"{table}.jsonl"
    if os.environ.get("NDRC_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(produced)
    assert produced == golden.read_bytes(), f"regenerate with NDRC_UPDATE_GOLDEN=1 and review: {golden}"


def test_compiled_items_round_trip_to_the_rendered_specs(sample: Path) -> None:
    workspace = load_workspace(sample)
    compiled = validate_workspace(workspace, workspace.environment("local")).compiled
    result = compile_workspace(workspace, "local", sample / "build-roundtrip")
    lines = (result.out_dir / "dynamodb/ml_projects_parameters.jsonl").read_text().splitlines()
    deserializer = TypeDeserializer()
    decoded = [{k: deserializer.deserialize(v) for k, v in json.loads(line)["Item"].items()} for line in lines]
    assert decoded == [item.as_item() for item in compiled.items]


def test_delta_items_carry_their_identity(sample: Path) -> None:
    workspace = load_workspace(sample)
    compiled = validate_workspace(workspace, workspace.environment("local")).compiled
    for item in compiled.items:
        if item.job_name == "delta_builder":
            assert item.spec["project_name"] == item.project_name
            assert item.spec["job_name"] == "delta_builder"
            assert item.spec["feature_spec_version"] == item.feature_spec_version
