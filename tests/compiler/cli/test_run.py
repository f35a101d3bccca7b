"""`ndrc run` / `ndrc gen-traffic` go through the real runtime entry point as a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def local_workspace(tmp_path: Path, emulator_endpoint: str) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(REPO / "specs", root / "specs")
    config = (REPO / "ndrc.yaml").read_text().replace("http://127.0.0.1:4566", emulator_endpoint)
    (root / "ndrc.yaml").write_text(config)
    return root


def ndrc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from compiler.cli import main; main()", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.emulator
def test_gen_traffic_writes_batches_into_the_local_ingestion_bucket(local_workspace: Path) -> None:
    done = ndrc("gen-traffic", "--batches", "2", "--rows-per-batch", "50", "--seed", "1", cwd=local_workspace)
    assert done.returncode == 0, done.stderr
    batches = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(batches) == 2
    files = sorted((local_workspace / ".ndrc/local/s3/ndr-ingestion-local").rglob("*.json.gz"))
    assert len(files) == 2
    assert batches[0]["mini_batch_s3_prefix"].startswith("s3://ndr-ingestion-local/paloalto/acme/finance/")


@pytest.mark.emulator
def test_run_reports_a_missing_spec_in_one_line_and_fails(local_workspace: Path) -> None:
    provisioned = ndrc("provision", cwd=local_workspace)
    assert provisioned.returncode == 0, provisioned.stderr
    done = ndrc(
        "run", "delta_builder", "--project", "no-such-project", "--version", "v1",
        "--mini-batch-id", "b1", "--mini-batch-s3-prefix", "s3://ndr-ingestion-local/x/b1/",
        "--batch-start-ts-iso", "2025-01-15T10:08:00Z", "--batch-end-ts-iso", "2025-01-15T10:09:00Z",
        cwd=local_workspace,
    )  # fmt: skip
    assert done.returncode == 1
    failure = json.loads(done.stderr.strip().splitlines()[-1])
    assert failure["event"] == "job_failed" and "no-such-project" in failure["cause"]
    assert "Traceback" not in done.stderr


def test_run_with_an_unknown_environment_is_a_usage_error(tmp_path: Path) -> None:
    shutil.copy(REPO / "ndrc.yaml", tmp_path / "ndrc.yaml")
    done = ndrc("run", "delta_builder", "--project", "p", "--env", "nope", cwd=tmp_path)
    assert done.returncode == 2 and "unknown environment" in done.stderr


def test_run_help_lists_every_runnable_job(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from compiler.cli import cli
    from runtime.jobs.registry import REGISTRY

    result = CliRunner().invoke(cli, ["run", "--help"])
    assert result.exit_code == 0
    assert all(f"  {name} " in result.output for name in REGISTRY)


def test_run_of_an_unknown_job_names_the_runnable_ones_and_starts_nothing(tmp_path: Path) -> None:
    shutil.copy(REPO / "ndrc.yaml", tmp_path / "ndrc.yaml")
    done = ndrc("run", "fg_z_builder", "--project", "p", cwd=tmp_path)
    assert done.returncode == 2
    assert "unknown job 'fg_z_builder'; runnable jobs: delta_builder," in done.stderr
    assert "--project-name" not in done.stderr and not (tmp_path / ".ndrc").exists()


@pytest.mark.emulator
def test_run_without_the_batch_arguments_is_a_usage_error(local_workspace: Path) -> None:
    done = ndrc("run", "delta_builder", "--project", "ndr-prod", "--version", "v1", cwd=local_workspace)
    assert done.returncode == 2, done.stderr
    assert "error: pass --mini-batch-id or --mini-batch-s3-prefix" in done.stderr


@pytest.mark.emulator
def test_world_then_inventory_unload_from_the_published_specs(local_workspace: Path) -> None:
    """`ndrc gen-traffic --days` writes the world and its inventory; `ndrc run machine_inventory_unload`
    unloads it from the published ndr-prod spec (local engine: DuckDB over the Redshift stand-in)."""
    for step in (("provision",), ("publish", "--yes")):
        done = ndrc(*step, cwd=local_workspace)
        assert done.returncode == 0, done.stderr
    world = ndrc(
        "gen-traffic", "--days", "2", "--batches-per-day", "2", "--rows-per-batch", "10", "--hosts", "12",
        "--workers", "1", cwd=local_workspace,
    )  # fmt: skip
    assert world.returncode == 0, world.stderr
    manifest = json.loads(world.stdout.strip().splitlines()[-1])
    assert manifest["batches"] == 4 and manifest["inventory_table"].endswith(
        ".ndrc/local/s3/_redshift/globex-itam-prod/itam/itam/machine_inventory/part-00000.parquet"
    )
    done = ndrc(
        "run", "machine_inventory_unload", "--project", "ndr-prod", "--reference-ts-iso", "2025-01-02T00:00:00Z",
        cwd=local_workspace,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["engine"] == "duckdb" and summary["snapshot_month"] == "2025-01"
    assert (
        summary["output_uri"] == "s3://ndr-features-local/ndr-prod/reference/machine_inventory/snapshot_month=2025-01/"
    )
    assert summary["rows"] == 12 + 20  # the live machines and the internal servers, retired ones filtered out
    written = local_workspace / ".ndrc/local/s3/ndr-features-local/ndr-prod/reference/machine_inventory"
    assert [p.name for p in written.iterdir()] == ["snapshot_month=2025-01"]
