"""Problems found in the workspace, as plain data: located, ruled, rendered at the edge."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based position in a file (1:1 for problems of the file as a whole, such as its name)."""

    path: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Diagnostic:
    location: Location
    rule: str
    message: str
    severity: Severity = Severity.ERROR

    @property
    def path(self) -> str:
        return self.location.path

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.rule, self.message)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "message": self.message,
            "severity": self.severity.value,
        }


def error(location: Location, rule: str, message: str) -> Diagnostic:
    return Diagnostic(location, rule, message, Severity.ERROR)


def warning(location: Location, rule: str, message: str) -> Diagnostic:
    return Diagnostic(location, rule, message, Severity.WARNING)


@dataclass
class DiagnosticBag:
    """Collects diagnostics from every stage; one bad file never hides the others."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        unique = {(d.sort_key(), d.severity): d for d in self.items}
        return [unique[key] for key in sorted(unique)]
