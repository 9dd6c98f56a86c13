"""The one way wsquiz opens its SQLite files: connection settings, `user_version` migrations, and
a write transaction. The stores (progress, gradebook, classroom) build on it and turn SQLite's
errors into their own `StoreError`s, since each knows what its file is and how to fix it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from wsquiz.errors import StoreError

# A migration step: an SQL script (statements separated by `;`, none inside a string literal),
# or a function given the connection. Step N (counting from 1) brings a file to version N.
Step = str | Callable[[sqlite3.Connection], object]
Synchronous = Literal["NORMAL", "FULL"]


def connect(
    path: Path | str,
    *,
    timeout: float,
    synchronous: Synchronous = "NORMAL",
    threads: bool = False,
) -> sqlite3.Connection:
    """An open connection in autocommit mode (transactions are explicit, see `transaction`),
    rows as `sqlite3.Row`, the write-ahead log on, foreign keys enforced. `timeout` is how long a
    write waits for another process holding the file; `threads` lets several threads share the
    connection (the caller serialises them). SQLite's errors are raised as they are."""
    conn = sqlite3.connect(
        path, timeout=timeout, isolation_level=None, check_same_thread=not threads
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives a power cut; NORMAL: it survives the process's crash or kill -9.
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        conn.close()
        raise
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once (`BEGIN IMMEDIATE`, so two writers never deadlock
    upgrading a read lock): committed when the block ends, rolled back when it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection,
    steps: Sequence[Step],
    *,
    path: Path | str,
    store: str,
    fix: str,
    legacy: int = 0,
) -> int:
    """Bring the file to version `len(steps)`, applying the steps it lacks in order, each in its
    own transaction together with its `user_version`, so an interrupted upgrade resumes where it
    stopped. A file of a newer version is refused (StoreError naming it, `fix` saying what to
    do) and left as it is. `legacy` is a version the file also records its own way (all an
    older wsquiz kept); the larger of the two counts. Returns the version the file had."""
    found = max(user_version(conn), legacy)
    known = len(steps)
    if found > known:
        raise StoreError(
            f"{path}: {store} has schema version {found}, written by a newer wsquiz "
            f"(this one knows up to {known})",
            fix=fix,
        )
    for version in range(found + 1, known + 1):
        with transaction(conn):
            step = steps[version - 1]
            if isinstance(step, str):
                for statement in statements(step):
                    conn.execute(statement)
            else:
                step(conn)
            conn.execute(f"PRAGMA user_version = {version}")
    return found


def statements(script: str) -> list[str]:
    """The statements of an SQL script (`executescript` would commit the open transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """The column names of `table` (none when there is no such table)."""
    return {str(row["name"]) for row in conn.execute(f"PRAGMA table_info({table})")}
