"""Each step's image holds what its job imports.

Every runtime job a compiled pipeline runs is imported in a clean virtualenv (no pip, no site packages)
holding only what its image provides (`compiler/orchestration/images.py` IMAGE_PROVIDES, from AWS's build
files) plus what ndrc's runtime image adds (`docker/runtime-images/<purpose>/requirements.txt` and their
dependencies), with the runtime taken from the very `runtime.zip` the pipelines download. The distributions
are linked from this project's environment, so the versions are ours, not the image's (docs/orchestration.md).

"Imported" means every module the job can reach: its folder, and the runtime modules imported from there,
at module level or inside functions, transitively; other jobs' folders (reached only through the registry)
are not followed, and `runtime.spark` is not for Python jobs (only `JobContext.spark()` imports it).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from compiler.orchestration import images
from compiler.orchestration.bundle import runtime_bundle
from compiler.orchestration.flows import ENTRY_JOB, FLOWS

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "runtime"
NOT_FOLLOWED = {"runtime.jobs.registry", "runtime.entrypoint", "runtime.__main__"}
PROBE = """
import importlib, json, sys, traceback
sys.path.insert(0, sys.argv[1])
failures = {}
for job, modules in json.loads(sys.argv[2]).items():
    for module in modules:
        try:
            importlib.import_module(module)
        except BaseException as problem:
            failures.setdefault(job, []).append(f"{module}: {type(problem).__name__}: {problem}")
print(json.dumps(failures))
"""


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_file(name: str) -> Path | None:
    path = REPO.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imports(name: str) -> Iterator[str]:
    """Every module `name` imports, at module level or inside functions (absolute names)."""
    path = _module_file(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if _module_file(f"{base}.{alias.name}"))


def job_modules(job: str, engine: str) -> list[str]:
    """The runtime modules a job can reach (see the module docstring)."""
    start = [f"runtime.jobs.{job}", *(f"runtime.jobs.{job}.{p.stem}" for p in (RUNTIME / "jobs" / job).glob("*.py"))]
    cut = NOT_FOLLOWED | ({"runtime.spark"} if engine == "python" else set())
    seen: set[str] = set()
    pending = [m for m in start if _module_file(m)]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        for imported in _imports(module):
            parts = imported.split(".")
            if parts[0] != "runtime":
                continue
            for depth in range(1, len(parts) + 1):
                name = ".".join(parts[:depth])
                if name in cut or (depth == 3 and parts[1] == "jobs" and parts[2] not in (job, "job", "spec_jobs")):
                    break
                if _module_file(name) and name not in seen:
                    pending.append(name)
    return sorted(seen)


def jobs_by_image() -> dict[str, dict[str, str]]:
    """image purpose -> {job: engine} for every step of every compiled pipeline (and the entry step)."""
    found: dict[str, dict[str, str]] = {}
    for flow in FLOWS:
        for step in flow.steps:
            found.setdefault(images.step_image(step.engine), {})[step.job] = step.engine
    found.setdefault(images.step_image("python"), {})[ENTRY_JOB] = "python"
    return found


def shipped(purpose: str) -> set[str]:
    """The distributions ndrc's runtime image adds, with every dependency pip would install with them."""
    requirements = REPO / "docker" / "runtime-images" / purpose / "requirements.txt"
    pending = [
        Requirement(line.split("#")[0].strip())
        for line in requirements.read_text(encoding="utf-8").splitlines()
        if line.split("#")[0].strip()
    ]
    found: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = _normalized(requirement.name)
        if name in found or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        found.add(name)
        pending.extend(Requirement(text) for text in importlib.metadata.requires(requirement.name) or [])
    return found


def _link_distributions(names: set[str], site: Path) -> None:
    """Link each installed distribution's top-level entries (packages, modules, .libs, .dist-info) into
    `site`; distributions an image lists but this project does not install are simply absent."""
    source = Path(sysconfig.get_paths()["purelib"])
    for distribution in importlib.metadata.distributions():
        if _normalized(distribution.metadata["Name"]) not in names:
            continue
        for top in {Path(str(file)).parts[0] for file in distribution.files or []}:
            target = site / top
            if top != ".." and (source / top).exists() and not target.exists():
                target.symlink_to(source / top)


@pytest.fixture(scope="module")
def runtime_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "runtime.zip"
    path.write_bytes(runtime_bundle().archive)
    return path


def test_every_job_of_a_pipeline_has_an_image() -> None:
    jobs = [job for per_image in jobs_by_image().values() for job in per_image]
    assert len(jobs) == len(set(jobs)), "a job runs on two images"
    assert set(jobs_by_image()) <= set(images.IMAGE_PROVIDES)


@pytest.mark.parametrize("purpose", sorted(images.IMAGE_PROVIDES))
def test_every_job_imports_on_its_image(purpose: str, runtime_zip: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert not any(site.iterdir()), "the virtualenv starts empty"
    _link_distributions(set(images.IMAGE_PROVIDES[purpose]) | shipped(purpose), site)
    jobs = {job: job_modules(job, engine) for job, engine in jobs_by_image()[purpose].items()}
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", PROBE, str(runtime_zip), json.dumps(jobs)],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, json.dumps(failures, indent=2)


def test_without_the_runtime_image_a_job_would_not_import(runtime_zip: Path, tmp_path: Path) -> None:
    """The check can fail: on the bare Spark image (nothing ndrc adds), the delta builder cannot import
    jsonschema (its operator catalog validates operator parameters with it)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    _link_distributions(set(images.IMAGE_PROVIDES[images.SPARK_PROCESSING]), site)
    jobs = {"delta_builder": job_modules("delta_builder", "spark")}
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", PROBE, str(runtime_zip), json.dumps(jobs)],
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert any("No module named 'jsonschema'" in line for line in failures["delta_builder"]), failures
