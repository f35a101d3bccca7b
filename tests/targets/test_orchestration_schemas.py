"""Every compiled state machine passes asl-validator and AWS's ASL schema; every pipeline AWS's pipeline schema."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from compiler.compilation.compile import CompileResult

# Installed by .ci/run; locally: npm install --prefix .ci/node asl-validator@4
ASL_VALIDATOR = Path(".ci") / "node" / "node_modules" / ".bin" / "asl-validator"


def _documents(build: CompileResult, kind: str) -> list[tuple[str, Any]]:
    return [(a.path, json.loads(a.content)) for a in build.artifacts if a.kind == kind]


@pytest.mark.node  # tests/conftest.py skips (or, in CI, fails) when node or asl-validator is missing
@pytest.mark.parametrize("env", ["local", "prod"])
def test_asl_validator_accepts_every_state_machine(builds: dict[str, CompileResult], env: str, repo_root: Path) -> None:
    validator = repo_root / ASL_VALIDATOR
    paths = [build_path for build_path, _ in _documents(builds[env], "state_machine")]
    assert len(paths) == 3  # live, backfill, live-outcome
    arguments = [str(validator)]
    for path in paths:
        arguments += ["--json-path", str(builds[env].out_dir / path)]
    completed = subprocess.run(arguments, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("is valid") == len(paths)


@pytest.mark.parametrize("env", ["local", "prod"])
def test_state_machines_match_the_asl_schema(builds: dict[str, CompileResult], env: str, aws_schemas: Path) -> None:
    schema = json.loads((aws_schemas / "asl-bundled.schema.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    for path, document in _documents(builds[env], "state_machine"):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, (path, errors[:5])


@pytest.mark.parametrize("env", ["local", "prod"])
def test_pipelines_match_the_sagemaker_pipeline_schema(
    builds: dict[str, CompileResult], env: str, aws_schemas: Path
) -> None:
    schema = json.loads((aws_schemas / "sagemaker-pipeline-definition.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    documents = _documents(builds[env], "sagemaker_pipeline")
    assert len(documents) == 5
    for path, document in documents:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert not errors, (path, errors[:5])


@pytest.mark.emulator
def test_moto_exposes_the_jsonata_hook_the_emulator_binds() -> None:
    """compiler.local.emulator binds jsonata-python into this internal hook; moto is pinned because of it."""
    from importlib.metadata import version

    from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

    assert hasattr(moto_jsonata, "_eval_jsonata")
    assert version("moto") == "5.2.5"
