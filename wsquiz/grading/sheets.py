"""Grading one answer sheet of a quiz: each answer judged against the question observed live
(once per run for the whole class); whatever score the sheet claims is ignored."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsquiz.errors import UsageError
from wsquiz.grading.gradebook import CheckOutcome, Kind, StudentResult
from wsquiz.grading.submissions import Submission

if TYPE_CHECKING:
    from wsquiz.course.quizzes import Quiz
    from wsquiz.engine.lab import Lab


def load_sheet(path: Path, quiz: str) -> dict[str, str]:
    """A learner's answers, from a sheet `wsquiz quiz --record` wrote (or `{id: answer}`).

    Whatever score the sheet claims is ignored: every answer is judged again, live.
    """
    from wsquiz.learn.quiz import read_sheet

    try:
        sheet = read_sheet(path)
    except RecursionError:  # the parser's own limit: no answer sheet is nested that deep
        raise UsageError(
            f"{path.name}: nested too deeply to be an answer sheet",
            fix='write a JSON object {"question-id": "answer", ...} (or the same as TOML)',
        ) from None
    if sheet.quiz is not None and sheet.quiz != quiz:
        raise UsageError(f"{path.name}: the sheet answers the quiz {sheet.quiz!r}, not {quiz!r}")
    return sheet.answers


Judge = Callable[[Any, str, Any], Any]
MAX_SHOWN = 200  # characters of an answer that its feedback quotes


class QuizAssignment:
    """Grades answer sheets: each answer judged against the question observed live."""

    kind: Kind = "quiz"
    fingerprint: str = ""

    def __init__(self, quiz: Quiz, observations: dict[str, Any], judge: Judge) -> None:
        self.quiz = quiz
        self.name = quiz.name
        self.observations = observations
        self._judge = judge
        self.checks = tuple((q.id, 1.0) for q in quiz.questions)

    @classmethod
    def observe(cls, quiz: Quiz, lab: Lab) -> QuizAssignment:
        """Observe every question live (once for the whole class: it is the same server)."""
        from wsquiz.learn.judge import judge, observe_question

        observations = {q.id: observe_question(q, lab) for q in quiz.questions}
        return cls(quiz, observations, judge)

    async def grade(self, submission: Submission) -> StudentResult:
        start = time.perf_counter()
        if submission.problem is not None or submission.path is None:
            return self.unchecked(submission, submission.problem or "no answer sheet")
        try:
            answers = load_sheet(submission.path, self.quiz.name)
        except UsageError as exc:
            return self.unchecked(submission, exc.message)
        from wsquiz.learn.drift import read_sheet_json, sheet_keys, sheet_stack_note

        raw = read_sheet_json(submission.path)
        other_stack = sheet_stack_note(raw)  # recorded on another stack: said, and keys compared
        old_keys = sheet_keys(raw) if other_stack else {}
        checks = []
        for question in self.quiz.questions:
            answer = answers.get(question.id)
            if answer is None or not answer.strip():
                checks.append(CheckOutcome(question.id, False, 0.0, 1.0, "not answered"))
                continue
            verdict = self._judge(question, answer, self.observations[question.id])
            correct = bool(verdict.correct)
            message = str(getattr(verdict, "message", "") or "")
            if not message:
                observed = getattr(verdict, "observed", "")
                message = "correct" if correct else f"answered {answer!r}; observed {observed!r}"
            was, key = old_keys.get(question.id), getattr(verdict, "observed", None)
            if was is not None and key is not None and was != key:
                message += f" (the key differs: {was!r} on the sheet's stack, {key!r} here)"
            if len(answer) > MAX_SHOWN:  # the feedback quotes a long answer by its start only
                short = f"{answer[:MAX_SHOWN]}… ({len(answer)} characters)"
                message = message.replace(repr(answer), repr(short)).replace(answer, short)
            checks.append(CheckOutcome(question.id, correct, 1.0 if correct else 0.0, 1.0, message))
        unknown = sorted(set(answers) - {q.id for q in self.quiz.questions})
        notes = [f"answers to unknown questions ignored: {', '.join(unknown)}"] if unknown else []
        notes += [other_stack] if other_stack else []
        error = "; ".join(notes) or None
        return StudentResult(
            student=submission.student,
            score=sum(c.points for c in checks),
            max_score=float(len(checks)),
            checks=tuple(checks),
            error=error,
            source=str(submission.path),
            elapsed_s=time.perf_counter() - start,
        )

    def unchecked(self, submission: Submission, problem: str) -> StudentResult:
        checks = tuple(
            CheckOutcome(q.id, False, 0.0, 1.0, f"not graded: {problem}")
            for q in self.quiz.questions
        )
        return StudentResult(
            student=submission.student,
            score=0.0,
            max_score=float(len(checks)),
            checks=checks,
            error=problem,
            source=str(submission.path or ""),
        )
