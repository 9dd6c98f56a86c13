"""One exception hierarchy. Each error names what went wrong, where, and how to fix it."""

from __future__ import annotations

from pathlib import Path


class WsquizError(Exception):
    """Base for every error wsquiz reports to a user. `exit_code` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class UsageError(WsquizError):
    """The user asked for something that cannot be done as asked."""


class AppLoadError(WsquizError):
    """An app file could not be imported or holds no ASGI app."""

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        line: int | None = None,
        fix: str = "",
        detail: str = "",
    ) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        self.detail = detail
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}", fix=fix)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "problem": self.problem,
            "detail": self.detail,
            "fix": self.fix,
        }


class LabError(WsquizError):
    """The lab could not start, reach or stop a server."""


class ObservationError(WsquizError):
    """The lab could not observe: its own client or the server side could not run (an
    incompatible `websockets`, a server stack that fails to start), whatever the app does.
    Never an answer: no verdict, key or score is made from it; every command stops (exit 2).
    Not a LabError, so that no handler of an app's failure to serve takes it for one."""


class ContentError(WsquizError):
    """Course content (quizzes, lessons, exercises) is missing or malformed."""

    exit_code = 1


class StoreError(WsquizError):
    """The progress store or gradebook cannot be used."""
