"""The exported editor schemas, checked by the editor's own engine: yaml-language-server (npm) over the
sample workspace reports nothing on valid files and the expected problems on a broken one."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_client import LanguageServer

from compiler.cli import cli

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / ".ci/node/node_modules/yaml-language-server/bin/yaml-language-server"
pytestmark = pytest.mark.node  # node + yaml-language-server (tests/conftest.py skips, or in CI fails, without them)


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    node = shutil.which("node")
    assert node is not None, "the `node` marker checked it"
    root = tmp_path / "ws"
    shutil.copytree(REPO / "specs", root / "specs")
    shutil.copy(REPO / "ndrc.yaml", root / "ndrc.yaml")
    result = CliRunner().invoke(cli, ["schema", "--export", str(root / ".schemas")])
    assert result.exit_code == 0, result.output
    language_server = LanguageServer([node, str(SERVER), "--stdio"], root)
    mapping = json.loads((root / ".schemas/yaml-schemas.json").read_text())["yaml.schemas"]
    language_server.configure(
        {
            "yaml": {
                "validate": True,
                "schemaStore": {"enable": False},
                "schemas": {Path(schema).as_uri(): globs for schema, globs in mapping.items()},
            }
        }
    )
    yield root, language_server
    language_server.close()


def _open(language_server: LanguageServer, files: list[Path]) -> dict[str, list[dict[str, object]]]:
    uris = {}
    for path in files:
        uris[path.as_uri()] = path
        language_server.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": path.as_uri(), "languageId": "yaml", "version": 1, "text": path.read_text()}},
        )
    language_server.settle(set(uris))
    return {uris[uri].as_posix(): found for uri, found in language_server.diagnostics.items() if uri in uris}


def test_valid_files_have_no_diagnostics(server) -> None:  # type: ignore[no-untyped-def]
    root, language_server = server
    files = [*sorted((root / "specs").rglob("*.yaml")), root / "ndrc.yaml"]
    found = _open(language_server, files)
    assert {name: problems for name, problems in found.items() if problems} == {}
    assert len(found) == len(files)


def test_a_broken_file_gets_the_expected_diagnostics(server) -> None:  # type: ignore[no-untyped-def]
    root, language_server = server
    spec = next((root / "specs").rglob("fg_c_builder#*.yaml"))
    text = spec.read_text()
    start = text.index("  fg_a_input:")
    end = text.index("\n  fg_b_input:")
    spec.write_text(re.sub(r"(?m)^owner: .*$", "owner: 42", text[:start] + text[end + 1 :]))
    (problems,) = _open(language_server, [spec]).values()
    messages = " | ".join(str(p["message"]) for p in problems)
    assert 'Missing property "fg_a_input"' in messages
    assert "Incorrect type" in messages and "string" in messages
