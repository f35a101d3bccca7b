"""Messages show values as the user wrote them in YAML (`42`, `true`, `null`), never Python reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.compilation.compile import validate_with_cache
from compiler.errors import WorkspaceInvalid
from compiler.validation.workspace_config import load_workspace


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("42", "42"),
        ("1.50", "1.50"),
        ("true", "true"),
        ("null", "null"),
        ("[1, 2]", "[1, 2]"),
        ("{a: 1e-6}", '{"a": 1e-6}'),
    ],
)
def test_schema_messages_show_yaml_values(workspace_dir: Path, written: str, shown: str) -> None:
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(f"owner: {written}\n" + spec.read_text())
    result = validate_with_cache(load_workspace(workspace_dir), "local")
    (message,) = [d.message for d in result.diagnostics if d.path.endswith("fg_c_builder#v1.yaml") and d.is_error]
    assert message.startswith(f"owner: {shown} is not of type")
    assert "Decimal" not in message and "True" not in message and "None" not in message


def test_ndrc_yaml_messages_show_yaml_values(workspace_dir: Path) -> None:
    config = workspace_dir / "ndrc.yaml"
    config.write_text(config.read_text().replace("region: us-east-1", "region: 42", 1))
    with pytest.raises(WorkspaceInvalid) as raised:
        load_workspace(workspace_dir)
    messages = [d.message for d in raised.value.diagnostics]
    assert any(m.startswith("environments.local.region: 42 is not of type") for m in messages), messages
    assert not any("Decimal" in m for m in messages)
