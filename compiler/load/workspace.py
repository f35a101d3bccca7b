"""Finding the workspace and selecting an environment of its `ndrc.yaml`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.errors import UsageError
from compiler.load.root import CONFIG_FILE, ENDPOINT_VARIABLE, ENVIRONMENT_VARIABLES, SPECS_DIR, workspace_root
from compiler.model import EnvironmentConfig
from runtime.contract import ENVIRONMENT_NAME_ENV, LEGACY_PARAMETERS_TABLE_ENV, PARAMETERS_TABLE_ENV

__all__ = ["CONFIG_FILE", "ENVIRONMENT_VARIABLES", "SPECS_DIR", "Workspace", "find_workspace_root"]

DEFAULT_ENVIRONMENT = "local"


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: dict[str, Any]
    config_sha256: str | None = None  # of ndrc.yaml's bytes as read (load_workspace), for the build record

    @property
    def specs_dir(self) -> Path:
        return self.root / SPECS_DIR

    @property
    def environment_names(self) -> list[str]:
        return sorted(self.config.get("environments", {}))

    def environment(self, name: str | None = None) -> EnvironmentConfig:
        """The named environment (else NDRC_ENV, else the config's default, else `local`)."""
        chosen = (
            name
            or os.environ.get(ENVIRONMENT_NAME_ENV)
            or self.config.get("default_environment")
            or DEFAULT_ENVIRONMENT
        )
        environments = self.config.get("environments", {})
        if chosen not in environments:
            known = ", ".join(self.environment_names) or "none"
            raise UsageError(f"unknown environment {chosen!r} in {CONFIG_FILE} (known: {known})")
        return EnvironmentConfig(chosen, _with_overrides(environments[chosen]))

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


def _with_overrides(settings: dict[str, Any]) -> dict[str, Any]:
    """Apply the environment variables CONTRACT honours on top of the configured settings."""
    merged = {**settings, "tables": dict(settings.get("tables", {}))}
    table = os.environ.get(PARAMETERS_TABLE_ENV) or os.environ.get(LEGACY_PARAMETERS_TABLE_ENV)
    if table:
        merged["tables"]["parameters"] = table
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if endpoint:
        merged["endpoint_url"] = endpoint
    return merged


def find_workspace_root(start: Path | None = None) -> Path:
    """The folder holding `ndrc.yaml`: `start` itself or its nearest parent."""
    found = workspace_root(start)
    if found is not None:
        return Path(found)
    here = (start or Path.cwd()).resolve()
    raise UsageError(f"no {CONFIG_FILE} in {here} or any parent folder; pass --workspace DIR")
