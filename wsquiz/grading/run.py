"""The grading pool: `jobs` students at a time on the lab's event loop, each result handed to
the caller (the gradebook) the moment it is known, and no student's failure stopping the class.

What one student's grading is lives in `exercise.py` (code) and `sheets.py` (answer sheets);
finding the submissions in `submissions.py`; what `--resume` skips in `resume.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import queue
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from wsquiz.errors import ContentError, WsquizError
from wsquiz.grading.exercise import ExerciseAssignment
from wsquiz.grading.gradebook import Kind, StudentResult
from wsquiz.grading.resume import fingerprint
from wsquiz.grading.sheets import QuizAssignment
from wsquiz.grading.submissions import Submission, readable

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.serving import Limits


class Assignment(Protocol):
    """What the pool grades against: an exercise (`ExerciseAssignment`) or a quiz
    (`QuizAssignment`)."""

    kind: Kind
    name: str
    fingerprint: str  # what a grade depends on besides the submission (see `fingerprint`)

    async def grade(self, submission: Submission) -> StudentResult: ...

    def unchecked(self, submission: Submission, problem: str) -> StudentResult: ...


async def grade_batch(
    assignment: Assignment,
    submissions: Sequence[Submission],
    jobs: int,
    on_result: Callable[[StudentResult], None],
) -> None:
    """Grade `jobs` students at a time on the running loop; report each as it finishes.

    No student's failure stops the batch: a bug met while grading one is that student's error.
    """
    gate = asyncio.Semaphore(max(1, jobs))

    async def one(submission: Submission) -> None:
        async with gate:
            submission.digest  # noqa: B018 - taken before grading: a later change is regraded
            try:
                result = await assignment.grade(submission)
            except ContentError:
                raise  # the exercise or quiz itself is broken: stop, grade no one against it
            except WsquizError as exc:
                result = assignment.unchecked(submission, exc.message)
            except Exception as exc:  # one student must not stop the class
                result = assignment.unchecked(submission, f"internal error while grading: {exc!r}")
            try:
                kept = finished(submission, result, assignment.fingerprint)
            except Exception as exc:  # as above: whatever a submission holds costs it alone
                problem = f"internal error while recording the grade: {exc!r}"
                kept = finished(submission, assignment.unchecked(submission, problem), "")
        on_result(kept)

    await asyncio.gather(*(one(s) for s in submissions))


MAX_FEEDBACK = 2000  # characters of one check's feedback (or of the error) that are kept


def finished(submission: Submission, result: StudentResult, against: str = "") -> StudentResult:
    """The result as kept: what was graded (digest, origin) and against what (`fingerprint`),
    feedback without the grader's paths, every text recordable (see `readable`) and trimmed
    to `MAX_FEEDBACK` (a student's 200 KB answer is not echoed whole)."""

    def feedback(text: str) -> str:
        return trimmed(readable(submission.scrub(text)), MAX_FEEDBACK)

    checks = tuple(
        dataclasses.replace(check, name=readable(check.name), message=feedback(check.message))
        for check in result.checks
    )
    return dataclasses.replace(
        result,
        student=readable(result.student),
        checks=checks,
        error=feedback(result.error) if result.error else result.error,
        source=readable(submission.origin),
        digest=submission.digest,
        assignment=against,
    )


def trimmed(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def run(
    lab: Lab,
    assignment: Assignment,
    submissions: Sequence[Submission],
    jobs: int,
) -> Iterator[StudentResult]:
    """Grade on the lab's loop; yield each result in the calling thread as it is known.

    Stopping the iteration early (Ctrl-C, an error while recording) cancels the rest; the
    lab's close then stops every server still running.
    """
    done: queue.SimpleQueue[StudentResult | None] = queue.SimpleQueue()
    failure: list[BaseException] = []

    async def batch() -> None:
        try:
            await grade_batch(assignment, submissions, jobs, done.put)
        except BaseException as exc:
            failure.append(exc)
            raise
        finally:
            done.put(None)

    # Every sandbox is forked from this process: objects frozen out of the collector's reach
    # are not touched (so not copied) by each child's collections.
    gc.collect()
    gc.freeze()
    future = lab.submit(batch())
    try:
        while True:
            try:
                item = done.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                break
            yield item
    finally:
        if not future.done():
            future.cancel()
        gc.unfreeze()
    if failure and not isinstance(failure[0], asyncio.CancelledError):
        raise failure[0]


def assignment_for(
    kind: Kind, name: str, lab: Lab, limits: Limits, root: Path | None = None
) -> Assignment:
    """The exercise or quiz named, from the course in use (`root`, else the bundled one)."""
    if kind == "exercise":
        from wsquiz.course.exercises import find_exercise

        exercise = ExerciseAssignment(find_exercise(name, root), lab, limits)
        exercise.prove(lab)
        exercise.fingerprint = fingerprint(kind, name, limits, root)
        return exercise
    from wsquiz.course.quizzes import load_course

    quiz = QuizAssignment.observe(load_course(root).quiz(name), lab)
    quiz.fingerprint = fingerprint(kind, name, limits, root)
    return quiz
