"""Grading one submission of an exercise: every check, played against the student's own
server (sandboxed) and compared with what the reference solution does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from wsquiz.errors import ContentError
from wsquiz.grading.gradebook import CheckOutcome, Kind, StudentResult
from wsquiz.grading.submissions import Submission

if TYPE_CHECKING:
    from wsquiz.course.exercises import Exercise
    from wsquiz.engine.appfile import AppSpec
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.serving import Limits


class ReportLike(Protocol):
    """What a check function returns (`wsquiz.learn.checking.CheckReport`)."""

    @property
    def results(self) -> Sequence[Any]: ...

    @property
    def error(self) -> str | None: ...


CheckFn = Callable[["AppSpec"], Awaitable[ReportLike]]


def result_of(submission: Submission, report: ReportLike, elapsed_s: float) -> StudentResult:
    checks = tuple(
        CheckOutcome(
            name=r.name,
            passed=bool(r.passed),
            points=float(r.points),
            max_points=float(r.max_points),
            message=r.message,
        )
        for r in report.results
    )
    return StudentResult(
        student=submission.student,
        score=sum(c.points for c in checks),
        max_score=sum(c.max_points for c in checks),
        checks=checks,
        error=report.error,
        source=str(submission.path or ""),
        elapsed_s=elapsed_s,
    )


class ExerciseAssignment:
    """Grades code: every check of the exercise, the student's server sandboxed."""

    kind: Kind = "exercise"
    fingerprint: str = ""

    def __init__(
        self,
        exercise: Exercise,
        lab: Lab,
        limits: Limits,
        check: CheckFn | None = None,
    ) -> None:
        self.exercise = exercise
        self.name = exercise.name
        self.limits = limits
        self._lab = lab
        self._check = check or self._run_checks
        self.checks = tuple((c.name, float(c.points)) for c in exercise.checks)

    async def _run_checks(self, spec: AppSpec) -> ReportLike:
        from wsquiz.learn.checking import check_app

        return await check_app(self.exercise, spec, self._lab, self.limits)

    def prove(self, lab: Lab) -> None:
        """Grade the reference solution first: a class is not graded against a broken key."""
        from wsquiz.engine.appfile import AppSpec

        async def check() -> ReportLike:
            return await self._check(AppSpec(self.exercise.solution))

        report = lab.call(check())
        failed = [r for r in report.results if not r.passed]
        if report.error or failed:
            why = report.error or "; ".join(f"{r.name}: {r.message}" for r in failed)
            raise ContentError(
                f"exercise {self.name!r}: its reference solution fails its own checks ({why})",
                fix=f"correct {self.exercise.solution} (wsquiz exercise verify shows it)",
            )

    @property
    def deadline_s(self) -> float:
        """Past this the student's grading is stopped: every check at its limits, and slack."""
        per_check = self.limits.startup_s + self.limits.wall_s + 5.0
        return per_check * max(1, len(self.checks)) + 10.0

    async def grade(self, submission: Submission) -> StudentResult:
        from wsquiz.engine.appfile import AppSpec

        start = time.perf_counter()
        if submission.problem is not None or submission.path is None:
            return self.unchecked(submission, submission.problem or "no submission")
        try:
            report = await asyncio.wait_for(
                self._check(AppSpec(submission.path.resolve())), self.deadline_s
            )
        except asyncio.TimeoutError:
            return self.unchecked(
                submission, f"grading took longer than {self.deadline_s:g}s and was stopped"
            )
        return result_of(submission, report, time.perf_counter() - start)

    def unchecked(self, submission: Submission, problem: str) -> StudentResult:
        checks = tuple(
            CheckOutcome(name, False, 0.0, points, f"not checked: {problem}")
            for name, points in self.checks
        )
        return StudentResult(
            student=submission.student,
            score=0.0,
            max_score=sum(points for _, points in self.checks),
            checks=checks,
            error=problem,
            source=str(submission.path or ""),
        )
