"""What `--resume` grades again: a student is skipped only when the very submission was graded
against the very same exercise or quiz and limits (their `fingerprint`)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wsquiz.grading.gradebook import Graded, Kind
from wsquiz.grading.submissions import Submission

if TYPE_CHECKING:
    from wsquiz.engine.serving import Limits


@dataclass(frozen=True)
class Selection:
    todo: list[Submission]
    skipped: list[str]  # graded before from the very same submission
    changed: list[str]  # in the gradebook from another submission: graded again
    moved: list[str]  # of those changed, the ones graded before from another folder
    renewed: list[str] = field(default_factory=list)  # same submission, but the exercise,
    # quiz or limits changed since: graded again


def select(
    submissions: Sequence[Submission],
    graded: Mapping[str, Graded],
    resume: bool,
    fingerprint: str = "",
) -> Selection:
    """What to grade, given what the gradebook holds.

    Without `resume` everyone is graded; with it, a student is skipped only when the
    submission is the one graded (same digest) against the same exercise or quiz and limits
    (same `fingerprint`); anything else is graded again.
    """
    if not resume:
        return Selection(list(submissions), [], [], [])
    todo, skipped, changed, moved, renewed = [], [], [], [], []
    for submission in submissions:
        before = graded.get(submission.student)
        same = before is not None and bool(before.digest) and before.digest == submission.digest
        if same and before is not None and before.assignment == fingerprint:
            skipped.append(submission.student)
            continue
        todo.append(submission)
        if same:
            renewed.append(submission.student)
        elif before is not None:
            changed.append(submission.student)
            if _elsewhere(before.source, submission):
                moved.append(submission.student)
    return Selection(todo, skipped, changed, moved, renewed)


def _elsewhere(before: str, submission: Submission) -> bool:
    """Whether the row was graded from outside this submission's folder (another section).

    An origin recorded by an older wsquiz may be relative: it tells nothing.
    """
    if not before or submission.root is None or not Path(before).is_absolute():
        return False
    return not Path(before).is_relative_to(submission.root.absolute())


def fingerprint(kind: Kind, name: str, limits: Limits, root: Path | None = None) -> str:
    """What a grade depends on besides the submission: the exercise's files and the limits
    (or the quiz file and its apps), as a sha256. Raises, naming the available ones, when the
    exercise or quiz does not exist."""
    digest = hashlib.sha256(f"{kind}\0{name}\0".encode())
    if kind == "exercise":
        from wsquiz.course.exercises import find_exercise

        exercise = find_exercise(name, root)
        files = [exercise.solution]
        if exercise.folder is not None:
            files = [p for p in sorted(exercise.folder.rglob("*")) if p.is_file()]
        digest.update(f"{limits.wall_s}\0{limits.cpu_s}\0{limits.memory_mb}\0".encode())
    else:
        from wsquiz.course.quizzes import load_course

        quiz = load_course(root).quiz(name)
        files = [quiz.path, *dict.fromkeys(app for q in quiz.questions for app in q.apps)]
    for file in files:
        if "__pycache__" in file.parts:
            continue
        digest.update(file.name.encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(file.read_bytes())
    return digest.hexdigest()
