"""The emulator fixture's process: when it cannot start, its own stderr is the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.local import emulator


def test_a_server_that_exits_is_reported_with_its_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named moto' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(emulator.sys, "executable", str(broken))
    with pytest.raises(RuntimeError) as failure, emulator.running_emulator(tmp_path):
        pass
    assert "exited with code 3" in str(failure.value)
    assert "ModuleNotFoundError: No module named moto" in str(failure.value)


def test_waiting_stops_when_the_server_is_gone() -> None:
    # An hour-long timeout: only the liveness check can end this wait.
    assert emulator.wait_until_ready("http://127.0.0.1:9", timeout_seconds=3600, alive=lambda: False) is False
