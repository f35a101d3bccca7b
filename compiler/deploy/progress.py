"""A progress bar for long publishes: one line on a terminal's stderr, redrawn at most ten times a second."""

from __future__ import annotations

import time
from typing import TextIO

from compiler.deploy.apply import Outcome

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO, label: str = "publishing") -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty()
        self._drawn = 0.0
        self._problems = 0

    def __call__(self, outcome: Outcome, done: int, total: int) -> None:
        if not outcome.ok:
            self._problems += 1
        now = time.monotonic()
        if not self.enabled or (done < total and now - self._drawn < 0.1):
            return
        self._drawn = now
        filled = WIDTH * done // max(total, 1)
        problems = f", {self._problems} problem(s)" if self._problems else ""
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}{problems}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
