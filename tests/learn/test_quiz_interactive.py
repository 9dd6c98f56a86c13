"""The interactive quiz in a real terminal: right, wrong, hint, quit, resume."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

from tests.support import FIXTURE
from wsquiz.learn.progress import Progress

WSQUIZ = [sys.executable, "-m", "wsquiz"]


def spawn(*args: str) -> pexpect.spawn:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100"}
    return pexpect.spawn(
        WSQUIZ[0],
        [*WSQUIZ[1:], "quiz", "mini", "--content", str(FIXTURE), *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 100),
    )


def test_answer_right_wrong_hint_quit_and_resume() -> None:
    child = spawn()
    # question 1: a prediction, answered right
    child.expect("mini 1/3")
    child.expect("answer> ")
    child.sendline("HI")
    child.expect("live check: shout.py")
    child.expect("Right: the server shows HI")
    child.expect("Enter next, q quit")
    child.sendline("")
    # question 2: a hint, then a wrong letter
    child.expect("mini 2/3")
    child.expect(r"B\) The server closes with code 4000")
    child.expect("answer> ")
    child.sendline("h")
    child.expect("hint: close\\(\\) is called with a code.")
    child.expect("answer> ")
    child.sendline("A")
    child.expect("closed 4000")
    child.expect("Not quite: the answer is B")
    child.expect("r retry, Enter next, q quit")
    child.sendline("q")
    child.expect("Saved. Go on later with: wsquiz quiz mini")
    child.expect("1/3 right")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    with Progress() as progress:
        saved = progress.answers("mini")
    assert saved["mini-shout"].correct
    assert saved["mini-close"].answer == "A" and not saved["mini-close"].correct
    assert "mini-concept" not in saved

    # resume where we left: the first question without an answer
    child = spawn()
    child.expect("Resuming A miniature quiz at question 3 of 3")
    child.expect("mini 3/3")
    child.expect("answer> ")
    child.sendline("z")
    child.expect("answer with a letter: A, B")
    child.expect("answer> ")
    child.sendline("a")
    child.expect("Right.")
    child.expect("Enter next, q quit")
    child.sendline("")
    child.expect("2/3 right \\(1 answered in this session\\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_retry_then_right() -> None:
    child = spawn("--no-save")
    child.expect("answer> ")
    child.sendline("hi")
    child.expect("Not quite: you said hi; the server shows HI")
    child.expect("r retry")
    child.sendline("rr")  # a typo does not move on and lose the retry
    child.expect("'rr' is not one of these: r retry, Enter next, q quit")
    child.sendline("r")
    child.expect("answer> ")
    child.sendline("HI")
    child.expect("Right")
    child.expect("Enter next")
    child.sendcontrol("d")
    child.expect("Stopped \\(nothing saved: --no-save\\)")
    child.expect("1/3 right \\(1 answered in this session\\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with Progress() as progress:
        assert progress.answers("mini") == {}


def test_the_summary_tells_right_on_retry_and_ends_with_the_next_step(tmp_path: Path) -> None:
    import shutil

    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course)
    (course / "lessons").mkdir()
    (course / "lessons" / "01-intro.md").write_text(
        '+++\ntitle = "Intro to mini"\nquiz = "mini"\n+++\n\nRead this first.\n'
    )
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100"}
    child = pexpect.spawn(
        WSQUIZ[0],
        [*WSQUIZ[1:], "quiz", "mini", "--content", str(course)],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 100),
    )
    child.expect("answer> ")
    child.sendline("hi")
    child.expect("r retry")
    child.sendline("r")
    child.expect("answer> ")
    child.sendline("HI")
    child.expect("Enter next")
    child.sendline("")
    for letter in ("B", "A"):
        child.expect("answer> ")
        child.sendline(letter)
        child.expect("Right")
        child.expect("Enter next")
        child.sendline("")
    child.expect("mini-shout +│ ✔ right on retry")
    child.expect("mini-close +│ ✔ right +│")
    child.expect("3/3 right")
    child.expect(r"next: wsquiz learn intro +\(lesson: Intro to mini\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
