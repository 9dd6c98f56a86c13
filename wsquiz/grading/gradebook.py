"""The gradebook: one SQLite file per exercise or quiz, one row per student.

Each student's result is written in its own transaction the moment it is known, so a crash,
Ctrl-C or `kill -9` of the grader loses at most the students still being graded. A row keeps
where the graded submission came from (`source`) and a digest of it (`digest`), so a resumed
run regrades a student whose submission changed. A student graded again replaces their row:
the gradebook, and every export of it, holds each student's latest grade.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from wsquiz._support import sqlite
from wsquiz._support.paths import data_home
from wsquiz.errors import StoreError

Kind = Literal["exercise", "quiz"]

_COLUMNS = (
    "student, score, max_score, error, checks, source, elapsed_s, graded_at, digest, assignment"
)


def _add_column(version: int, column: str, declaration: str) -> sqlite.Step:
    """Step `version`: a column added to `results` (its rows get the default), unless a
    gradebook written before `user_version` was kept has it already. Keeps `meta.schema`, which
    an older wsquiz reads, in step."""

    def step(conn: sqlite3.Connection) -> None:
        if column not in sqlite.columns(conn, "results"):
            conn.execute(f"ALTER TABLE results ADD COLUMN {column} {declaration}")
        conn.execute(  # a new gradebook's meta is written when it is claimed
            "INSERT OR REPLACE INTO meta (key, value) SELECT 'schema', ? "
            "WHERE EXISTS (SELECT 1 FROM meta)",
            (str(version),),
        )

    return step


# Step N brings a gradebook to schema N (`user_version`, and `meta.schema` as older ones kept it).
MIGRATIONS: list[sqlite.Step] = [
    """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS results (
        student   TEXT PRIMARY KEY,
        score     REAL NOT NULL,
        max_score REAL NOT NULL,
        error     TEXT,
        checks    TEXT NOT NULL,
        source    TEXT NOT NULL DEFAULT '',
        elapsed_s REAL NOT NULL DEFAULT 0,
        graded_at TEXT NOT NULL
    )
    """,
    _add_column(2, "digest", "TEXT NOT NULL DEFAULT ''"),
    _add_column(3, "assignment", "TEXT NOT NULL DEFAULT ''"),
]
SCHEMA = len(MIGRATIONS)


@dataclass(frozen=True)
class CheckOutcome:
    """One check of one student: what it earned and why."""

    name: str
    passed: bool
    points: float
    max_points: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "points": self.points,
            "max_points": self.max_points,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckOutcome:
        return cls(
            name=str(data["name"]),
            passed=bool(data["passed"]),
            points=float(data["points"]),
            max_points=float(data.get("max_points", 0.0)),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True)
class StudentResult:
    student: str
    score: float
    max_score: float
    checks: tuple[CheckOutcome, ...] = ()
    error: str | None = None
    source: str = ""  # where the graded submission came from (the grader's path)
    elapsed_s: float = 0.0
    graded_at: str = field(default_factory=lambda: now())
    digest: str = ""  # sha256 of what was graded; empty when unknown (an older gradebook)
    assignment: str = ""  # sha256 of what it was graded against: the exercise or quiz, limits

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The shape of the JSON export."""
        return {
            "student": self.student,
            "score": number(self.score),
            "max_score": number(self.max_score),
            "checks": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "points": number(c.points),
                    "message": c.message,
                }
                for c in self.checks
            ],
            "error": self.error,
        }


@dataclass(frozen=True)
class Graded:
    """What a student's row was graded from: the submission's digest and where it was."""

    digest: str
    source: str
    assignment: str = ""


def number(value: float) -> float | int:
    """Whole points as integers (5, not 5.0) in what people read."""
    return int(value) if float(value).is_integer() else value


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def default_path(kind: Kind, name: str, shard: tuple[int, int] | None = None) -> Path:
    """`<data home>/gradebooks/<exercise|quiz>-<name>[.shard-K-of-N].sqlite`."""
    suffix = f".shard-{shard[0]}-of-{shard[1]}" if shard else ""
    folder = data_home() / "gradebooks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}-{name}{suffix}.sqlite"


class Gradebook:
    """Opened for one exercise or quiz; refuses a file kept for another one."""

    def __init__(self, path: Path, kind: Kind | None = None, name: str | None = None) -> None:
        self.path = path
        if kind is None and not path.is_file():
            raise StoreError(
                f"{path}: no such gradebook",
                fix="give the --db file that `wsquiz grade` wrote",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A committed result survives the grader's crash or kill -9 (not a power cut).
            self._db = sqlite.connect(path, timeout=30, synchronous="NORMAL")
        except (OSError, sqlite3.Error) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not _cannot_open(exc):
                raise _not_a_gradebook(path, exc) from None
            raise StoreError(
                f"{path}: cannot open the gradebook ({exc})",
                fix="give a --db path in a folder you can write to",
            ) from None
        try:
            self._migrate()
            self.kind, self.name = self._claim(kind, name)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise _not_a_gradebook(path, exc) from None
        except StoreError:
            self._db.close()
            raise

    def _claim(self, kind: Kind | None, name: str | None) -> tuple[Kind, str]:
        meta = {row["key"]: row["value"] for row in self._db.execute("SELECT key, value FROM meta")}
        if not meta:
            if kind is None or name is None:
                raise StoreError(
                    f"{self.path}: an empty gradebook (no exercise or quiz recorded in it)",
                    fix="give the --db file that `wsquiz grade` wrote",
                )
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", str(SCHEMA)), ("kind", kind), ("name", name), ("created", now())],
                )
            return kind, name
        found_kind, found_name = meta.get("kind", ""), meta.get("name", "")
        if found_kind not in ("exercise", "quiz"):
            raise StoreError(f"{self.path}: not a wsquiz gradebook (no kind recorded)")
        if (kind is not None and kind != found_kind) or (name is not None and name != found_name):
            raise StoreError(
                f"{self.path}: this gradebook holds the {found_kind} {found_name!r}, "
                f"not the {kind} {name!r}",
                fix="give another --db path (each exercise or quiz keeps its own gradebook)",
            )
        return found_kind, found_name  # type: ignore[return-value]

    def _migrate(self) -> None:
        """Bring a gradebook of an older wsquiz to this schema: its rows are kept as they are."""
        legacy = self._legacy_schema()
        try:
            sqlite.migrate(
                self._db,
                MIGRATIONS,
                path=self.path,
                store="the gradebook",
                fix="upgrade wsquiz to read it",
                legacy=legacy,
            )
        except sqlite3.OperationalError as exc:
            if not (legacy or sqlite.user_version(self._db)):
                raise  # a new or foreign file, not an older gradebook
            raise StoreError(
                f"{self.path}: a gradebook of an older wsquiz, which cannot be upgraded ({exc})",
                fix="make the file and its folder writable (or work on a copy of it)",
            ) from None

    def _legacy_schema(self) -> int:
        """The schema a gradebook kept only in `meta` (before `user_version`); 0 for none."""
        if "value" not in sqlite.columns(self._db, "meta"):
            return 0
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return int(row["value"]) if row is not None else 0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with sqlite.transaction(self._db):
            yield

    def record_stack(self, stack: dict[str, Any]) -> None:
        """The server stack this grading observes on (a resumed run's replaces the last)."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('stack', ?)", (json.dumps(stack),)
            )

    def stack(self) -> dict[str, Any] | None:
        """The stack recorded by the last grading run (None for an older gradebook)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'stack'").fetchone()
        return json.loads(row[0]) if row else None

    def record(self, result: StudentResult) -> None:
        """Write one student's result (replacing an earlier one) in a transaction of its own."""
        row = (
            _storable(result.student),
            result.score,
            result.max_score,
            _storable(result.error) if result.error is not None else None,
            json.dumps([c.to_dict() for c in result.checks]),
            _storable(result.source),
            result.elapsed_s,
            result.graded_at,
            result.digest,
            result.assignment,
        )
        try:
            with self._transaction():
                self._db.execute(
                    f"INSERT OR REPLACE INTO results ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", row
                )
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.path}: cannot write {result.student}'s result ({exc})",
                fix="check the disk has room and the file is writable, then run with --resume",
            ) from None

    def record_all(self, results: Iterable[StudentResult]) -> None:
        for result in results:
            self.record(result)

    def graded(self) -> dict[str, Graded]:
        """Each student in the gradebook, and what was graded."""
        rows = self._db.execute("SELECT student, digest, source, assignment FROM results")
        return {r["student"]: Graded(r["digest"], r["source"], r["assignment"]) for r in rows}

    def results(self) -> list[StudentResult]:
        """Each student's latest grade."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM results ORDER BY student").fetchall()
        return [_result_of(row) for row in rows]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _storable(text: str) -> str:
    """`text` that SQLite can hold: a lone surrogate (a file name's byte that is not UTF-8)
    written as its escape rather than failing the whole row."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _result_of(row: sqlite3.Row) -> StudentResult:
    return StudentResult(
        student=row["student"],
        score=row["score"],
        max_score=row["max_score"],
        checks=tuple(CheckOutcome.from_dict(c) for c in json.loads(row["checks"])),
        error=row["error"],
        source=row["source"],
        elapsed_s=row["elapsed_s"],
        graded_at=row["graded_at"],
        digest=row["digest"],
        assignment=row["assignment"],
    )


def _cannot_open(exc: sqlite3.DatabaseError) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc)


def _not_a_gradebook(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    return StoreError(
        f"{path}: not a wsquiz gradebook ({exc})",
        fix="give another --db path; move this file aside if it is damaged",
    )


@dataclass(frozen=True)
class MergeReport:
    students: int
    replaced: int  # students found in several inputs: the latest grading was kept


def merge(sources: list[Path], target: Path) -> MergeReport:
    """Gather shard gradebooks into one. All must hold the same exercise or quiz."""
    if not sources:
        raise StoreError("no gradebooks to merge", fix="name the shard gradebooks: merge A B ...")
    opened = [Gradebook(path) for path in sources]
    try:
        first = opened[0]
        for other in opened[1:]:
            if (other.kind, other.name) != (first.kind, first.name):
                raise StoreError(
                    f"{other.path}: holds the {other.kind} {other.name!r}, but "
                    f"{first.path} holds the {first.kind} {first.name!r}",
                    fix="merge only the shards of one exercise or quiz",
                )
        latest: dict[str, StudentResult] = {}
        replaced = 0
        for book in opened:
            for result in book.results():
                kept = latest.get(result.student)
                if kept is not None:
                    replaced += 1
                    if kept.graded_at >= result.graded_at:
                        continue
                latest[result.student] = result
    finally:
        for book in opened:
            book.close()
    with Gradebook(target, first.kind, first.name) as out:
        for student in sorted(latest):
            out.record(latest[student])
    return MergeReport(students=len(latest), replaced=replaced)
