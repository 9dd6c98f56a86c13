"""Grade a class: find each student's submission, grade them in parallel, keep every result.

A submissions folder holds one entry per student: `<student>.py`, or a folder `<student>/`
with one `.py` (exercises), or `<student>.json` / `<student>.toml` answer sheets (quizzes).
Each exercise check is played against the student's own server, sandboxed
(`sandbox.py`), and against the reference solution; answer sheets are judged against the
quiz's questions observed live once per run. Grading runs on the lab's event loop, `jobs`
students at a time; each result reaches the caller (the gradebook) the moment it is known.

Each result carries a digest of what was graded, so `--resume` can tell an unchanged
submission (skipped) from one replaced since it was graded (graded again), and names the
student's file relative to the submissions folder: feedback never shows the grader's paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import hashlib
import os
import queue
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wsquiz.errors import ContentError, UsageError, WsquizError
from wsquiz.grading.gradebook import CheckOutcome, Graded, Kind, StudentResult

if TYPE_CHECKING:
    from wsquiz.course.exercises import Exercise
    from wsquiz.course.quizzes import Quiz
    from wsquiz.engine.appfile import AppSpec
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.serving import Limits

MAX_SOURCE = 1024 * 1024  # a submission larger than this is not source code
SHEET_SUFFIXES = (".json", ".toml")


@dataclass(frozen=True)
class Submission:
    """One student's entry: the file to grade, or why there is none to grade.

    `root` is the folder the submission was found in: feedback names the file relative to it.
    """

    student: str
    path: Path | None
    problem: str | None = None
    root: Path | None = None

    @cached_property
    def digest(self) -> str:
        """sha256 of what is graded: the file's bytes, or the reason there is nothing to grade.

        Empty when the file cannot be read: such a submission never counts as already graded.
        """
        digest = hashlib.sha256()
        if self.problem is not None or self.path is None:
            digest.update(b"problem\0" + (self.problem or "no submission").encode("utf-8"))
            return digest.hexdigest()
        digest.update(b"file\0")
        try:
            with self.path.open("rb") as handle:
                while chunk := handle.read(1 << 16):
                    digest.update(chunk)
        except OSError:
            return ""
        return digest.hexdigest()

    @property
    def origin(self) -> str:
        """Where it came from, for the instructor: the graded file, else the student's entry."""
        place = self.path or (self.root / self.student if self.root is not None else None)
        return str(place.absolute()) if place is not None else ""

    @property
    def shown(self) -> str:
        """The file as feedback names it: relative to the submissions folder."""
        if self.path is None:
            return ""
        if self.root is not None:
            try:
                return self.path.absolute().relative_to(self.root.absolute()).as_posix()
            except ValueError:
                pass
        return self.path.name

    def scrub(self, text: str) -> str:
        """`text` with the grader's absolute paths of this submission made relative."""
        if self.path is None or not text:
            return text
        places: dict[str, str] = {}
        for root in _forms(self.root):
            places[root + os.sep] = ""
        for path in _forms(self.path):
            places[path] = self.shown
        for place in sorted(places, key=len, reverse=True):
            text = text.replace(place, places[place])
        return text


def _forms(path: Path | None) -> set[str]:
    """The spellings of a path a message may hold: as given (`../subs`), absolute, and with
    `..` and symlinks resolved."""
    if path is None:
        return set()
    forms = {str(path), str(path.absolute()), os.path.normpath(path.absolute())}
    with contextlib.suppress(OSError, RuntimeError):
        forms.add(str(path.resolve()))
    return {form for form in forms if form not in (os.sep, ".", "")}


# ---- finding submissions -------------------------------------------------------------------


def discover(folder: Path, kind: Kind) -> list[Submission]:
    """Every student's submission in `folder`, sorted by student name."""
    if not folder.is_dir():
        raise UsageError(
            f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder",
            fix="give the folder holding one submission per student",
        )
    found: dict[str, list[Submission]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        submission: Submission | None = None
        if entry.is_symlink():
            submission = Submission(entry.stem, None, f"{entry.name} is a symbolic link", folder)
        elif kind == "exercise" and entry.is_file() and entry.suffix == ".py":
            submission = _source(entry.stem, entry, folder)
        elif kind == "exercise" and entry.is_dir():
            submission = single(entry, kind, entry.name, root=folder)
        elif kind == "quiz" and entry.is_file() and entry.suffix in SHEET_SUFFIXES:
            submission = _source(entry.stem, entry, folder)
        if submission is not None:
            found.setdefault(submission.student, []).append(submission)
    if not found:
        what = (
            "<student>.py or <student>/ folders"
            if kind == "exercise"
            else ("<student>.json or <student>.toml answer sheets")
        )
        raise UsageError(f"{folder}: holds no submissions", fix=f"put {what} in it")
    result = []
    for student, entries in sorted(found.items()):
        if len(entries) > 1:
            names = ", ".join(e.path.name for e in entries if e.path) or student
            problem = f"several submissions for {student} ({names})"
            result.append(Submission(student, None, problem, folder))
        else:
            result.append(entries[0])
    return result


def single(
    folder: Path, kind: Kind, student: str | None = None, *, root: Path | None = None
) -> Submission:
    """`folder` as the submission of one student (Gradescope's /autograder/submission).

    Feedback names the file relative to `root` (default: `folder`, so just its name).
    """
    student = student or folder.name
    root = root or folder
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder", fix="give the student's submission folder")
    suffixes = (".py",) if kind == "exercise" else SHEET_SUFFIXES
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix in suffixes and p.is_file() and not p.name.startswith((".", "_"))
    )
    wanted = "one .py file" if kind == "exercise" else "one .json or .toml answer sheet"
    if not files:
        return Submission(student, None, f"{folder.name}/ holds no {suffixes[0]} file", root)
    if len(files) > 1:
        names = ", ".join(p.name for p in files)
        problem = f"{folder.name}/ holds several files ({names}): a submission is {wanted}"
        return Submission(student, None, problem, root)
    if files[0].is_symlink():
        return Submission(student, None, f"{files[0].name} is a symbolic link", root)
    return _source(student, files[0], root)


def _source(student: str, path: Path, root: Path) -> Submission:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Submission(student, None, f"{path.name}: cannot read it ({exc.strerror})", root)
    if size > MAX_SOURCE:
        return Submission(
            student,
            path,
            f"{path.name} is {size // 1024} KiB: too large (the limit is {MAX_SOURCE // 1024} KiB)",
            root,
        )
    return Submission(student, path, root=root)


# ---- shards --------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N): this machine grades the K-th of N shards."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(
            f"--shard {text!r}: expected K/N with 1 <= K <= N",
            fix="e.g. --shard 1/3 on the first of three machines, 2/3 on the second",
        )
    return int(match.group(1)), int(match.group(2))


def shard_of(student: str, count: int) -> int:
    """The shard (1..count) a student belongs to: stable across machines and runs."""
    digest = hashlib.sha256(student.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(submissions: Sequence[Submission], shard: tuple[int, int] | None) -> list[Submission]:
    if shard is None:
        return list(submissions)
    number, count = shard
    return [s for s in submissions if shard_of(s.student, count) == number]


# ---- grading one submission ----------------------------------------------------------------


class ReportLike(Protocol):
    """What a check function returns (`wsquiz.learn.checking.CheckReport`)."""

    @property
    def results(self) -> Sequence[Any]: ...

    @property
    def error(self) -> str | None: ...


CheckFn = Callable[["AppSpec"], Awaitable[ReportLike]]


class Assignment(Protocol):
    kind: Kind
    name: str
    fingerprint: str  # what a grade depends on besides the submission (see `fingerprint`)

    async def grade(self, submission: Submission) -> StudentResult: ...

    def unchecked(self, submission: Submission, problem: str) -> StudentResult: ...


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


# ---- quizzes -------------------------------------------------------------------------------


def load_sheet(path: Path, quiz: str) -> dict[str, str]:
    """A learner's answers, from a sheet `wsquiz quiz --record` wrote (or `{id: answer}`).

    Whatever score the sheet claims is ignored: every answer is judged again, live.
    """
    from wsquiz.learn.quiz import read_sheet

    sheet = read_sheet(path)
    if sheet.quiz is not None and sheet.quiz != quiz:
        raise UsageError(f"{path.name}: the sheet answers the quiz {sheet.quiz!r}, not {quiz!r}")
    return sheet.answers


Judge = Callable[[Any, str, Any], Any]


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


# ---- the batch -----------------------------------------------------------------------------


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
        on_result(finished(submission, result, assignment.fingerprint))

    await asyncio.gather(*(one(s) for s in submissions))


def finished(submission: Submission, result: StudentResult, against: str = "") -> StudentResult:
    """The result as kept: what was graded (digest, origin) and against what (`fingerprint`),
    feedback without the grader's paths."""
    checks = tuple(
        dataclasses.replace(check, message=submission.scrub(check.message))
        for check in result.checks
    )
    return dataclasses.replace(
        result,
        checks=checks,
        error=submission.scrub(result.error) if result.error else result.error,
        source=submission.origin,
        digest=submission.digest,
        assignment=against,
    )


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


# ---- summaries -----------------------------------------------------------------------------


def histogram(results: Sequence[StudentResult], buckets: int = 10) -> list[tuple[str, int]]:
    """How many students scored in each band of the percentage (the last band includes 100)."""
    width = 100 // buckets
    counts = [0] * buckets
    for result in results:
        index = min(int(result.percent // width), buckets - 1)
        counts[max(index, 0)] += 1
    labels = [
        f"{i * width:>3}-{(i + 1) * width - 1 if i < buckets - 1 else 100:>3}%"
        for i in range(buckets)
    ]
    return list(zip(labels, counts, strict=True))


@dataclass(frozen=True)
class Summary:
    graded: int
    mean_percent: float
    full_marks: int
    errors: int


def summarize(results: Sequence[StudentResult]) -> Summary:
    count = len(results)
    return Summary(
        graded=count,
        mean_percent=sum(r.percent for r in results) / count if count else 0.0,
        full_marks=sum(1 for r in results if r.max_score and r.score >= r.max_score),
        errors=sum(1 for r in results if r.error),
    )


# ---- one grading run, as the command line does it ------------------------------------------


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
