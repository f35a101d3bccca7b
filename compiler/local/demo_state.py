"""The demo's environment, found again after `ndrc demo` ended.

The demo runs its own emulator and model server (free ports, its workspace copy under `--state-dir`), so a
user's `ndrc local up` on port 4566 is never touched. To keep the contract's "`ndrc local status` then lists
the executions; `ndrc local down` stops everything it started" true for a plain command, the demo records
its workspace copy in the workspace it ran from (`.ndrc/demo.json`); `ndrc local status|down` of that
workspace then also report and stop the demo's environment, labelled as the demo's, beside the workspace's
own emulator (never instead of it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from compiler.errors import NdrcError
from compiler.load.workspace import Workspace
from compiler.local import daemon, model_server
from compiler.model import EnvironmentConfig

RECORD = "demo.json"
ENVIRONMENT = "local"


@dataclass(frozen=True)
class DemoEnvironment:
    """The demo's workspace copy and its `local` environment (pointing at the demo's own port)."""

    workspace: Workspace
    environment: EnvironmentConfig

    @property
    def label(self) -> str:
        return f"demo environment (`ndrc demo`, workspace copy {self.workspace.root})"


def record_path(root: Path) -> Path:
    return root / daemon.STATE_DIR / RECORD


def remember(root: Path, demo_workspace: Path) -> None:
    """Record the demo's workspace copy in the workspace the demo ran from (replacing an earlier record)."""
    path = record_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"workspace": str(demo_workspace.resolve())}) + "\n", encoding="utf-8")


def forget(root: Path) -> None:
    record_path(root).unlink(missing_ok=True)


def recorded(root: Path) -> Path | None:
    """The demo workspace recorded under `root`, when the record names one that still exists."""
    try:
        found = Path(str(json.loads(record_path(root).read_text(encoding="utf-8"))["workspace"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if (found / "ndrc.yaml").is_file() else None


def open_demo(demo_workspace: Path) -> DemoEnvironment | None:
    """The demo's workspace and environment (None when the copy no longer loads: nothing to report)."""
    from compiler.validation.workspace_config import load_workspace

    try:
        workspace = load_workspace(demo_workspace)
        return DemoEnvironment(workspace, workspace.environment(ENVIRONMENT))
    except NdrcError:
        return None


def find(root: Path) -> DemoEnvironment | None:
    """The demo environment recorded in the workspace at `root`, if any (running or not)."""
    found = recorded(root)
    return open_demo(found) if found is not None else None


def status(demo: DemoEnvironment) -> tuple[daemon.EmulatorStatus, model_server.ModelServerStatus]:
    return daemon.status(demo.workspace, demo.environment), model_server.status(demo.workspace)


def stop(demo: DemoEnvironment) -> list[str]:
    """Stop the demo's model server and emulator (its warm workers end with it); one line per part."""
    served = model_server.down(demo.workspace)
    emulator = daemon.down(demo.workspace, demo.environment)
    return [emulator.describe(), served.describe()]
