"""The progress store: what is recorded stays recorded, even through kill -9; a broken store is
moved aside with a message that names it, never a traceback."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wsquiz.cli import app
from wsquiz.errors import StoreError
from wsquiz.learn.progress import SCHEMA_VERSION, Progress

runner = CliRunner()


def home() -> Path:
    return Path(os.environ["WSQUIZ_HOME"])


def test_answers_keep_the_latest_answer_and_whether_it_was_ever_right(tmp_path: Path) -> None:
    with Progress(tmp_path / "p.db") as progress:
        progress.record_answer("basics", "count-messages", "2", False)
        progress.record_answer("basics", "count-messages", "3", True)
        progress.record_answer("basics", "count-messages", "4", False)
        progress.record_answer("basics", "echo-reply", "Message received: hi", True)
        progress.record_answer("messages", "disconnect-exception", "WebSocketDisconnect", True)
        rows = progress.answers("basics")
    assert sorted(rows) == ["count-messages", "echo-reply"]
    count = rows["count-messages"]
    assert (count.answer, count.correct, count.ever_correct) == ("4", False, True)
    assert count.attempts == 3
    assert rows["echo-reply"].correct and rows["echo-reply"].attempts == 1


def test_a_second_open_sees_everything_and_the_summary_groups_it(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    with Progress(path) as progress:
        progress.record_lesson("first-reply")
        progress.record_answer("basics", "a", "x", True)
        progress.record_answer("basics", "b", "y", False)
        progress.record_exercise("echo-loop", False, 1, 3)
        progress.record_exercise("echo-loop", True, 3, 3)
    with Progress(path) as again:
        summary = again.summary()
    assert summary.quizzes["basics"].answered == 2
    assert summary.quizzes["basics"].correct == 1
    loop = summary.exercises["echo-loop"]
    assert (loop.passed, loop.score, loop.max_score, loop.attempts) == (True, 3, 3, 2)
    assert list(summary.lessons) == ["first-reply"]
    assert summary.last == ("exercise", "echo-loop")


def test_reset_one_quiz_or_everything(tmp_path: Path) -> None:
    with Progress(tmp_path / "p.db") as progress:
        progress.record_answer("basics", "a", "x", True)
        progress.record_answer("messages", "b", "y", True)
        progress.record_lesson("first-reply")
        assert progress.reset("basics") == 1
        assert progress.answers("basics") == {}
        assert list(progress.answers("messages")) == ["b"]
        assert progress.reset() == 2
        assert progress.summary().empty


def test_the_store_lives_under_wsquiz_home() -> None:
    with Progress() as progress:
        progress.record_answer("basics", "a", "x", True)
    assert (home() / "progress.db").is_file()


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from wsquiz.learn.progress import Progress

    progress = Progress(Path(sys.argv[1]))
    n = 0
    while True:
        progress.record_answer("basics", f"q{n}", f"answer {n}", n % 2 == 0)
        n += 1
        print(n, flush=True)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_kill_loses_nothing_already_recorded(tmp_path: Path, sig: signal.Signals) -> None:
    path = tmp_path / "progress.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    reported = 0
    try:
        while reported < 40:
            line = child.stdout.readline()
            assert line, "the recording process died on its own"
            reported = int(line)
    finally:
        child.send_signal(sig)
        try:
            child.wait(30)
        finally:
            child.kill()
    assert child.returncode != 0
    with Progress(path) as progress:
        assert progress.notice is None
        rows = progress.answers("basics")
    # every answer the child saw committed is there, intact
    assert len(rows) >= reported
    for n in range(reported):
        row = rows[f"q{n}"]
        assert row.answer == f"answer {n}"
        assert row.correct == (n % 2 == 0)


def write_garbage() -> Path:
    store = home() / "progress.db"
    store.write_bytes(b"this is not a database\n" * 64)
    return store


def test_a_corrupt_store_is_moved_aside_and_a_fresh_one_used() -> None:
    store = write_garbage()
    progress = Progress(quiet=True)
    try:
        assert progress.moved_to is not None
        assert progress.moved_to.name.startswith("progress.db.corrupt-")
        assert progress.moved_to.read_bytes().startswith(b"this is not a database")
        assert progress.notice is not None
        assert str(store) in progress.notice and str(progress.moved_to) in progress.notice
        progress.record_answer("basics", "a", "x", True)
    finally:
        progress.close()
    with Progress() as again:
        assert again.notice is None
        assert list(again.answers("basics")) == ["a"]


def test_the_cli_says_where_the_corrupt_store_went_without_a_traceback() -> None:
    store = write_garbage()
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 0, result.output
    moved = sorted(home().glob("progress.db.corrupt-*"))
    assert len(moved) == 1
    assert f"the progress store {store} was unreadable" in result.stderr
    assert f"moved it to {moved[0]}" in result.stderr
    assert "Traceback" not in result.output
    assert "0 of" in result.stdout


def test_a_damaged_database_is_caught_too(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    with Progress(path) as progress:
        for n in range(300):
            progress.record_answer("basics", f"q{n}", "x" * 200, True)
    data = bytearray(path.read_bytes())
    data[5000:9000] = b"\xff" * 4000
    path.write_bytes(bytes(data))
    with Progress(path, quiet=True) as progress:
        assert progress.moved_to is not None
        assert "malformed" in (progress.notice or "")
        assert progress.answers("basics") == {}


def test_a_database_of_another_program_is_not_touched_in_place(tmp_path: Path) -> None:
    path = tmp_path / "progress.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    with Progress(path, quiet=True) as progress:
        assert progress.moved_to is not None
        assert "not a wsquiz progress store" in (progress.notice or "")
    with sqlite3.connect(progress.moved_to) as other:
        assert other.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]


def test_a_store_from_a_newer_wsquiz_is_refused_with_a_fix() -> None:
    store = home() / "progress.db"
    with sqlite3.connect(store) as newer:
        newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError) as caught:
        Progress()
    assert str(store) in caught.value.message
    assert "schema version" in caught.value.message
    assert "upgrade wsquiz" in caught.value.fix
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 2
    assert "schema version" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.output
    assert store.exists() and not list(home().glob("*.corrupt-*"))


def test_a_folder_in_the_way_is_an_error_that_names_it() -> None:
    (home() / "progress.db").mkdir()
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 2
    assert "progress.db: cannot use the progress store" in result.stderr
    assert "Traceback" not in result.output


def test_a_home_that_cannot_be_a_folder_is_an_error_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("WSQUIZ_HOME", str(blocker / "wsquiz"))
    result = runner.invoke(app, ["progress"])
    assert result.exit_code == 2
    assert "cannot create the folder for progress" in result.stderr
    assert str(blocker) in result.stderr
    assert "WSQUIZ_HOME" in result.stderr
    assert "Traceback" not in result.output


def test_a_learner_goes_on_without_saving_when_the_store_cannot_be_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("WSQUIZ_HOME", str(blocker / "wsquiz"))
    welcome = runner.invoke(app, [])
    assert welcome.exit_code == 0, welcome.output
    assert "wsquiz: progress is not saved this time:" in welcome.stderr
    assert "cannot create the folder for progress" in welcome.stderr
    assert "start here: wsquiz learn" in welcome.stdout
    answers = tmp_path / "answers.json"
    answers.write_text('{"count-messages": 3}')
    scored = runner.invoke(app, ["quiz", "basics", "--answers", str(answers), "--json"])
    assert scored.exit_code == 1  # not all answered: but checked, not refused
    assert "progress is not saved this time" in scored.stderr
    assert not (blocker / "wsquiz").exists()
