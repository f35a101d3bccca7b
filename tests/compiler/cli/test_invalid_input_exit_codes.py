"""Invalid input exits 2 with the located diagnostics printed, on every command but `validate` (whose
findings are its output, exit 1); a file that cannot be written is a one-line error, never "internal error"."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import cli

BAD_FILE = "specs/p1/fg_c_builder#v1.yaml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def break_config(workspace_dir: Path) -> None:
    config = workspace_dir / "ndrc.yaml"
    config.write_text(config.read_text().replace("region: us-east-1", "region: mars-1", 1))


@pytest.mark.parametrize(
    "command", [["plan"], ["compile"], ["graph"], ["local", "status"], ["publish", "--yes"], ["provision"]]
)
def test_an_invalid_ndrc_yaml_exits_2_with_the_located_problem(workspace_dir: Path, command: list[str]) -> None:
    break_config(workspace_dir)
    code, output = run(*command, "--workspace", str(workspace_dir))
    assert code == 2, output
    assert "ndrc.yaml:" in output and "[schema.pattern]" in output and "internal error" not in output


@pytest.mark.parametrize("command", [["plan"], ["compile"], ["publish", "--yes"]])
def test_an_invalid_spec_exits_2_with_the_located_problem(workspace_dir: Path, command: list[str]) -> None:
    path = workspace_dir / BAD_FILE
    path.write_text(path.read_text().replace("s3://feat-bucket/fg_c/", "feat-bucket/fg_c"))
    code, output = run(*command, "--workspace", str(workspace_dir))
    assert code == 2, output
    assert f"{BAD_FILE}:" in output and "[schema.pattern]" in output


@pytest.mark.parametrize(
    "command",
    [
        ["graph", "--out", "/nonexistent/x.md"],
        ["compile", "--out", "/proc/nope"],
        ["schema", "--export", "/proc/x"],
    ],
)
def test_an_unwritable_output_is_a_one_line_error(workspace_dir: Path, command: list[str]) -> None:
    code, output = run(*command, "--workspace", str(workspace_dir)) if command[0] != "schema" else run(*command)
    assert code == 2, output
    assert "internal error" not in output and output.startswith("ndrc: error: cannot write")


def test_a_build_folder_that_cannot_be_written_is_a_one_line_error(workspace_dir: Path) -> None:
    (workspace_dir / "build").write_text("a file where the build folder goes")
    code, output = run("compile", "--workspace", str(workspace_dir))
    assert code == 2 and output.startswith("ndrc: error: cannot write") and "internal error" not in output


def test_a_failed_swap_restores_the_previous_build_and_leaves_nothing_behind(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("compile", "--workspace", str(workspace_dir))[0] == 0
    before = (workspace_dir / "build/local/manifest.json").read_bytes()
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text() + "  z_max: 7\n")
    original = Path.rename

    def failing(self: Path, target: Path) -> Path:  # the swap's second rename fails (disk full, EXDEV...)
        if ".staging-" in self.name:
            raise OSError(28, "No space left on device")
        return original(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    code, output = run("compile", "--workspace", str(workspace_dir))
    monkeypatch.undo()
    assert code == 2 and "No space left on device" in output
    assert (workspace_dir / "build/local/manifest.json").read_bytes() == before
    assert sorted(p.name for p in (workspace_dir / "build").iterdir()) == ["local"]


def test_leftovers_of_a_killed_compile_are_cleaned(workspace_dir: Path) -> None:
    (workspace_dir / "build/.local.retired-999999").mkdir(parents=True)
    (workspace_dir / "build/.local.staging-999999").mkdir()
    assert run("compile", "--workspace", str(workspace_dir))[0] == 0
    assert sorted(p.name for p in (workspace_dir / "build").iterdir()) == ["local"]
