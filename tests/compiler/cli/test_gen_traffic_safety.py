"""`ndrc gen-traffic`: every option validated (one line, exit 2, nothing written, never a traceback), and a
non-local environment refused unless explicitly allowed, with publish's account check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import cli
from compiler.deploy.aws import Aws
from compiler.errors import UsageError
from compiler.local.traffic_target import check_traffic_target
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "ndrc.yaml", root / "ndrc.yaml")
    return root


def ndrc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from compiler.cli import main; main()", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--batches", "-1"],
        ["--batches", "0"],
        ["--rows-per-batch", "-5"],
        ["--malformed-ratio", "5"],
        ["--start", "garbage"],
        ["--org1", "../../etc"],
        ["--org1", ""],
        ["--org2", "a/b"],
        ["--project-name", ".."],
        ["--files-per-batch", "0"],
        ["--hosts", "0"],
        ["--workers", "0"],
        ["--batches", "many"],
    ],
    ids=lambda a: " ".join(a) or "empty",
)
def test_bad_options_are_one_line_errors_and_write_nothing(workspace: Path, arguments: list[str]) -> None:
    done = ndrc("gen-traffic", *arguments, cwd=workspace)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "error:" in done.stderr
    assert not (workspace / ".ndrc/local/s3").exists()
    assert not (workspace.parent / "etc").exists()


def test_an_unwritable_storage_root_is_a_plain_error(workspace: Path) -> None:
    done = ndrc("gen-traffic", "--storage-root", "/proc/x", "--rows-per-batch", "5", cwd=workspace)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "/proc/x" in done.stderr


def test_a_non_local_environment_is_refused_without_the_explicit_flag(workspace: Path) -> None:
    result = CliRunner().invoke(
        cli, ["gen-traffic", "--workspace", str(workspace), "--env", "prod", "--rows-per-batch", "5"]
    )
    assert result.exit_code == 2
    assert "--allow-remote" in result.output and "ndr-ingestion" in result.output


def test_the_account_check_is_publishs(workspace: Path, aws_env: str) -> None:
    """With the flag, credentials of another account than ndrc.yaml declares are refused (the emulator's
    account is 123456789012; prod is declared for 345678901234)."""
    environment = load_workspace(workspace).environment("prod")
    with pytest.raises(UsageError, match="refusing"):
        check_traffic_target(environment, allow_remote=True, aws=Aws(environment))
    with pytest.raises(UsageError, match="--allow-remote"):
        check_traffic_target(environment, allow_remote=False, aws=Aws(environment))
    local = load_workspace(workspace).environment("local")
    assert check_traffic_target(local, allow_remote=False) is None
