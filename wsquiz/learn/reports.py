"""What checking an exercise found: one result per check, and the report of one file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from wsquiz.learn.diagnosis import Cause

if TYPE_CHECKING:
    from wsquiz.engine.transcript import Transcript

STALLED = "the server stopped responding (a blocking loop in the handler?)"


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    points: int
    max_points: int
    message: str
    expected: str = ""
    observed: str = ""
    transcript: Transcript | None = None
    description: str = ""
    traceback: str = ""  # the learner's server error, trimmed to the learner's file
    hint: str = ""  # the check's own hint (the exercise's is the fallback)
    near_miss: tuple[str, str] | None = None  # an expected and an observed text alike but a slip

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "passed": self.passed,
            "points": self.points,
            "max_points": self.max_points,
            "message": self.message,
            "expected": self.expected,
            "observed": self.observed,
            "traceback": self.traceback,
            "near_miss": list(self.near_miss) if self.near_miss else None,
            "transcript": self.transcript.to_dict() if self.transcript else None,
        }


@dataclass(frozen=True)
class CheckReport:
    exercise: str
    app: str
    results: tuple[CheckResult, ...]
    error: str | None = None  # the app never served (did not load, did not start)
    error_detail: str = ""  # for a load error: the trimmed traceback or the syntax error
    error_fix: str = ""
    # "load": the file did not load (a syntax or import error); "start": it loaded, never served
    error_kind: Literal["load", "start"] | None = None
    cause: Cause | None = None  # the likely cause of the failures, named before them

    @property
    def score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.max_points for r in self.results)

    @property
    def passed(self) -> bool:
        return self.error is None and all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "app": self.app,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "error": self.error,
            "error_detail": self.error_detail,
            "error_fix": self.error_fix,
            "error_kind": self.error_kind,
            "cause": (
                {
                    "title": self.cause.title,
                    "message": self.cause.message,
                    "fix": self.cause.fix,
                    "line": self.cause.line,
                }
                if self.cause
                else None
            ),
            "checks": [r.to_dict() for r in self.results],
        }
