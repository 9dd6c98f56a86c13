"""Checking a learner's file against an exercise, live, and proving an exercise.

The answer key of every check is the exercise's reference solution, served live (in-process: it
is trusted content) and observed with the same scenario as the learner's server (always served
in a sandboxed process, see `playing`); each check is then judged by `comparing`. The report
types live in `reports` and are re-exported here, the names callers use.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from wsquiz.course.exercises import Check, Exercise
from wsquiz.errors import AppLoadError, ContentError, WsquizError
from wsquiz.learn.comparing import judge_check
from wsquiz.learn.diagnosis import Cause, missing_await
from wsquiz.learn.playing import Stalled, cancelled, observe_each, observe_once
from wsquiz.learn.reports import STALLED, CheckReport, CheckResult

if TYPE_CHECKING:
    from wsquiz.engine.appfile import AppSpec
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.serving import Limits
    from wsquiz.engine.transcript import Transcript

__all__ = [
    "STALLED",
    "CheckReport",
    "CheckResult",
    "Proof",
    "check_app",
    "judge_check",
    "prove",
    "run_checks",
]

# The reference solution is trusted and its observations do not change within one lab, so a
# grader checking many files observes it once per check, still live.
_reference_cache: weakref.WeakKeyDictionary[
    Any, dict[tuple[str, int, str], asyncio.Future[Transcript]]
] = weakref.WeakKeyDictionary()


def run_checks(
    exercise: Exercise, spec: AppSpec, lab: Lab, limits: Limits | None = None
) -> CheckReport:
    """Check the learner's app (served sandboxed) against the exercise's reference solution."""
    task = lab.call(_spawn(check_app(exercise, spec, lab, limits)))
    try:
        return lab.call(_join(task))
    except KeyboardInterrupt:
        # Stop the servers this check started before the interrupt goes on up.
        lab.loop.call_soon_threadsafe(task.cancel)
        lab.call(asyncio.wait([task], timeout=5))
        raise


async def _spawn(coro: Coroutine[Any, Any, CheckReport]) -> asyncio.Task[CheckReport]:
    return asyncio.ensure_future(coro)


async def _join(task: asyncio.Task[CheckReport]) -> CheckReport:
    return await asyncio.shield(task)


async def check_app(
    exercise: Exercise, spec: AppSpec, lab: Lab, limits: Limits | None = None
) -> CheckReport:
    """`run_checks` for a caller already on the lab's event loop."""
    observing = observe_once if exercise.serve == "once" else observe_each
    # The reference's observations and the learner's run at the same time: their waits overlap.
    expected, observed = await _together(
        _references(exercise, lab), observing(spec, exercise.checks, limits)
    )
    results: list[CheckResult] = []
    for index, (check, outcome) in enumerate(zip(exercise.checks, observed, strict=True)):
        if isinstance(outcome, AppLoadError):
            return _unserved(exercise, spec, outcome)
        if isinstance(outcome, Stalled):
            results.append(_failed(check, outcome.message))
            continue
        if isinstance(outcome, WsquizError):
            if index == 0:
                return _unserved(exercise, spec, outcome)
            results.append(_failed(check, f"the server did not start: {outcome.message}"))
            continue
        results.append(judge_check(check, expected[index], outcome))
    cause = _cause(spec, results)
    if cause is not None:  # the stall was the missing await's doing: say that, not a loop
        results = [_blamed(r, cause) for r in results]
    return CheckReport(exercise=exercise.name, app=str(spec), results=tuple(results), cause=cause)


def _blamed(result: CheckResult, cause: Cause) -> CheckResult:
    """A result whose stall is put down to the cause found, not to a guessed blocking loop."""
    said = f"the server stopped responding ({cause.title}, see above)"
    transcript = result.transcript
    if transcript is not None and STALLED in transcript.timed_out:
        notes = tuple(said if note == STALLED else note for note in transcript.timed_out)
        transcript = replace(transcript, timed_out=notes)
    return replace(result, message=result.message.replace(STALLED, said), transcript=transcript)


def _cause(spec: AppSpec, results: list[CheckResult]) -> Cause | None:
    """The likely cause of the failed checks, found in what the learner's server warned."""
    failed = [r for r in results if not r.passed and r.transcript is not None]
    warnings = [w for r in failed if r.transcript for w in r.transcript.server.warnings]
    return missing_await(spec.path, warnings)


async def _together(
    references: Coroutine[Any, Any, list[Transcript]],
    learner: Coroutine[Any, Any, list[Transcript | WsquizError]],
) -> tuple[list[Transcript], list[Transcript | WsquizError]]:
    """Both at once; when one fails (or the whole is cancelled) the other is cancelled, and
    waited for, so that every server it started is stopped before this returns."""
    first = asyncio.ensure_future(references)
    second = asyncio.ensure_future(learner)
    try:
        return await first, await second
    finally:
        await cancelled(first, second)


async def _references(exercise: Exercise, lab: Lab) -> list[Transcript]:
    from wsquiz.engine.appfile import AppSpec as Spec

    reference = Spec(exercise.solution)
    tasks = [asyncio.ensure_future(_reference(lab, reference, c)) for c in exercise.checks]
    try:
        return list(await asyncio.gather(*tasks))
    except WsquizError as exc:
        raise ContentError(
            f"exercise {exercise.name!r}: its reference solution did not serve: {exc.message}",
            fix=f"correct {exercise.solution}",
        ) from None
    finally:
        await cancelled(*tasks)


async def _reference(lab: Lab, spec: AppSpec, check: Check) -> Transcript:
    from wsquiz.engine.lab import observe

    cache = _reference_cache.setdefault(lab, {})
    key = (str(spec.path), spec.path.stat().st_mtime_ns, check.name)
    if key not in cache:
        # Kept as a task: checks of several files at once share one observation.
        cache[key] = asyncio.ensure_future(observe(spec, check.scenario, isolated=False))
    task = cache[key]
    try:
        return await asyncio.shield(task)
    except BaseException:
        if task.done() and (task.cancelled() or task.exception() is not None):
            cache.pop(key, None)  # not kept: the next check observes it again
        raise


def _unserved(exercise: Exercise, spec: AppSpec, error: WsquizError) -> CheckReport:
    """Every check failed with 0 points: the app never served."""
    results = tuple(_failed(c, f"not checked: {error.message}") for c in exercise.checks)
    detail = error.detail if isinstance(error, AppLoadError) else ""
    return CheckReport(
        exercise=exercise.name,
        app=str(spec),
        results=results,
        error=error.message,
        error_detail=detail,
        error_fix=error.fix,
        error_kind="load" if isinstance(error, AppLoadError) else "start",
    )


def _failed(check: Check, message: str) -> CheckResult:
    return CheckResult(
        name=check.name,
        passed=False,
        points=0,
        max_points=check.points,
        message=message,
        description=check.description,
    )


# ---- proving an exercise ------------------------------------------------------------------


@dataclass(frozen=True)
class Proof:
    """`wsquiz exercise verify` for one exercise: its solution passes, its starter fails."""

    name: str
    problems: tuple[str, ...]
    solution: CheckReport | None = None
    starter: CheckReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def prove(exercise: Exercise, lab: Lab) -> Proof:
    from wsquiz.engine.appfile import AppSpec as Spec

    problems: list[str] = []
    try:
        solution = run_checks(exercise, Spec(exercise.solution), lab)
        starter = run_checks(exercise, Spec(exercise.starter), lab)
    except WsquizError as exc:
        return Proof(exercise.name, (exc.message,))
    if solution.error:
        problems.append(f"the solution did not serve: {solution.error}")
    for result in solution.results:
        if not result.passed and not solution.error:
            problems.append(f"the solution fails check {result.name!r}: {result.message}")
    if starter.error:
        problems.append(f"the starter must run (to show the learner a transcript): {starter.error}")
    elif starter.passed:
        problems.append("the starter passes every check: it must leave something to do")
    return Proof(exercise.name, tuple(problems), solution, starter)
