"""The fast path must give the same verdict as the full validator, or it would hide errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.load.yamlload import load_yaml
from compiler.validation.fastcheck import is_valid
from compiler.validation.schemas import SchemaCatalog

REPO = Path(__file__).resolve().parents[3]
CATALOG = SchemaCatalog.default()


def test_every_schema_compiles_to_a_fast_validator() -> None:
    assert [name for name in CATALOG.schemas if CATALOG.fast_validator(name) is None] == []


def _payloads() -> list[tuple[str, object]]:
    found = []
    for path in sorted([*REPO.glob("specs/*/*.yaml"), *REPO.glob("tests/cases/*/*/specs/*/*.yaml")]):
        if not path.is_file():  # the io.read case is a dangling link
            continue
        job = path.stem.partition("#")[0]
        document, _ = load_yaml(str(path), path.read_bytes())
        if document is None or not isinstance(document.data, dict) or not CATALOG.has(f"jobs/{job}"):
            continue
        payload = document.data.get("spec", document.data.get("parameters"))
        found.append((f"jobs/{job}", payload))
    return found


@pytest.mark.parametrize(("name", "payload"), _payloads())
def test_fast_and_full_validators_agree(name: str, payload: object) -> None:
    fast = CATALOG.fast_validator(name)
    assert fast is not None
    assert is_valid(fast, payload) == CATALOG.validator(name).is_valid(payload)


@pytest.mark.parametrize(
    "mutation",
    [
        lambda spec: spec.pop("fg_c_output"),
        lambda spec: spec.update(horizons="7d"),
        lambda spec: spec.update(eps="tiny"),
        lambda spec: spec["fg_a_input"].update(s3_prefix="http://x"),
        lambda spec: spec.update(horizons=["7x"]),
    ],
)
def test_fast_path_rejects_what_the_full_validator_rejects(mutation) -> None:
    path = REPO / "specs/ndr-prod/fg_c_builder#v1.yaml"
    document, _ = load_yaml(str(path), path.read_bytes())
    spec = document.data["spec"]
    mutation(spec)
    assert not CATALOG.validator("jobs/fg_c_builder").is_valid(spec)
    assert not is_valid(CATALOG.fast_validator("jobs/fg_c_builder"), spec)
