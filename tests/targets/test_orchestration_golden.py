"""Golden files for every orchestration artifact of the sample workspace, per environment.

Regenerate after an intended change, then review the diff:
    NDRC_UPDATE_GOLDEN=1 .venv/bin/pytest tests/targets -q
The runtime code digest is replaced by `RUNTIME-SHA256` (it changes with every runtime edit; its own
tests pin how it is computed); the runtime archive itself is binary and not kept as a golden file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler.compilation.compile import CompileResult
from compiler.orchestration.bundle import runtime_bundle
from compiler.orchestration.names import WIRING_KINDS

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "orchestration"
KINDS = {"state_machine", "sagemaker_pipeline", "iam_policy", "runtime_bundle", *WIRING_KINDS}
PLACEHOLDER = "RUNTIME-SHA256"


def _goldens(build: CompileResult) -> dict[str, bytes]:
    digest = runtime_bundle().digest
    files = {}
    for artifact in build.artifacts:
        if artifact.kind not in KINDS or artifact.path.endswith(".zip"):
            continue
        files[artifact.path.replace(digest, PLACEHOLDER)] = artifact.content.replace(
            digest.encode(), PLACEHOLDER.encode()
        )
    return files


@pytest.mark.parametrize("env", ["local", "prod"])
def test_golden_files(builds: dict[str, CompileResult], env: str) -> None:
    expected_dir = GOLDEN / env
    files = _goldens(builds[env])
    if os.environ.get("NDRC_UPDATE_GOLDEN"):
        for old in expected_dir.rglob("*"):
            if old.is_file():
                old.unlink()
        for path, content in files.items():
            (expected_dir / path).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / path).write_bytes(content)
    stored = {p.relative_to(expected_dir).as_posix() for p in expected_dir.rglob("*") if p.is_file()}
    assert stored == set(files), "artifacts and golden files differ; regenerate with NDRC_UPDATE_GOLDEN=1"
    for path, content in sorted(files.items()):
        assert (expected_dir / path).read_bytes() == content, f"{env}/{path} changed; review, then regenerate"
