"""The classroom's record in SQLite: sessions, seats, answers, exercise checks and an event log.

Everything is written as it arrives, one transaction per event, so the host can be killed at any
moment and `wsquiz classroom host` started again resumes the same session: the same join code,
the same seats (a student's token still works), the answers given, the question on screen.
Tokens are kept only as hashes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wsquiz._support import sqlite
from wsquiz.errors import StoreError

FILENAME = "classroom.db"
# No 0/O or 1/I: a code is read aloud and typed from a projector.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
Mode = Literal["quiz", "exercise"]


def _add_port(conn: sqlite3.Connection) -> None:
    """Where the host last served a session; a store written before it was kept (and before
    `user_version` was) gains the column, a newer one has it already."""
    if "port" not in sqlite.columns(conn, "sessions"):
        conn.execute("ALTER TABLE sessions ADD COLUMN port INTEGER")


# Step N brings a store to schema version N (`user_version`). Step 1 creates only what is missing:
# a store written before `user_version` was kept is at version 0 with its tables.
MIGRATIONS: list[sqlite.Step] = [
    """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    host_key TEXT NOT NULL,
    mode TEXT NOT NULL,
    target TEXT NOT NULL,
    content TEXT NOT NULL,
    created REAL NOT NULL,
    current INTEGER NOT NULL DEFAULT -1,
    ended REAL
);
CREATE TABLE IF NOT EXISTS seats (
    session TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    seat INTEGER NOT NULL,
    joined REAL NOT NULL,
    PRIMARY KEY (session, name)
);
CREATE TABLE IF NOT EXISTS reveals (
    session TEXT NOT NULL,
    item TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (session, item)
);
CREATE TABLE IF NOT EXISTS answers (
    session TEXT NOT NULL,
    student TEXT NOT NULL,
    item TEXT NOT NULL,
    answer TEXT NOT NULL,
    correct INTEGER NOT NULL,
    observed TEXT NOT NULL,
    message TEXT NOT NULL,
    claimed INTEGER,
    at REAL NOT NULL,
    PRIMARY KEY (session, student, item)
);
CREATE TABLE IF NOT EXISTS checks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL,
    student TEXT NOT NULL,
    item TEXT NOT NULL,
    passed INTEGER NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    results TEXT NOT NULL,
    error TEXT,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
""",
    _add_port,
]


def default_path() -> Path:
    from wsquiz._support.paths import data_home

    return data_home() / FILENAME


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ClassSession:
    id: str
    code: str
    host_key: str
    mode: Mode
    target: str
    content: str
    created: float
    current: int
    ended: float | None
    port: int | None = None  # where the host last served it: a restart listens there again


@dataclass(frozen=True)
class StudentAnswer:
    student: str
    item: str
    answer: str
    correct: bool
    observed: str
    message: str
    at: float


@dataclass(frozen=True)
class CheckRow:
    student: str
    item: str
    passed: bool
    score: float
    max_score: float
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    at: float = 0.0


class ClassroomStore:
    """One SQLite file; safe to use from several threads (one connection behind a lock)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite.connect(self.path, timeout=10, synchronous="NORMAL", threads=True)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise self._unusable(exc) from None
        try:
            sqlite.migrate(
                self._db,
                MIGRATIONS,
                path=self.path,
                store="the classroom store",
                fix="upgrade wsquiz, or pass --db NEW_PATH",
            )
        except StoreError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._unusable(exc) from None

    def _unusable(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"{self.path}: cannot use the classroom store ({exc})",
            fix=f"move {self.path} aside (it is kept for you) or pass --db NEW_PATH",
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with sqlite.transaction(self._db) as db:
                    yield db
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"{self.path}: could not write to the classroom store ({exc})",
                    fix="check the disk has room and the file is writable, then host again",
                ) from None

    def _rows(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._db.execute(sql, args))
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"{self.path}: could not read the classroom store ({exc})",
                    fix=f"move {self.path} aside or pass --db NEW_PATH",
                ) from None

    # sessions

    def create_session(self, mode: Mode, target: str, content: str) -> ClassSession:
        session = ClassSession(
            id=time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2),
            code=new_code(),
            host_key=secrets.token_urlsafe(12),
            mode=mode,
            target=target,
            content=content,
            created=time.time(),
            current=-1,
            ended=None,
        )
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions (id, code, host_key, mode, target, content, created, current)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, -1)",
                (
                    session.id,
                    session.code,
                    session.host_key,
                    mode,
                    target,
                    content,
                    session.created,
                ),
            )
        self.log(session.id, "session", {"mode": mode, "target": target})
        return session

    def session(self, session_id: str) -> ClassSession | None:
        rows = self._rows(
            "SELECT id, code, host_key, mode, target, content, created, current, ended, port"
            " FROM sessions WHERE id = ?",
            session_id,
        )
        return _session_of(rows[0]) if rows else None

    def open_session(self, mode: Mode, target: str, content: str) -> ClassSession | None:
        """The latest session of this quiz or exercise not ended: what a restart resumes."""
        rows = self._rows(
            "SELECT id, code, host_key, mode, target, content, created, current, ended, port"
            " FROM sessions WHERE mode = ? AND target = ? AND content = ? AND ended IS NULL"
            " ORDER BY created DESC LIMIT 1",
            mode,
            target,
            content,
        )
        return _session_of(rows[0]) if rows else None

    def latest_session(self) -> ClassSession | None:
        rows = self._rows(
            "SELECT id, code, host_key, mode, target, content, created, current, ended, port"
            " FROM sessions ORDER BY created DESC LIMIT 1"
        )
        return _session_of(rows[0]) if rows else None

    def set_current(self, session_id: str, index: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET current = ? WHERE id = ?", (index, session_id))
        self.log(session_id, "push", {"index": index})

    def set_port(self, session_id: str, port: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET port = ? WHERE id = ?", (port, session_id))
        self.log(session_id, "serve", {"port": port})

    def end_session(self, session_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE sessions SET ended = ? WHERE id = ?", (time.time(), session_id))
        self.log(session_id, "end", {})

    # seats

    def seats(self, session_id: str) -> list[tuple[str, float]]:
        """(name, joined) of every student who ever joined, in the order they joined."""
        rows = self._rows(
            "SELECT name, joined FROM seats WHERE session = ? ORDER BY seat", session_id
        )
        return [(str(r["name"]), float(r["joined"])) for r in rows]

    def seat_token(self, session_id: str, name: str) -> str | None:
        rows = self._rows(
            "SELECT token_hash FROM seats WHERE session = ? AND name = ?", session_id, name
        )
        return str(rows[0]["token_hash"]) if rows else None

    def take_seat(self, session_id: str, name: str, token: str) -> bool:
        """Give `name` a seat bound to `token`; False if someone already holds the name."""
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO seats (session, name, token_hash, seat, joined) VALUES"
                    " (?, ?, ?, (SELECT COUNT(*) FROM seats WHERE session = ?), ?)",
                    (session_id, name, hash_token(token), session_id, time.time()),
                )
            except sqlite3.IntegrityError:
                return False
        self.log(session_id, "join", {"name": name})
        return True

    def remove_seat(self, session_id: str, name: str) -> None:
        """The teacher removed `name`: the seat, its answers and checks go."""
        with self._tx() as db:
            for table, column in (("seats", "name"), ("answers", "student"), ("checks", "student")):
                db.execute(
                    f"DELETE FROM {table} WHERE session = ? AND {column} = ?", (session_id, name)
                )
        self.log(session_id, "kick", {"name": name})

    def rename_seat(self, session_id: str, name: str, to: str) -> bool:
        """The teacher renamed a seat; False if `to` is taken."""
        with self._tx() as db:
            try:
                for table, column in (
                    ("seats", "name"),
                    ("answers", "student"),
                    ("checks", "student"),
                ):
                    db.execute(
                        f"UPDATE {table} SET {column} = ? WHERE session = ? AND {column} = ?",
                        (to, session_id, name),
                    )
            except sqlite3.IntegrityError:
                return False
        self.log(session_id, "rename", {"name": name, "to": to})
        return True

    # answers and checks

    def record_answer(self, session_id: str, answer: StudentAnswer, claimed: bool | None) -> bool:
        """Keep a student's first answer to an item; False if they had already answered it."""
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO answers (session, student, item, answer, correct, observed,"
                    " message, claimed, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        answer.student,
                        answer.item,
                        answer.answer,
                        int(answer.correct),
                        answer.observed,
                        answer.message,
                        None if claimed is None else int(claimed),
                        answer.at,
                    ),
                )
            except sqlite3.IntegrityError:
                return False
        return True

    def answers(self, session_id: str) -> list[StudentAnswer]:
        rows = self._rows(
            "SELECT student, item, answer, correct, observed, message, at FROM answers"
            " WHERE session = ? ORDER BY at",
            session_id,
        )
        return [
            StudentAnswer(
                student=str(r["student"]),
                item=str(r["item"]),
                answer=str(r["answer"]),
                correct=bool(r["correct"]),
                observed=str(r["observed"]),
                message=str(r["message"]),
                at=float(r["at"]),
            )
            for r in rows
        ]

    def record_check(self, session_id: str, check: CheckRow) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO checks (session, student, item, passed, score, max_score, results,"
                " error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    check.student,
                    check.item,
                    int(check.passed),
                    check.score,
                    check.max_score,
                    json.dumps(check.results),
                    check.error,
                    check.at,
                ),
            )

    def best_checks(self, session_id: str) -> dict[str, CheckRow]:
        """Each student's best check (highest score, then latest)."""
        rows = self._rows(
            "SELECT student, item, passed, score, max_score, results, error, at FROM checks"
            " WHERE session = ? ORDER BY score ASC, seq ASC",
            session_id,
        )
        best: dict[str, CheckRow] = {}
        for r in rows:
            best[str(r["student"])] = CheckRow(
                student=str(r["student"]),
                item=str(r["item"]),
                passed=bool(r["passed"]),
                score=float(r["score"]),
                max_score=float(r["max_score"]),
                results=json.loads(r["results"]),
                error=r["error"],
                at=float(r["at"]),
            )
        return best

    def check_counts(self, session_id: str) -> dict[str, int]:
        rows = self._rows(
            "SELECT student, COUNT(*) AS n FROM checks WHERE session = ? GROUP BY student",
            session_id,
        )
        return {str(r["student"]): int(r["n"]) for r in rows}

    # reveals and the log

    def reveal(self, session_id: str, item: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO reveals (session, item, at) VALUES (?, ?, ?)",
                (session_id, item, time.time()),
            )
        self.log(session_id, "reveal", {"item": item})

    def revealed(self, session_id: str) -> set[str]:
        rows = self._rows("SELECT item FROM reveals WHERE session = ?", session_id)
        return {str(r["item"]) for r in rows}

    def log(self, session_id: str, kind: str, data: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO events (session, at, kind, data) VALUES (?, ?, ?, ?)",
                (session_id, time.time(), kind, json.dumps(data)),
            )

    def events(self, session_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._rows(
            "SELECT kind, data FROM events WHERE session = ? ORDER BY seq", session_id
        )
        return [(str(r["kind"]), json.loads(r["data"])) for r in rows]


def _session_of(row: sqlite3.Row) -> ClassSession:
    return ClassSession(
        id=row["id"],
        code=row["code"],
        host_key=row["host_key"],
        mode=row["mode"],
        target=row["target"],
        content=row["content"],
        created=row["created"],
        current=row["current"],
        ended=row["ended"],
        port=row["port"],
    )
