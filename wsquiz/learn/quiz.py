"""A quiz without UI: observe every question live, score answers (`--answers`, grading), and the
interactive session, unlock-style (`QuizSession`). Answer files and sheets are `sheets`'."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from wsquiz.course.quizzes import Question, Quiz
from wsquiz.errors import LabError, UsageError
from wsquiz.learn.judge import (
    Observation,
    Verdict,
    judge,
    key_of,
    observe_question_async,
)
from wsquiz.learn.progress import Outcome
from wsquiz.learn.sheets import Sheet, read_sheet, write_sheet

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.progress import Progress

__all__ = ["QuizSession", "Report", "Sheet", "answer_key", "read_sheet", "score", "write_sheet"]

OBSERVE_TIMEOUT_S = 60.0
CONCURRENT_QUESTIONS = 8  # sandboxed courses fork a process per app: keep the machine usable


@dataclass(frozen=True)
class Report:
    quiz: str
    verdicts: tuple[Verdict, ...]

    @property
    def score(self) -> int:
        return sum(v.correct for v in self.verdicts)

    @property
    def max_score(self) -> int:
        return len(self.verdicts)

    @property
    def passed(self) -> bool:
        return self.score == self.max_score

    def to_dict(self) -> dict[str, Any]:
        return {
            "quiz": self.quiz,
            "score": self.score,
            "max_score": self.max_score,
            "results": [v.to_dict() for v in self.verdicts],
        }


def observe_all(quiz: Quiz, lab: Lab) -> dict[str, Observation]:
    """Every question of the quiz, observed live (concurrently)."""
    import asyncio

    async def everything() -> list[Observation]:
        gate = asyncio.Semaphore(CONCURRENT_QUESTIONS)

        async def one(question: Question) -> Observation:
            async with gate:
                return await observe_question_async(question)

        return list(await asyncio.gather(*(one(q) for q in quiz.questions)))

    from concurrent.futures import TimeoutError as FutureTimeout

    try:
        observations = lab.call(everything(), OBSERVE_TIMEOUT_S * 2)
    except FutureTimeout:
        raise LabError(
            f"quiz {quiz.name!r}: the live checks took over {OBSERVE_TIMEOUT_S * 2:.0f} s",
            fix="run `wsquiz validate --live` on the course; an app or scenario may hang",
        ) from None
    return {o.question: o for o in observations}


def answer_key(quiz: Quiz, lab: Lab) -> list[dict[str, str]]:
    observed = observe_all(quiz, lab)
    return [{"id": q.id, "answer": key_of(q, observed[q.id])} for q in quiz.questions]


def score(
    quiz: Quiz, answers: dict[str, str], lab: Lab, progress: Progress | None = None
) -> Report:
    """Judge every question of the quiz (a missing answer is wrong); record each if asked."""
    unknown = [k for k in answers if k not in quiz.ids]
    if unknown:
        from wsquiz._support.names import did_you_mean

        raise UsageError(
            f"the answers name question(s) not in quiz {quiz.name!r}: "
            + ", ".join(f"{k!r}{did_you_mean(k, quiz.ids)}" for k in unknown),
            fix=f"its questions are: {', '.join(quiz.ids)}",
        )
    observed = observe_all(quiz, lab)
    verdicts: list[Verdict] = []
    for question in quiz.questions:
        given = answers.get(question.id, "")
        verdict = judge(question, given, observed[question.id])
        verdicts.append(verdict)
        if progress is not None and question.id in answers:
            progress.record_answer(quiz.name, question.id, given, verdict.correct)
    return Report(quiz.name, tuple(verdicts))


# ---- the interactive session ---------------------------------------------------------------

Status = Literal["right", "nearly", "wrong"]


@dataclass
class Asked:
    """One question in this session: every attempt, and whether its answer was shown."""

    attempts: list[str] = field(default_factory=list)
    right: bool = False
    shown: bool = False
    first_try: bool = False  # its first attempt (in this session) was right

    @property
    def outcome(self) -> Outcome:
        if self.first_try:
            return "right_first_try"
        if self.shown:
            return "shown"
        if self.right:
            return "right_after_retry"
        return "wrong" if self.attempts else "unanswered"


@dataclass(frozen=True)
class Attempt:
    """One answer judged, unlock-style: `feedback` never gives the key away unless right."""

    verdict: Verdict
    observation: Observation
    number: int  # 1: the first try
    status: Status
    feedback: str

    @property
    def right(self) -> bool:
        return self.status == "right"


def feedback(question: Question, verdict: Verdict) -> tuple[Status, str]:
    """What the learner is told of an answer before they know the key."""
    if verdict.correct:
        return "right", verdict.message
    if verdict.nearly:
        return "nearly", "Nearly: only the case differs, and the server sent exact text."
    if question.options:
        return "wrong", f"Not right: {verdict.answer} is not the answer."
    return "wrong", "Not right: that is not what the server shows."


class QuizSession:
    """One learner going through one quiz, unlock-style: a wrong answer is tried again until
    right or shown; every attempt is recorded. Observations start before the learner answers."""

    def __init__(self, quiz: Quiz, lab: Lab, progress: Progress | None = None) -> None:
        self.quiz = quiz
        self.lab = lab
        self.progress = progress
        self._pending: dict[str, Future[Observation]] = {}
        self.asked: dict[str, Asked] = {}

    def start_index(self) -> int:
        """Where to resume: the first question with no recorded answer (0 when all are)."""
        if self.progress is None:
            return 0
        done = self.progress.answers(self.quiz.name)
        for index, question in enumerate(self.quiz.questions):
            if question.id not in done:
                return index
        return 0

    def previous(self) -> dict[str, Outcome]:
        """Recorded outcomes by question id (for the summary of a resumed quiz)."""
        if self.progress is None:
            return {}
        return dict(self.progress.outcomes(self.quiz.name))

    def to_retry(self) -> list[Question]:
        """`--retry-wrong`: the questions whose latest record is not a right answer (answered
        wrong, or shown)."""
        if self.progress is None:
            return []
        rows = self.progress.answers(self.quiz.name)
        return [q for q in self.quiz.questions if q.id in rows and not rows[q.id].correct]

    def outcomes(self) -> dict[str, Outcome]:
        """Every question's outcome: as recorded when progress is kept (first tries of earlier
        sessions count), else as in this session."""
        if self.progress is not None:
            return dict(self.progress.outcomes(self.quiz.name))
        return {k: a.outcome for k, a in self.asked.items() if a.outcome != "unanswered"}

    def first_answers(self) -> dict[str, str]:
        """Each question's first answer in this session ("" if shown unanswered): what an
        answer sheet records, so that grading keeps first-try correctness."""
        return {k: (a.attempts[0] if a.attempts else "") for k, a in self.asked.items()}

    def prepare(self, question: Question) -> Future[Observation]:
        """Start the live check in the background (while the learner reads)."""
        future = self._pending.get(question.id)
        if future is None:
            future = self.lab.submit(observe_question_async(question))
            self._pending[question.id] = future
        return future

    def observation(self, question: Question) -> Observation:
        from concurrent.futures import TimeoutError as FutureTimeout

        try:
            return self.prepare(question).result(OBSERVE_TIMEOUT_S)
        except FutureTimeout:
            self.fresh(question)
            raise LabError(
                f"question {question.id!r}: the live check took over {OBSERVE_TIMEOUT_S:.0f} s",
                fix="run `wsquiz validate --live` on the course; the app or scenario may hang",
            ) from None

    def attempt(self, question: Question, text: str) -> Attempt:
        """Judge one attempt and record it."""
        observation = self.observation(question)
        verdict = judge(question, text, observation)
        asked = self.asked.setdefault(question.id, Asked())
        asked.attempts.append(verdict.answer)
        if verdict.correct and not asked.right and not asked.shown:
            asked.right = True
            asked.first_try = len(asked.attempts) == 1
        if self.progress is not None:
            self.progress.record_answer(self.quiz.name, question.id, text, verdict.correct)
        status, said = feedback(question, verdict)
        return Attempt(verdict, observation, len(asked.attempts), status, said)

    def show(self, question: Question) -> tuple[str, Observation]:
        """The learner asked for the answer: the key as observed; the question counts as shown."""
        observation = self.observation(question)
        asked = self.asked.setdefault(question.id, Asked())
        if not asked.right:
            asked.shown = True
        if self.progress is not None:
            self.progress.record_shown(self.quiz.name, question.id)
        return key_of(question, observation), observation

    def settle(self, timeout: float = 5.0) -> None:
        """Let observations still running finish, so the lab can close cleanly."""
        import contextlib
        from concurrent.futures import wait

        pending = [f for f in self._pending.values() if not f.done()]
        if pending:
            with contextlib.suppress(Exception):
                wait(pending, timeout)

    def fresh(self, question: Question) -> None:
        """Forget an observation so that the server is observed again."""
        self._pending.pop(question.id, None)
