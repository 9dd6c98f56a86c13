"""The interactive quiz in a real terminal, unlock-style: right, wrong then right, nearly, hint,
show, quit, resume, --retry-wrong, and a question with four code panels at 80x24."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pexpect

from tests.support import FIXTURE, ROOT, flat, invoke, spawn
from wsquiz.learn.progress import Progress


def mini(*args: str, course: Path = FIXTURE, size: tuple[int, int] = (50, 100)) -> pexpect.spawn:
    child = spawn("quiz", "mini", "--content", str(course), *args, size=size)
    child.logfile_read = io.StringIO()
    return child


def seen(child: pexpect.spawn) -> str:
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    return log.getvalue()


def ended(child: pexpect.spawn) -> None:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_a_wrong_answer_never_shows_the_key_and_a_retry_counts_apart() -> None:
    child = mini()
    # question 1: a prediction, wrong, then nearly (the case), then right
    child.expect("mini 1/3")
    child.expect("answer> ")
    child.sendline("hello")
    child.expect("Not right: that is not what the server shows.")
    child.expect("try again: type your prediction; h hint, s show the answer, n next, q quit")
    child.sendline("hi")
    child.expect("Nearly: only the case differs")
    child.expect("answer> ")
    asked = seen(child).split("mini 1/3", 1)[1]
    assert "HI" not in asked and "live check" not in asked  # the key never shown unasked
    child.sendline("HI")
    child.expect("live check: shout.py")
    child.expect("Right: the server shows HI")
    child.expect("Enter next, q quit")
    child.sendline("")
    # question 2: a hint, a wrong letter (no transcript: it would show the key), then right
    child.expect("mini 2/3")
    child.expect("answer> ")
    child.sendline("h")
    child.expect("hint: close\\(\\) is called with a code.")
    child.expect("answer> ")
    child.sendline("A")
    child.expect("Not right: A is not the answer.")
    child.expect("answer> ")
    asked = seen(child).split("mini 2/3", 1)[1]
    assert "closed 4000" not in asked and "the answer is" not in asked
    child.sendline("b")
    child.expect("Right.")
    child.expect("Enter next, q quit")
    child.sendline("q")
    child.expect("Saved. Go on later with: wsquiz quiz mini")
    child.expect("mini-shout +│ ✔ right after a retry")
    child.expect("mini-close +│ ✔ right after a retry")
    child.expect("0/3 right on the first try")
    ended(child)

    with Progress() as progress:
        saved = progress.outcomes("mini")
    assert saved == {"mini-shout": "right_after_retry", "mini-close": "right_after_retry"}
    code, output = invoke("progress", "--json", "--content", str(FIXTURE))
    assert code == 0, output
    counts = json.loads(output)["quizzes"][0]
    assert {k: counts[k] for k in ("right_first_try", "right_after_retry", "shown")} == {
        "right_first_try": 0,
        "right_after_retry": 2,
        "shown": 0,
    }
    assert counts["wrong"] == 0 and counts["unanswered"] == 1
    code, shown = invoke("progress", "--content", str(FIXTURE))
    assert "2/3 answered, 0 right first try, 2 after a retry" in flat(shown), shown


def test_show_gives_the_answer_and_counts_as_shown_and_resume_goes_on() -> None:
    child = mini()
    child.expect("answer> ")
    child.sendline("HI")
    child.expect("Right: the server shows HI")
    child.sendline("")
    child.expect("mini 2/3")
    child.expect("answer> ")
    child.sendline("s")
    child.expect("closed 4000")  # the live check, now that the answer is asked for
    child.expect("The answer: B \\(this question counts as shown\\)")
    child.expect("Enter next, q quit")
    child.sendcontrol("d")
    child.expect("Saved")
    child.expect("mini-shout +│ ✔ right +│")
    child.expect("mini-close +│ shown")
    child.expect("1/3 right on the first try")
    ended(child)

    # resume at the first question with no record
    child = mini()
    child.expect("Resuming A miniature quiz at question 3 of 3")
    child.expect("mini 3/3")
    child.expect("answer> ")
    child.sendline("z")
    child.expect("answer with a letter: A, B")
    child.expect("answer> ")
    child.sendline("b")
    child.expect("Not right: b is not the answer.")
    child.expect("answer> ")
    child.sendline("n")  # move on: it stays wrong
    child.expect("0 right after a retry, 1 shown, 1 wrong, 0 unanswered")
    ended(child)
    with Progress() as progress:
        assert progress.outcomes("mini") == {
            "mini-shout": "right_first_try",
            "mini-close": "shown",
            "mini-concept": "wrong",
        }


def test_retry_wrong_asks_only_what_was_not_answered_right() -> None:
    child = mini()
    for answer in ("HI", "A"):
        child.expect("answer> ")
        child.sendline(answer)
        if answer == "A":
            child.expect("Not right")
            child.expect("answer> ")
            child.sendline("n")
        else:
            child.expect("Enter next")
            child.sendline("")
    child.expect("answer> ")
    child.sendline("s")
    child.expect("The answer: A")
    child.sendline("")
    ended(child)

    child = mini("--retry-wrong")
    child.expect("Retrying 2 question\\(s\\) not answered right.")
    child.expect("mini 2/3")
    child.expect("answer> ")
    child.sendline("B")
    child.expect("Right.")
    child.sendline("")
    child.expect("mini 3/3")
    child.expect("answer> ")
    child.sendline("A")
    child.expect("Right.")
    child.sendline("")
    child.expect("mini-close +│ ✔ right after a retry")
    child.expect("mini-concept +│ shown")  # shown before it was answered right
    ended(child)
    assert "mini 1/3" not in seen(child)

    child = mini("--retry-wrong")
    child.expect("Nothing to retry")
    ended(child)


def test_a_recorded_sheet_keeps_the_first_answers(tmp_path: Path) -> None:
    sheet = tmp_path / "ada.json"
    child = mini("--no-save", "--record", str(sheet))
    child.expect("answer> ")
    child.sendline("hi")
    child.expect("Nearly")
    child.sendline("HI")
    child.expect("Enter next")
    child.sendline("")
    child.expect("answer> ")
    child.sendline("B")
    child.expect("Enter next")
    child.sendline("")
    child.expect("answer> ")
    child.sendline("s")
    child.expect("Enter next")
    child.sendline("")
    child.expect("Stopped|answer sheet written")
    ended(child)
    data = json.loads(sheet.read_text())
    assert data["answers"] == {"mini-shout": "hi", "mini-close": "B", "mini-concept": ""}
    assert data["attempts"]["mini-shout"] == ["hi", "HI"] and data["shown"] == ["mini-concept"]
    code, output = invoke(
        "quiz", "mini", "--content", str(FIXTURE), "--answers", str(sheet), "--json", "--no-save"
    )
    assert code == 1
    assert json.loads(output)["score"] == 1  # graded on first tries


def test_the_summary_ends_with_the_next_step(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course)
    (course / "lessons").mkdir()
    (course / "lessons" / "01-intro.md").write_text(
        '+++\ntitle = "Intro to mini"\nquiz = "mini"\n+++\n\nRead this first.\n'
    )
    child = mini(course=course)
    for letter in ("HI", "B", "A"):
        child.expect("answer> ")
        child.sendline(letter)
        child.expect("Right")
        child.expect("Enter next")
        child.sendline("")
    child.expect("3/3 right on the first try")
    child.expect(r"next: wsquiz learn intro +\(lesson: Intro to mini\)")
    ended(child)


def test_four_code_panels_at_80x24_keep_the_question_and_prompt_on_screen() -> None:
    child = spawn("quiz", "basics", "--no-save", size=(24, 80))
    child.logfile_read = io.StringIO()
    for _ in range(3):  # to question 4: four endpoints, one per option
        child.expect("answer> ")
        child.sendline("s")
        child.expect("Enter next")
        child.sendline("")
    child.expect("basics 4/5")
    child.expect("answer> ")
    screen = seen(child).split("basics 4/5", 1)[1]
    lines = screen.splitlines()
    assert len(lines) <= 24, screen  # the question's head is still on the screen
    assert "v LETTER shows an option's code" in screen
    child.sendline("v c")
    child.expect("await websocket.accept\\(\\)")
    child.expect("answer> ")
    child.sendline("q")
    ended(child)


def test_every_bundled_quiz_can_be_listed_without_a_name() -> None:
    code, output = invoke("quiz")
    assert code == 0
    assert all(name in output for name in ("basics", "closing"))
    assert (ROOT / "quizzes").is_dir()


def test_a_wrong_option_with_its_own_app_shows_only_that_app_run() -> None:
    code, output = invoke(
        "quiz", "basics", "--no-save", input="s\n\ns\n\ns\n\nA\nq\n"
    )  # to question 4, four endpoints: answer A (it misses the awaits), wrong
    assert code == 0, output
    asked = output.split("basics 4/5", 1)[1]
    assert "live check A) " in asked  # what the learner's own choice does
    assert "Not right: A is not the answer." in asked
    for other in "BCD":
        assert f"live check {other}) " not in asked  # the others would give the key away


def test_a_tall_question_keeps_its_text_above_the_prompt_at_80x24() -> None:
    from wsquiz.course.quizzes import load_course

    first = load_course(ROOT).quiz("rooms").questions[0]
    child = spawn("quiz", "rooms", "--no-save", size=(24, 80))
    child.logfile_read = io.StringIO()
    child.expect("answer> ")
    screen = seen(child).splitlines()[-24:]  # what the terminal shows now
    words = " ".join(first.prompt.split()[:6])
    assert words in flat("\n".join(screen)), "\n".join(screen)
    child.sendline("q")
    ended(child)
