"""The one error type users see, and the diagnostic record that `validate` reports.

Errors are raised deep (where the facts are) and reported once, at the top, by the CLI:
never a traceback for bad input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the user's files, at a 1-based line and column (0 when unknown)."""

    path: str
    line: int
    column: int
    severity: Severity
    code: str
    message: str
    hint: str = ""

    def format(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        text = f"{where}: {self.severity.value}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class UserError(Exception):
    """Bad input or a failure in the world, reported to the user as one line: exit code 1.

    `path`, `line` and `column` point at the cause when there is one; `hint` says what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int = 0,
        column: int = 0,
        hint: str = "",
        code: str = "error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.hint = hint
        self.code = code

    def as_diagnostic(self) -> Diagnostic:
        return Diagnostic(
            path=self.path or "",
            line=self.line,
            column=self.column,
            severity=Severity.ERROR,
            code=self.code,
            message=self.message,
            hint=self.hint,
        )

    def __str__(self) -> str:
        if self.path:
            return self.as_diagnostic().format()
        return f"error: {self.message}" + (f" ({self.hint})" if self.hint else "")


class UsageError(UserError):
    """The command line itself is wrong: exit code 2."""
