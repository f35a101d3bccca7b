"""README.md, ARCHITECTURE.md and docs/*.md name repository paths that exist (a moved module fails here)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", REPO / "ARCHITECTURE.md", *sorted((REPO / "docs").glob("*.md"))]
TOP_FOLDERS = ("compiler", "runtime", "tests", "docs", "schemas", "benchmarks", "devtools", "scripts", "examples")
TOP_FOLDERS += ("docker", "specs", r"\.ci", "reference", "images")
# A path that starts a word and is not a pattern (`<job>`, `{a,b}`, `*`, `#`) right after it.
FOLDERS = "|".join(TOP_FOLDERS)
PATH = re.compile(rf"(?<![\w./-])((?:{FOLDERS})/[\w.\-/]*+)(?![<{{*#])")
MADE_BY_RUNS = ("benchmarks/out/",)  # written by the benchmarks, ignored by git


def test_every_path_the_docs_name_exists() -> None:
    missing = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            for match in PATH.finditer(line):
                path = match.group(1).rstrip(".")
                if not path.startswith(MADE_BY_RUNS) and not (REPO / path).exists():
                    missing.append(f"{doc.relative_to(REPO)}:{number}: {path}")
    assert missing == []


def test_the_pattern_sees_paths_and_skips_placeholders() -> None:
    found = PATH.findall("see `compiler/cli/app.py`, runtime/jobs/<job>/ and tests/cases/{valid,invalid}/")
    assert found == ["compiler/cli/app.py"]


def _rows() -> dict[str, str]:
    """ARCHITECTURE.md's table: each folder or module named in a row's first cell -> the row's text."""
    rows = {}
    for line in (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            first, rest = line[1:].split("|", 1)
            rows |= dict.fromkeys(re.findall(r"`([^`]+)`", first), rest)
    return rows


def test_architecture_maps_every_compiler_module_and_runtime_package() -> None:
    rows = _rows()
    unmapped = []
    for package in sorted((REPO / "compiler").iterdir()):
        if not (package / "__init__.py").is_file():
            continue
        row = rows.get(f"compiler/{package.name}/", "")
        unmapped += [
            f"compiler/{package.name}/{module.name}"
            for module in sorted(package.glob("*.py"))
            if module.stem != "__init__" and not re.search(rf"\b{module.stem}\b", row)
        ]
    for package in sorted((REPO / "runtime").iterdir()):
        if (package / "__init__.py").is_file() and f"runtime/{package.name}/" not in rows:
            unmapped.append(f"runtime/{package.name}/")
    text = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for folder in ("compiler", "runtime"):
        unmapped += [
            f"{folder}/{module.name}"
            for module in sorted((REPO / folder).glob("*.py"))
            if module.stem != "__init__" and module.name not in text
        ]
    assert unmapped == []


def test_every_test_the_docs_name_exists() -> None:
    named = re.compile(r"(tests/[\w/.-]+\.py)::(\w+)")
    missing = []
    for doc in DOCS:
        for test_file, name in named.findall(doc.read_text(encoding="utf-8")):
            source = REPO / test_file
            if not source.is_file() or f"def {name}(" not in source.read_text(encoding="utf-8"):
                missing.append(f"{doc.relative_to(REPO)}: {test_file}::{name}")
    assert missing == []
