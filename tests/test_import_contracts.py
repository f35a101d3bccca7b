"""The import contracts of pyproject.toml ([tool.importlinter]) hold: the README's test command enforces them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _contracts() -> dict[str, dict[str, object]]:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["id"]: contract for contract in settings["contracts"]}


def _layers() -> list[list[str]]:
    layers = _contracts()["compiler-layers"]["layers"]
    assert isinstance(layers, list)
    return [[name.strip() for name in layer.split("|")] for layer in layers]


def _compiler_parts() -> set[str]:
    folder = ROOT / "compiler"
    packages = {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    return packages | {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}


def test_every_compiler_package_and_module_has_its_layer() -> None:
    listed = [name for layer in _layers() for name in layer]
    assert sorted(listed) == sorted(_compiler_parts()) and len(listed) == len(set(listed))


def test_only_the_cli_layer_may_import_click() -> None:
    sources = _contracts()["click-in-cli-only"]["source_modules"]
    assert isinstance(sources, list)
    assert {f"compiler.{part}" for part in _compiler_parts() - {"cli"}} | {"runtime"} == set(sources)


def test_architecture_draws_the_layers_in_the_contract_order() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    picture = text.split("```", 2)[1]
    part = re.compile(r"compiler/(\w+)/|(\w+)\.py\b")  # a package, or a module of the same layer's line
    drawn = [
        [package or module for package, module in part.findall(line)]
        for line in picture.splitlines()
        if line.startswith("compiler/")
    ]
    assert [sorted(layer) for layer in drawn] == [sorted(layer) for layer in _layers()]


def test_the_independence_contract_lists_every_job_package_and_nothing_else() -> None:
    """`runtime.jobs.*` would also make `job.py` and `registry.py` members (every job imports the first, the
    second imports every job), so the contract lists the job packages; a new job folder must be added to it."""
    listed = _contracts()["jobs-independent"]["modules"]
    assert isinstance(listed, list)
    folder = ROOT / "runtime" / "jobs"
    packages = {f"runtime.jobs.{p.name}" for p in folder.iterdir() if (p / "__init__.py").is_file()}
    assert sorted(listed) == sorted(packages)


def test_every_shared_runtime_part_is_forbidden_to_import_a_job() -> None:
    """Everything in `runtime/` but the jobs and what runs them (the entry point, its `__main__`, the warm
    worker) is shared: a new shared package must not import a job either."""
    sources = _contracts()["shared-runtime-without-jobs"]["source_modules"]
    assert isinstance(sources, list)
    folder = ROOT / "runtime"
    parts = {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    parts |= {p.stem for p in folder.glob("*.py")}
    runners = {"jobs", "entrypoint", "__main__", "__init__", "warm_worker"}
    assert sorted(sources) == sorted(f"runtime.{part}" for part in parts - runners)
