"""The course leads: "next" is the first unfinished step in course order, lesson endings come
from that order, and `wsquiz validate` flags a question asked before its lesson. Proven on the
bundled course and on a miniature course whose first quiz asks what lesson 2 teaches."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support import ROOT
from wsquiz.cli import app
from wsquiz.course.examples import find_example
from wsquiz.course.lessons import load_lesson_set
from wsquiz.course.order import course_order
from wsquiz.course.quizzes import load_course
from wsquiz.course.validation import order_problems, validate_course
from wsquiz.learn.progress import Progress

MISORDERED = ROOT / "tests" / "fixtures" / "misordered"
runner = CliRunner()


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def next_of(root: Path) -> dict[str, str]:
    result = invoke("progress", "--json", "--content", str(root))
    assert result.exit_code == 0, result.output
    found: dict[str, str] = json.loads(result.stdout)["next"]
    return found


# ---- the bundled course ---------------------------------------------------------------------


def test_every_bundled_question_names_a_lesson_that_comes_before_its_quiz() -> None:
    course = load_course(ROOT)
    outline = load_lesson_set(ROOT).outline
    assert order_problems(ROOT, course.quizzes, outline) == []
    path = course_order(outline, [quiz.name for quiz in course.quizzes], ())
    for quiz in course.quizzes:
        for question in quiz.questions:
            assert question.lesson is not None, question.id
            assert path.index(("lesson", question.lesson)) < path.index(("quiz", quiz.name))


def test_the_messages_quiz_comes_after_every_lesson_its_questions_need() -> None:
    course = load_course(ROOT)
    outline = load_lesson_set(ROOT).outline
    path = course_order(outline, [quiz.name for quiz in course.quizzes], ())
    messages = path.index(("quiz", "messages"))
    needed = {question.lesson for question in course.quiz("messages").questions}
    assert {"receive-loop", "closing", "chat-room"} <= needed
    assert all(path.index(("lesson", str(name))) < messages for name in needed)


def test_lessons_3_and_4_no_longer_send_the_learner_to_the_messages_quiz() -> None:
    for lesson in ("message-types", "receive-loop"):
        out = invoke("learn", lesson).stdout
        assert "wsquiz quiz messages" not in out, lesson
    out = invoke("learn", "receive-loop").stdout
    assert "next lesson: wsquiz learn closing" in out
    assert "next lesson" not in out.split("what next")[0]  # the ending is the only pointer
    assert "the next lesson" not in out  # the text names the chat room's lesson itself
    assert "lesson 7" in out
    out = invoke("learn", "chat-room").stdout
    assert "next: wsquiz quiz messages" in out


def test_the_bundled_course_validates() -> None:
    assert validate_course(ROOT) == []


def test_the_new_lesson_section_and_questions_tell_the_two_exceptions_apart() -> None:
    out = invoke("learn", "closing").stdout
    assert "WebSocketDisconnect and WebSocketDisconnected" in out
    assert "Starlette 1.7.0" in out
    assert "run it: wsquiz run used_after_close --path /after-close" in out
    ids = load_course(ROOT).quiz("messages").ids
    assert {"disconnect-or-disconnected", "client-left-exception"} <= set(ids)


# ---- a course with a question asked before its lesson ---------------------------------------


def test_validate_flags_a_question_whose_lesson_comes_after_its_quiz() -> None:
    result = invoke("validate", str(MISORDERED))
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert (
        'quizzes/01-early.toml: question "taught-after": its lesson "later" comes after quiz '
        '"early" in the course'
    ) in out
    assert 'fix: link the quiz from that lesson or a later one (quiz = "early"' in out
    assert 'question "no-such-lesson": no lesson named "lastt" (did you mean "last"?)' in out
    for fine in ("taught-before", "named-in-capitals", "taught-by-the-last"):
        assert f'"{fine}"' not in out, fine
    assert "2 problems in" in out


def test_validate_json_locates_the_order_problem() -> None:
    result = invoke("validate", str(MISORDERED), "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    flagged = next(p for p in problems if p["where"] == 'question "taught-after"')
    assert flagged["file"] == "quizzes/01-early.toml"
    assert flagged["key"] == "lesson"
    assert flagged["fix"]


def test_next_is_the_first_unfinished_step_whatever_was_done_last() -> None:
    assert next_of(MISORDERED) == {
        "kind": "lesson",
        "name": "intro",
        "command": "wsquiz learn intro",
    }
    invoke("learn", "later", "--content", str(MISORDERED))  # went ahead
    assert next_of(MISORDERED)["command"] == "wsquiz learn intro"
    out = invoke("--content", str(MISORDERED)).stdout
    assert "next: wsquiz learn intro" in out
    invoke("learn", "intro", "--content", str(MISORDERED))
    assert next_of(MISORDERED)["command"] == "wsquiz quiz early"
    with Progress() as progress:
        for question in load_course(MISORDERED).quiz("early").ids:
            progress.record_answer("early", question, "A", True)
    assert next_of(MISORDERED)["command"] == "wsquiz learn last"


def test_a_lesson_ending_points_along_the_course_and_back_to_what_was_skipped() -> None:
    out = invoke("learn", "intro", "--content", str(MISORDERED)).stdout
    assert "next: wsquiz quiz early" in out
    assert "next lesson: wsquiz learn later" in out
    assert "not done yet" not in out
    out = invoke("learn", "Last", "--content", str(MISORDERED)).stdout
    assert "next: wsquiz quiz late" in out
    assert "next lesson" not in out  # the last lesson
    assert "not done yet, earlier: wsquiz quiz early" in " ".join(out.split())


# ---- names, whatever their case -------------------------------------------------------------


def test_quiz_lesson_exercise_and_example_names_ignore_case(tmp_path: Path) -> None:
    result = invoke("quiz", "Basics", "--key", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["quiz"] == "basics"
    result = invoke("learn", "Receive-Loop")
    assert result.exit_code == 0, result.output
    assert "The receive loop" in result.stdout
    result = invoke("exercise", "start", "Echo-Loop", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "echo-loop.py").is_file()
    assert find_example("Receive_Loop", ROOT) == ROOT / "lessons" / "examples" / "receive_loop.py"
    with Progress() as progress:
        progress.record_answer("basics", "echo-reply", "x", True)
    result = runner.invoke(app, ["reset", "BASICS", "--yes"])
    assert result.exit_code == 0, result.output
    assert "forgot your 1 answer(s) to quiz basics" in result.stdout


# ---- 60 columns -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["progress"]], ids=["welcome", "progress"])
def test_at_60_columns_every_line_fits_and_no_name_is_split(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    invoke("learn", "first-reply")
    with Progress() as progress:
        progress.record_exercise("echo-loop", False, 1, 3)
    result = invoke(*command)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 60, "\n".join(lines)
    words = set(re.findall(r"[a-z0-9][a-z0-9-]*", result.stdout))
    menu = json.loads(invoke("progress", "--json").stdout)
    for part in ("lessons", "quizzes", "exercises"):
        for step in menu[part]:
            assert step["name"] in words, step["name"]
    for line in lines:  # a name cut at a dash would leave one ending in "-"
        assert not re.search(r"[a-z]-\s*$", line), line


def test_one_exercise_state_in_progress_and_exercise_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # every cell on one line
    with Progress() as progress:
        progress.record_exercise("echo-loop", True, 3, 3)
        progress.record_exercise("echo-loop", False, 1, 3)
    state = "passed (latest check: 1/3 points)"
    data = json.loads(invoke("progress", "--json").stdout)
    echo = next(e for e in data["exercises"] if e["name"] == "echo-loop")
    assert echo["status"] == state and echo["passed"] and not echo["passed_latest"]
    assert state in invoke("progress").stdout
    assert state in " ".join(invoke("exercise", "list").stdout.split())
