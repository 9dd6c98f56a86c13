"""The SQLite helper on real files: settings, migrations in order, upgrades, refusals, rows."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from wsquiz._support import sqlite
from wsquiz.errors import StoreError

STEPS: list[sqlite.Step] = [
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL); "
    "CREATE TABLE tags (note INTEGER NOT NULL REFERENCES notes (id), tag TEXT NOT NULL)",
    lambda conn: conn.execute("ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT ''"),
]


def open_migrated(path: Path, steps: list[sqlite.Step] = STEPS) -> sqlite3.Connection:
    conn = sqlite.connect(path, timeout=5)
    sqlite.migrate(conn, steps, path=path, store="the test store", fix="use another file")
    return conn


def test_a_new_file_gets_every_step_in_order_and_their_version(tmp_path: Path) -> None:
    applied: list[int] = []

    def step(n: int) -> sqlite.Step:
        return lambda conn: applied.append(n)

    conn = sqlite.connect(tmp_path / "s.db", timeout=5)
    found = sqlite.migrate(
        conn, [step(1), step(2), step(3)], path="s.db", store="the test store", fix=""
    )
    assert (found, applied, sqlite.user_version(conn)) == (0, [1, 2, 3], 3)
    conn.close()


def test_an_older_file_is_upgraded_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_migrated(path, STEPS[:1]).close()
    with sqlite3.connect(path) as old:
        old.execute("INSERT INTO notes (text) VALUES ('kept')")
    old.close()
    conn = open_migrated(path)
    assert sqlite.user_version(conn) == 2
    assert sqlite.columns(conn, "notes") == {"id", "text", "author"}
    row = conn.execute("SELECT text, author FROM notes").fetchone()
    assert (row["text"], row["author"]) == ("kept", "")
    conn.close()
    again = open_migrated(path)  # already current: no step runs twice
    assert sqlite.user_version(again) == 2
    again.close()


def test_a_step_that_fails_leaves_the_file_at_the_last_version_reached(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise sqlite3.OperationalError("disk gave up")

    with pytest.raises(sqlite3.OperationalError, match="disk gave up"):
        open_migrated(path, [STEPS[0], broken])
    conn = sqlite.connect(path, timeout=5)
    assert sqlite.user_version(conn) == 1
    assert "half" not in {r["name"] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()


def test_a_newer_file_is_refused_naming_it_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as newer:
        newer.execute("PRAGMA user_version = 7")
    newer.close()
    with pytest.raises(StoreError) as caught:
        open_migrated(path)
    assert str(path) in caught.value.message
    assert "schema version 7" in caught.value.message and "knows up to 2" in caught.value.message
    assert caught.value.fix == "use another file"
    with sqlite3.connect(path) as after:
        assert after.execute("PRAGMA user_version").fetchone() == (7,)
        assert after.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    after.close()


def test_a_legacy_version_counts_too(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    applied: list[int] = []
    conn = sqlite.connect(path, timeout=5)
    found = sqlite.migrate(
        conn,
        [lambda c: applied.append(1), lambda c: applied.append(2)],
        path=path,
        store="the test store",
        fix="",
        legacy=1,
    )
    assert (found, applied, sqlite.user_version(conn)) == (1, [2], 2)
    conn.close()
    fresh = sqlite.connect(tmp_path / "other.db", timeout=5)
    with pytest.raises(StoreError, match="schema version 3"):  # a legacy file of a newer wsquiz
        sqlite.migrate(fresh, STEPS, path=path, store="the test store", fix="", legacy=3)
    assert sqlite.user_version(fresh) == 0
    fresh.close()
    behind = sqlite.connect(tmp_path / "s.db", timeout=5)  # user_version 2, the other record 3
    with pytest.raises(StoreError, match="schema version 3"):
        sqlite.migrate(behind, STEPS, path=path, store="the test store", fix="", legacy=3)
    behind.close()


def test_rows_are_read_by_name_and_the_settings_are_on(tmp_path: Path) -> None:
    conn = open_migrated(tmp_path / "s.db")
    with sqlite.transaction(conn):
        conn.execute("INSERT INTO notes (text, author) VALUES ('hello', 'ada')")
    row = conn.execute("SELECT id, text, author FROM notes").fetchone()
    assert isinstance(row, sqlite3.Row)
    assert (row["text"], row["author"], row.keys()) == ("hello", "ada", ["id", "text", "author"])
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO tags (note, tag) VALUES (99, 'no such note')")
    conn.close()
    full = sqlite.connect(tmp_path / "s.db", timeout=5, synchronous="FULL")
    assert full.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    full.close()


def test_a_transaction_commits_or_rolls_back_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    conn = open_migrated(path)
    with pytest.raises(RuntimeError), sqlite.transaction(conn):
        conn.execute("INSERT INTO notes (text) VALUES ('lost')")
        raise RuntimeError("interrupted")
    with sqlite.transaction(conn):
        conn.execute("INSERT INTO notes (text) VALUES ('kept')")
    conn.close()
    with sqlite3.connect(path) as other:  # another connection sees what was committed
        assert other.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    other.close()


def test_a_connection_for_threads_can_be_shared(tmp_path: Path) -> None:
    conn = open_migrated(tmp_path / "s.db")
    shared = sqlite.connect(tmp_path / "s.db", timeout=5, threads=True)
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(shared.execute("SELECT 1").fetchone()[0]))
    worker.start()
    worker.join()
    assert seen == [1]
    mine = conn  # a connection not opened for threads refuses another thread
    errors: list[BaseException] = []

    def use() -> None:
        try:
            mine.execute("SELECT 1")
        except sqlite3.ProgrammingError as exc:
            errors.append(exc)

    other = threading.Thread(target=use)
    other.start()
    other.join()
    assert len(errors) == 1
    shared.close()
    conn.close()


def test_a_file_that_is_not_a_database_raises_sqlites_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite.connect(path, timeout=5)
