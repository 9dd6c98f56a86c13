"""The learner's progress: answers, exercises and lessons read, in SQLite under `data_home()`.

Every record is one transaction, committed (and fsync'd by SQLite) before the call returns, so a
crash, Ctrl-C or `kill -9` loses nothing already recorded. A store that SQLite cannot read is
moved aside to `progress.db.corrupt-<timestamp>` and a fresh one takes its place
(`Progress.notice` says so).
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from wsquiz._support import sqlite
from wsquiz.errors import StoreError

FILENAME = "progress.db"
BUSY_TIMEOUT_S = 10.0

# Step N brings a store to schema version N (its `user_version`).
MIGRATIONS: list[sqlite.Step] = [
    """
    CREATE TABLE answers (
        quiz TEXT NOT NULL,
        question_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        correct INTEGER NOT NULL,
        ever_correct INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (quiz, question_id)
    );
    CREATE TABLE answer_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        quiz TEXT NOT NULL,
        question_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        correct INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE exercises (
        name TEXT PRIMARY KEY,
        passed INTEGER NOT NULL,
        ever_passed INTEGER NOT NULL,
        score REAL NOT NULL,
        max_score REAL NOT NULL,
        attempts INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE lessons (
        name TEXT PRIMARY KEY,
        at TEXT NOT NULL
    );
    """,
    # 2. Unlock-style quizzes: first-try correctness kept apart from a later right answer, and
    # the questions whose answer the learner asked to be shown. A v1 store's first tries are
    # read from its log.
    """
    ALTER TABLE answers ADD COLUMN first_correct INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE answers ADD COLUMN shown INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE answer_log ADD COLUMN shown INTEGER NOT NULL DEFAULT 0;
    UPDATE answers SET first_correct = coalesce((
        SELECT l.correct FROM answer_log l
        WHERE l.quiz = answers.quiz AND l.question_id = answers.question_id
        ORDER BY l.seq LIMIT 1
    ), correct);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

# How a question stands: right on its first attempt; right later, the answer never shown before;
# shown (asked for before it was answered right); answered, never right; no record at all.
Outcome = Literal["right_first_try", "right_after_retry", "shown", "wrong", "unanswered"]
OUTCOMES: tuple[Outcome, ...] = (
    "right_first_try",
    "right_after_retry",
    "shown",
    "wrong",
    "unanswered",
)
_OUTCOME_SQL = (
    "CASE WHEN first_correct AND attempts > 0 THEN 'right_first_try' "
    "WHEN shown THEN 'shown' WHEN ever_correct THEN 'right_after_retry' ELSE 'wrong' END"
)


@dataclass(frozen=True)
class AnswerRow:
    """The latest answer to one question; `ever_correct` stays true once it was right."""

    quiz: str
    question_id: str
    answer: str
    correct: bool
    ever_correct: bool
    attempts: int
    at: str


@dataclass(frozen=True)
class ExerciseRow:
    name: str
    passed: bool
    ever_passed: bool
    score: float
    max_score: float
    attempts: int
    at: str


@dataclass(frozen=True)
class QuizProgress:
    """One quiz's records: `answered` questions, `correct` ever right, and how many stand at
    each outcome (`unanswered` is the quiz's business: it knows how many questions it has)."""

    name: str
    answered: int
    correct: int
    at: str
    outcomes: dict[str, int] = field(default_factory=dict)

    def counts(self, total: int) -> dict[str, int]:
        """Every outcome's count, `unanswered` out of the quiz's `total` questions."""
        found: dict[str, int] = {name: self.outcomes.get(name, 0) for name in OUTCOMES}
        found["unanswered"] = max(0, total - self.answered)
        return found


@dataclass(frozen=True)
class ProgressSummary:
    """Everything recorded, grouped; `last` is (kind, name) of the most recent activity."""

    quizzes: dict[str, QuizProgress] = field(default_factory=dict)
    exercises: dict[str, ExerciseRow] = field(default_factory=dict)
    lessons: dict[str, str] = field(default_factory=dict)
    last: tuple[str, str] | None = None

    @property
    def empty(self) -> bool:
        return not (self.quizzes or self.exercises or self.lessons)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def default_path() -> Path:
    import os

    from wsquiz._support.paths import data_home

    try:
        return data_home() / FILENAME
    except OSError as exc:
        where = exc.filename or os.environ.get("WSQUIZ_HOME") or "the user data folder"
        raise StoreError(
            f"{where}: cannot create the folder for progress ({exc.strerror})",
            fix="point WSQUIZ_HOME at a folder you can write to",
        ) from None


class Progress:
    """The progress store. Open it, record, close it (or use it as a context manager)."""

    def __init__(
        self, path: Path | None = None, *, quiet: bool = False, or_unsaved: bool = False
    ) -> None:
        """`or_unsaved`: a store that cannot be opened is replaced by one in memory for this
        run, and the notice says so, so the learner can go on (nothing is kept)."""
        self.notice: str | None = None
        self.moved_to: Path | None = None
        self.unsaved: str | None = None  # why nothing is kept, when the store is in memory
        try:
            self.path = Path(path) if path is not None else default_path()
            self._conn = self._open()
        except StoreError as exc:
            if not or_unsaved:
                raise
            self.unsaved = f"{exc.message} (fix: {exc.fix})" if exc.fix else exc.message
            self.notice = f"progress is not saved this time: {self.unsaved}"
            self.path = Path(":memory:")
            self._conn = sqlite.connect(":memory:", timeout=BUSY_TIMEOUT_S)
            self._migrate(self._conn)
        if self.notice and not quiet:
            sys.stderr.write(f"wsquiz: {self.notice}\n")

    # opening, and the way out of a broken store

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if not self._is_corrupt(exc):
                raise self._unusable(exc) from None
            problem = str(exc)
        self._move_aside(problem)
        try:
            return self._connect()
        except sqlite3.Error as exc:
            raise self._unusable(exc) from None

    def _connect(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise sqlite3.OperationalError("unable to open database file (it is a folder)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite.connect(self.path, timeout=BUSY_TIMEOUT_S, synchronous="FULL")
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check and check[0]}")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if sqlite.user_version(conn) == 0 and self._has_foreign_tables(conn):
            raise sqlite3.DatabaseError("not a wsquiz progress store (unknown tables)")
        sqlite.migrate(
            conn,
            MIGRATIONS,
            path=self.path,
            store="the progress store",
            fix="upgrade wsquiz (pip install -U wsquiz) or point WSQUIZ_HOME at another folder",
        )

    @staticmethod
    def _has_foreign_tables(conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT count(*) AS tables FROM sqlite_master WHERE type = 'table'"
        ).fetchone()
        return bool(row["tables"])

    @staticmethod
    def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc)
            # locked or busy is another wsquiz at work; unable to open is permissions or a folder
            transient = ("locked", "busy", "unable to open", "readonly", "disk I/O", "full")
            return not any(s in text for s in transient)
        return True

    def _move_aside(self, problem: str) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            self.path.rename(target)
            for suffix in ("-wal", "-shm", "-journal"):
                sidecar = self.path.with_name(self.path.name + suffix)
                if sidecar.exists():
                    sidecar.rename(target.with_name(target.name + suffix))
        except OSError as exc:
            raise StoreError(
                f"{self.path}: progress store is unreadable ({problem}) "
                f"and could not be moved aside ({exc.strerror})",
                fix=f"move or delete {self.path} yourself, or point WSQUIZ_HOME at another folder",
            ) from None
        self.moved_to = target
        self.notice = (
            f"the progress store {self.path} was unreadable ({problem}); "
            f"moved it to {target} and started a fresh one"
        )

    def _unusable(self, exc: BaseException) -> StoreError:
        if isinstance(exc, StoreError):
            return exc
        return StoreError(
            f"{self.path}: cannot use the progress store ({exc})",
            fix="check that the folder exists and is writable, or point WSQUIZ_HOME elsewhere",
        )

    # writing: one transaction per call

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with sqlite.transaction(self._conn) as conn:
                yield conn
        except sqlite3.Error as exc:
            raise self._unusable(exc) from None

    def record_answer(self, quiz: str, question_id: str, answer: str, correct: bool) -> None:
        at = now()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO answer_log (quiz, question_id, answer, correct, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (quiz, question_id, answer, int(correct), at),
            )
            # first_correct is set by the first attempt only: a later right answer is a retry
            conn.execute(
                "INSERT INTO answers (quiz, question_id, answer, correct, ever_correct, attempts, "
                "at, first_correct) VALUES (?, ?, ?, ?, ?, 1, ?, ?) "
                "ON CONFLICT (quiz, question_id) DO UPDATE SET answer = excluded.answer, "
                "correct = excluded.correct, ever_correct = max(ever_correct, excluded.correct), "
                "attempts = attempts + 1, at = excluded.at",
                (quiz, question_id, answer, int(correct), int(correct), at, int(correct)),
            )

    def record_shown(self, quiz: str, question_id: str) -> None:
        """The learner asked for the answer: the question counts as shown, unless it was
        already answered right."""
        at = now()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO answer_log (quiz, question_id, answer, correct, at, shown) "
                "VALUES (?, ?, '', 0, ?, 1)",
                (quiz, question_id, at),
            )
            conn.execute(
                "INSERT INTO answers (quiz, question_id, answer, correct, ever_correct, attempts, "
                "at, first_correct, shown) VALUES (?, ?, '', 0, 0, 0, ?, 0, 1) "
                "ON CONFLICT (quiz, question_id) DO UPDATE SET "
                "shown = max(shown, 1 - ever_correct), at = excluded.at",
                (quiz, question_id, at),
            )

    def outcomes(self, quiz: str) -> dict[str, Outcome]:
        """How each recorded question of the quiz stands (see `Outcome`)."""
        rows = self._rows(
            f"SELECT question_id, {_OUTCOME_SQL} AS outcome FROM answers WHERE quiz = ? "
            "ORDER BY at",
            (quiz,),
        )
        return {str(r["question_id"]): r["outcome"] for r in rows}

    def record_exercise(self, name: str, passed: bool, score: float, max_score: float) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO exercises VALUES (?, ?, ?, ?, ?, 1, ?) "
                "ON CONFLICT (name) DO UPDATE SET passed = excluded.passed, "
                "ever_passed = max(ever_passed, excluded.passed), score = excluded.score, "
                "max_score = excluded.max_score, attempts = attempts + 1, at = excluded.at",
                (name, int(passed), int(passed), score, max_score, now()),
            )

    def record_lesson(self, name: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO lessons VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET at = excluded.at",
                (name, now()),
            )

    def reset(self, quiz: str | None = None) -> int:
        """Forget one quiz's answers, or everything; returns how many records went."""
        with self._transaction() as conn:
            if quiz is not None:
                conn.execute("DELETE FROM answer_log WHERE quiz = ?", (quiz,))
                return conn.execute("DELETE FROM answers WHERE quiz = ?", (quiz,)).rowcount
            gone = 0
            for table in ("answers", "exercises", "lessons"):
                gone += conn.execute(f"DELETE FROM {table}").rowcount
            conn.execute("DELETE FROM answer_log")
            return gone

    # reading

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._unusable(exc) from None

    def answers(self, quiz: str) -> dict[str, AnswerRow]:
        rows = self._rows(
            "SELECT quiz, question_id, answer, correct, ever_correct, attempts, at "
            "FROM answers WHERE quiz = ? ORDER BY at",
            (quiz,),
        )
        return {str(r["question_id"]): _answer(r) for r in rows}

    def exercises(self) -> dict[str, ExerciseRow]:
        rows = self._rows(
            "SELECT name, passed, ever_passed, score, max_score, attempts, at FROM exercises"
        )
        return {str(r["name"]): _exercise(r) for r in rows}

    def lessons(self) -> dict[str, str]:
        return {str(r["name"]): str(r["at"]) for r in self._rows("SELECT name, at FROM lessons")}

    def summary(self) -> ProgressSummary:
        outcomes: dict[str, dict[str, int]] = {}
        for r in self._rows(
            f"SELECT quiz, {_OUTCOME_SQL} AS outcome, count(*) AS n FROM answers "
            "GROUP BY quiz, outcome"
        ):
            outcomes.setdefault(str(r["quiz"]), {})[str(r["outcome"])] = int(r["n"])
        quizzes = {
            str(r["quiz"]): QuizProgress(
                str(r["quiz"]),
                int(r["answered"]),
                int(r["correct"]),
                str(r["at"]),
                outcomes.get(str(r["quiz"]), {}),
            )
            for r in self._rows(
                "SELECT quiz, count(*) AS answered, sum(ever_correct) AS correct, max(at) AS at"
                " FROM answers GROUP BY quiz"
            )
        }
        exercises = self.exercises()
        lessons = self.lessons()
        recent: list[tuple[str, str, str]] = [(q.at, "quiz", q.name) for q in quizzes.values()]
        recent += [(e.at, "exercise", e.name) for e in exercises.values()]
        recent += [(at, "lesson", name) for name, at in lessons.items()]
        last = max(recent)[1:] if recent else None
        return ProgressSummary(quizzes, exercises, lessons, last)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _answer(r: sqlite3.Row) -> AnswerRow:
    return AnswerRow(
        quiz=str(r["quiz"]),
        question_id=str(r["question_id"]),
        answer=str(r["answer"]),
        correct=bool(r["correct"]),
        ever_correct=bool(r["ever_correct"]),
        attempts=int(r["attempts"]),
        at=str(r["at"]),
    )


def _exercise(r: sqlite3.Row) -> ExerciseRow:
    return ExerciseRow(
        name=str(r["name"]),
        passed=bool(r["passed"]),
        ever_passed=bool(r["ever_passed"]),
        score=float(r["score"]),
        max_score=float(r["max_score"]),
        attempts=int(r["attempts"]),
        at=str(r["at"]),
    )
