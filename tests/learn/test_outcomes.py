"""Progress keeps every attempt and tells first tries from retries and shown answers; a store
written before (schema 1) is upgraded with its first tries read from its log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from wsquiz.learn.progress import MIGRATIONS, Progress


def test_outcomes_of_attempts_and_shown(tmp_path: Path) -> None:
    with Progress(tmp_path / "p.db") as store:
        store.record_answer("q", "first", "a", True)
        store.record_answer("q", "retry", "x", False)
        store.record_answer("q", "retry", "a", True)
        store.record_answer("q", "shown", "x", False)
        store.record_shown("q", "shown")
        store.record_answer("q", "shown", "a", True)  # right once shown: still shown
        store.record_shown("q", "asked")  # shown before any attempt
        store.record_answer("q", "wrong", "x", False)
        store.record_answer("q", "first", "x", False)  # a later slip keeps the first try
        store.record_shown("q", "first")  # asked after it was right: stays right
        assert store.outcomes("q") == {
            "first": "right_first_try",
            "retry": "right_after_retry",
            "shown": "shown",
            "asked": "shown",
            "wrong": "wrong",
        }
        counts = store.summary().quizzes["q"].counts(total=7)
    assert counts == {
        "right_first_try": 1,
        "right_after_retry": 1,
        "shown": 2,
        "wrong": 1,
        "unanswered": 2,
    }


def test_a_schema_1_store_is_upgraded_with_its_first_tries(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    conn.executescript(first)
    conn.executescript(
        "INSERT INTO answer_log (quiz, question_id, answer, correct, at) VALUES "
        "('q', 'a', 'x', 0, 't1'), ('q', 'a', 'B', 1, 't2'), ('q', 'b', 'C', 1, 't3');"
        "INSERT INTO answers VALUES ('q', 'a', 'B', 1, 1, 2, 't2'), ('q', 'b', 'C', 1, 1, 1, 't3');"
        "PRAGMA user_version = 1;"
    )
    conn.commit()
    conn.close()
    with Progress(path) as store:
        assert store.outcomes("q") == {"a": "right_after_retry", "b": "right_first_try"}
        assert store.answers("q")["a"].attempts == 2
