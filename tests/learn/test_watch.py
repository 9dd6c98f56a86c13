from __future__ import annotations

import io
import os
import re
import shutil
import sys
from pathlib import Path

import pexpect

from tests.support import ROOT

EXERCISE = ROOT / "exercises" / "01-echo-loop"
WSQUIZ = [sys.executable, "-c", "from wsquiz.cli import main; main()"]


def test_watch_reruns_on_save_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    mine = tmp_path / "echo-loop.py"
    shutil.copy(EXERCISE / "starter.py", mine)
    child = pexpect.spawn(
        WSQUIZ[0],
        [*WSQUIZ[1:], "check", str(mine), "--watch"],
        cwd=str(tmp_path),
        env=dict(os.environ),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 100),
    )
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        child.expect("score 0/5: 3 of 3 checks failed")
        child.expect("watching echo-loop.py: save it to check again, Ctrl-C to stop")

        # an editor's save: write a new file beside it, then rename it over the old one
        draft = tmp_path / ".echo-loop.py.swp"
        draft.write_text((EXERCISE / "solution.py").read_text())
        draft.replace(mine)

        child.expect("echo-loop.py saved at")
        child.expect("score 5/5: all 3 checks passed")
        child.expect("watching echo-loop.py")

        mine.write_text(mine.read_text().replace('f"Echo: {data}"', "data"))
        child.expect("echo-loop.py saved at")
        child.expect("score 0/5")
        child.expect("watching echo-loop.py")

        child.sendintr()
        child.expect("stopped watching")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1  # the last check, of the file as it was left, failed
    assert seen.getvalue().count("checks failed") == 2
    assert "Traceback" not in seen.getvalue()  # no wsquiz traceback, even on Ctrl-C


def test_ctrl_c_during_a_check_stops_cleanly(tmp_path: Path) -> None:
    hang = tmp_path / "hang.py"
    hang.write_text(
        "# wsquiz exercise: count-messages\n"
        "from fastapi import FastAPI, WebSocket\n"
        "app = FastAPI()\n"
        "@app.websocket('/ws')\n"
        "async def ws(websocket: WebSocket):\n"
        "    await websocket.accept()\n"
        "    while True:\n"
        "        pass\n"
    )
    child = pexpect.spawn(
        WSQUIZ[0],
        [*WSQUIZ[1:], "check", str(hang), "--watch"],
        cwd=str(tmp_path),
        env=dict(os.environ),
        encoding="utf-8",
        timeout=60,
    )
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        # each check of this endpoint waits out its timeouts: interrupt while one runs
        child.expect("checking .*hang.py")
        child.expect(pexpect.TIMEOUT, timeout=1)
        child.sendintr()
        child.expect("stopped watching")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1  # no check finished: nothing passed
    assert "score" not in seen.getvalue()  # interrupted before the report
    assert "Traceback" not in seen.getvalue()


def test_watch_exits_0_when_the_last_check_passed(tmp_path: Path) -> None:
    mine = tmp_path / "echo-loop.py"
    shutil.copy(EXERCISE / "solution.py", mine)
    child = pexpect.spawn(
        WSQUIZ[0],
        [*WSQUIZ[1:], "check", str(mine), "--watch"],
        cwd=str(tmp_path),
        env=dict(os.environ),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 100),
    )
    try:
        child.expect("score 5/5: all 3 checks passed")
        child.expect("watching echo-loop.py")
        child.sendintr()
        child.expect("stopped watching")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


ANSI = r"(?:\x1b\[[0-9;]*m)*"  # a real terminal: styles around the words


def styled(*words: str) -> str:
    """A pattern for these words, as shown with styles between them."""
    return ANSI.join(re.escape(w) for w in words)


def test_wsquiz_watch_walks_the_course_checks_on_save_and_moves_on(tmp_path: Path) -> None:
    from tests.support import spawn
    from wsquiz.learn.coursewatch import CourseWatch
    from wsquiz.learn.progress import Progress

    with Progress(tmp_path / "order.db") as empty:
        steps = CourseWatch(ROOT, tmp_path, empty).steps
    first, second = steps[0].exercise, steps[1].exercise
    total = len(steps)
    child = spawn("watch", cwd=tmp_path, size=(40, 100), timeout=60, env={"TERM": "xterm"})
    seen = io.StringIO()
    child.logfile_read = seen
    try:
        child.expect(styled(f"exercise 1/{total}", " (0 passed)  ", first.name))
        child.expect(f"wrote the starter {first.name}.py")
        child.expect("score 0/")
        child.expect(f"watching {first.name}.py: save it to check again; h hint, l lesson, q quit")
        child.send("h")
        child.expect("hint: ")
        child.send("l")
        child.expect(f"that was lesson {steps[0].lesson}")

        mine = tmp_path / f"{first.name}.py"
        draft = tmp_path / f".{first.name}.py.swp"  # an editor's save: write, then rename
        draft.write_text(first.solution.read_text())
        draft.replace(mine)
        child.expect("\x1b\\[2J")  # the screen cleared, then redrawn
        child.expect(f"✓ {first.name} passed. Next: {second.name}.")
        child.expect(styled(f"exercise 2/{total}", " (1 passed)  ", second.name))
        child.expect(f"wrote the starter {second.name}.py")
        child.expect(f"watching {second.name}.py")
        child.send("q")
        child.expect(f"Saved: 1/{total} exercises passed. Go on later with: wsquiz watch")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    # the learner's starter may raise (its traceback is shown); wsquiz itself never does
    assert not re.search(r'File "[^"]*/wsquiz/(cli|learn|ui|engine)/', seen.getvalue())
    with Progress() as progress:
        done = progress.exercises()
    assert done[first.name].passed and not done[second.name].passed

    # where it was left: the first exercise not passed
    child = spawn("watch", cwd=tmp_path, size=(40, 100), timeout=60)
    try:
        child.expect(f"exercise 2/{total} \\(1 passed\\)  {second.name}")
        child.expect(f"watching {second.name}.py")
        child.sendintr()
        child.expect("stopped watching \\(progress is saved\\)")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_watch_with_every_exercise_passed_says_so_and_writes_nothing(tmp_path: Path) -> None:
    from tests.support import invoke
    from wsquiz.course.exercises import load_exercises
    from wsquiz.learn.progress import Progress

    with Progress() as progress:
        for exercise in load_exercises(ROOT):
            progress.record_exercise(exercise.name, True, 1, 1)
    code, output = invoke("watch", "--dir", str(tmp_path))
    assert code == 0, output
    assert "exercises are passed already" in output
    assert list(tmp_path.iterdir()) == []
