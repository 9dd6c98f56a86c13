"""A quiz session without UI: observe ahead, judge answers, save progress, score answer sheets."""

from __future__ import annotations

import json
import sys
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsquiz._support.files import write_atomic
from wsquiz.course.quizzes import Question, Quiz
from wsquiz.engine.stack import current as current_stack
from wsquiz.errors import LabError, UsageError
from wsquiz.learn.judge import (
    Observation,
    Verdict,
    installed_versions,
    judge,
    key_of,
    observe_question_async,
)

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.progress import Progress

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

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


# ---- answer files and sheets -----------------------------------------------------------------


@dataclass(frozen=True)
class Sheet:
    """A learner's answers: `{id: answer}`, or a sheet written by `--record`."""

    answers: dict[str, str]
    quiz: str | None = None
    student: str | None = None


def _as_answer(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"an answer is text or a number, not {type(value).__name__}")


def _listed_answers(entries: list[Any], key: str) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry or "answer" not in entry:
            raise ValueError(f'{key}[{i}] is not an object with "id" and "answer"')
        answers[str(entry["id"])] = entry["answer"]
    return answers


def read_sheet(path: Path) -> Sheet:
    """Read answers from JSON or TOML. Raises UsageError naming the file and the fix."""
    fix = 'write a JSON object {"question-id": "answer", ...} (or the same as TOML)'
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such answers file", fix=fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc})", fix=fix) from None
    data: Any
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = tomllib.loads(text)
    except json.JSONDecodeError as exc:
        # a .json file is reported as JSON: TOML's complaint about it would mislead
        raise UsageError(f"{path}: not valid JSON ({exc})", fix=fix) from None
    except tomllib.TOMLDecodeError as exc:
        what = "not valid TOML" if suffix == ".toml" else "neither JSON nor TOML"
        raise UsageError(f"{path}: {what} ({exc})", fix=fix) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the answers must be an object of id -> answer", fix=fix)
    listed = next((k for k in ("questions", "results") if isinstance(data.get(k), list)), None)
    quiz = data.get("quiz") if isinstance(data.get("answers"), dict) or listed else None
    student = data.get("student")
    try:
        if listed is not None:  # what `--key --json` or `--answers --json` printed
            raw = _listed_answers(data[listed], listed)
        else:
            raw = data["answers"] if isinstance(data.get("answers"), dict) else data
        answers = {str(k): _as_answer(v) for k, v in raw.items()}
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}", fix=fix) from None
    return Sheet(
        answers,
        quiz if isinstance(quiz, str) else None,
        student if isinstance(student, str) else None,
    )


def write_sheet(path: Path, quiz: Quiz, answers: dict[str, str], report: Report | None) -> None:
    """The answer sheet for grading: quiz, answers, when, the versions that checked them."""
    sheet: dict[str, Any] = {
        "quiz": quiz.name,
        "answers": answers,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": dict(installed_versions()),
        "stack": current_stack().to_dict(),
    }
    if report is not None:
        sheet["score"] = report.score
        sheet["max_score"] = report.max_score
        # the key each answer was judged against: a grader on another stack can tell drift
        sheet["keys"] = {v.question: v.observed for v in report.verdicts}
    try:
        write_atomic(path, json.dumps(sheet, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot write the answer sheet ({exc})", fix="choose a writable path"
        ) from None


# ---- the interactive session ---------------------------------------------------------------


class Session:
    """One learner going through one quiz; observations start before the learner answers."""

    def __init__(self, quiz: Quiz, lab: Lab, progress: Progress | None = None) -> None:
        self.quiz = quiz
        self.lab = lab
        self.progress = progress
        self._pending: dict[str, Future[Observation]] = {}
        self.verdicts: dict[str, Verdict] = {}
        self.missed: set[str] = set()  # answered wrong at least once in this session

    def start_index(self) -> int:
        """Where to resume: the first question with no recorded answer (0 when all are)."""
        if self.progress is None:
            return 0
        done = self.progress.answers(self.quiz.name)
        for index, question in enumerate(self.quiz.questions):
            if question.id not in done:
                return index
        return 0

    def previous(self) -> dict[str, bool]:
        """Recorded correctness by question id (for the summary of a resumed quiz)."""
        if self.progress is None:
            return {}
        return {k: row.correct for k, row in self.progress.answers(self.quiz.name).items()}

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

    def answer(self, question: Question, text: str) -> tuple[Verdict, Observation]:
        observation = self.observation(question)
        verdict = judge(question, text, observation)
        self.verdicts[question.id] = verdict
        if not verdict.correct:
            self.missed.add(question.id)
        if self.progress is not None:
            self.progress.record_answer(self.quiz.name, question.id, text, verdict.correct)
        return verdict, observation

    def settle(self, timeout: float = 5.0) -> None:
        """Let observations still running finish, so the lab can close cleanly."""
        import contextlib
        from concurrent.futures import wait

        pending = [f for f in self._pending.values() if not f.done()]
        if pending:
            with contextlib.suppress(Exception):
                wait(pending, timeout)

    def fresh(self, question: Question) -> None:
        """Forget an observation so a retry observes the server again."""
        self._pending.pop(question.id, None)
