"""`wsquiz` alone, `wsquiz progress` and `wsquiz reset`, as a learner sees them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support import FIXTURE, ROOT, load_lessons
from wsquiz.cli import app
from wsquiz.course.quizzes import load_course
from wsquiz.learn.progress import Progress

LESSONS = load_lessons(ROOT)
BASICS = load_course(ROOT).quiz("basics")
runner = CliRunner()


def invoke(*args: str, input: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=input)
    assert "Traceback" not in result.output
    return result


def progress_json() -> dict[str, Any]:
    result = invoke("progress", "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def answer(quiz: str, ids: tuple[str, ...], correct: bool = True) -> None:
    with Progress() as progress:
        for question_id in ids:
            progress.record_answer(quiz, question_id, "some answer", correct)


def test_a_new_learner_sees_the_course_in_order_and_where_to_start() -> None:
    result = invoke()
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Welcome!" in out and "checked against a real FastAPI server" in out
    for lesson in LESSONS:
        assert lesson.name in out
    for quiz in load_course(ROOT).quizzes:
        assert quiz.name in out
    assert f"new, {len(BASICS.ids)} questions" in out
    assert f"start here: wsquiz learn {LESSONS[0].name}" in out
    where = [out.index(f" {lesson.name} ") for lesson in LESSONS]
    assert where == sorted(where)


def test_after_some_answers_it_shows_progress_and_sends_back_to_the_first_unfinished_step() -> None:
    invoke("learn", LESSONS[0].name)
    answer("basics", BASICS.ids[:1], correct=True)
    answer("basics", BASICS.ids[1:2], correct=False)
    result = invoke()
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Welcome back: 1 of" in out
    assert f"2/{len(BASICS.ids)} answered, 1 right" in out
    # issue 14: "next" is the first unfinished step in course order, not the last one touched
    assert "next: wsquiz quiz handshake" in out
    assert "start here" not in out


def test_a_finished_quiz_sends_the_learner_to_the_step_after_it() -> None:
    answer("basics", BASICS.ids)
    data = progress_json()
    basics = next(q for q in data["quizzes"] if q["name"] == "basics")
    assert basics["done"] and basics["answered"] == basics["correct"] == len(BASICS.ids)
    assert data["next"]["command"] != "wsquiz quiz basics"
    out = invoke().stdout
    assert f"next: {data['next']['command']}" in out
    assert f"{len(BASICS.ids)}/{len(BASICS.ids)} answered" in out


def test_progress_json_for_a_new_learner() -> None:
    data = progress_json()
    assert data["store"] == str(Path(os.environ["WSQUIZ_HOME"]) / "progress.db")
    assert [lesson["name"] for lesson in data["lessons"]] == [le.name for le in LESSONS]
    assert not any(lesson["read"] for lesson in data["lessons"])
    quizzes = {q["name"]: q for q in data["quizzes"]}
    assert quizzes["basics"]["questions"] == len(BASICS.ids)
    assert quizzes["basics"]["answered"] == 0
    assert {"echo-loop", "count-messages", "chat-room"} <= {e["name"] for e in data["exercises"]}
    assert data["next"] == {
        "kind": "lesson",
        "name": LESSONS[0].name,
        "command": f"wsquiz learn {LESSONS[0].name}",
    }


def test_progress_counts_exercises_and_lessons() -> None:
    with Progress() as progress:
        progress.record_lesson("receive-loop")
        progress.record_exercise("count-messages", True, 2, 2)
        progress.record_exercise("echo-loop", False, 1, 3)
    data = progress_json()
    exercises = {e["name"]: e for e in data["exercises"]}
    assert exercises["echo-loop"]["status"] == "tried: 1/3 points"
    assert not exercises["echo-loop"]["passed"]
    assert exercises["count-messages"]["passed"] and exercises["count-messages"]["score"] == 2
    assert [le["name"] for le in data["lessons"] if le["read"]] == ["receive-loop"]
    # issue 14: the first unfinished step in course order, not the last thing done
    assert data["next"]["command"] == f"wsquiz learn {LESSONS[0].name}"
    human = invoke("progress").stdout
    assert "tried: 1/3 points" in human and "passed" in human and "2 of" in human


def test_reset_one_quiz_asks_first_and_no_keeps_everything() -> None:
    answer("basics", BASICS.ids[:2])
    answer("messages", ("disconnect-exception",))
    declined = invoke("reset", "basics", input="n\n")
    assert declined.exit_code == 0  # declining is the learner's choice, not a failure
    assert "Forget your 2 answer(s) to quiz basics?" in declined.stdout
    assert "Nothing reset." in declined.stdout
    with Progress() as progress:
        assert len(progress.answers("basics")) == 2
    agreed = invoke("reset", "basics", input="y\n")
    assert agreed.exit_code == 0
    assert "Reset: forgot your 2 answer(s) to quiz basics." in agreed.stdout
    with Progress() as progress:
        assert progress.answers("basics") == {}
        assert list(progress.answers("messages")) == ["disconnect-exception"]


def test_reset_everything_with_yes_does_not_ask() -> None:
    answer("basics", BASICS.ids[:1])
    invoke("learn", LESSONS[0].name)
    result = invoke("reset", "--yes")
    assert result.exit_code == 0
    assert "?" not in result.stdout
    assert "forgot all your progress" in result.stdout
    assert progress_json()["next"]["command"] == f"wsquiz learn {LESSONS[0].name}"


def test_reset_without_a_terminal_answer_changes_nothing() -> None:
    answer("basics", BASICS.ids[:1])
    result = invoke("reset")
    assert result.exit_code == 1
    assert "Nothing reset: no answer (add --yes to reset without asking)." in result.stdout
    with Progress() as progress:
        assert len(progress.answers("basics")) == 1


def test_reset_an_unknown_quiz_suggests_the_right_one() -> None:
    result = invoke("reset", "basix", "--yes")
    assert result.exit_code == 2
    assert "no quiz named 'basix'" in result.stderr
    assert "did you mean 'basics'?" in result.stderr


def test_reset_with_nothing_recorded_says_so() -> None:
    result = invoke("reset", "--yes")
    assert result.exit_code == 0
    assert "Nothing to reset" in result.stdout


def test_the_welcome_screen_survives_a_broken_course_and_says_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "01-intro.md").write_text('+++\ntitel = "Intro"\n+++\n')
    monkeypatch.setenv("WSQUIZ_CONTENT", str(tmp_path))
    result = invoke()
    assert result.exit_code == 0, result.output
    flat = " ".join(result.stdout.split())
    assert 'warning: lesson "intro" cannot be used: lessons/01-intro.md: front matter:' in flat
    assert 'unknown key "titel" (did you mean "title"?)' in flat
    assert "empty" not in result.stdout  # it is not: its one lesson has a mistake
    assert "Nothing in this course can be used yet" in result.stdout
    assert "wsquiz validate" in result.stdout


def test_the_welcome_screen_with_a_corrupt_store_moves_it_and_goes_on() -> None:
    store = Path(os.environ["WSQUIZ_HOME"]) / "progress.db"
    store.write_bytes(b"\x00garbage" * 100)
    result = invoke()
    assert result.exit_code == 0
    assert f"{store} was unreadable" in result.stderr
    assert "Welcome!" in result.stdout


def test_importing_the_cli_loads_no_server_stack() -> None:
    code = (
        "import sys, wsquiz.cli; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'pydantic', 'starlette') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_content_before_any_command_picks_the_course() -> None:
    fixture = FIXTURE
    result = invoke("--content", str(fixture))
    assert result.exit_code == 0, result.output
    assert " mini " in result.stdout and " basics " not in result.stdout
    result = invoke("--content", str(fixture), "quiz", "--list", "--json")
    assert result.exit_code == 0, result.output
    assert [q["name"] for q in json.loads(result.stdout)["quizzes"]] == ["mini"]
    result = invoke("--content", str(fixture / "nope"))
    assert result.exit_code == 2
    assert "no such course folder" in result.stderr
    assert "fix: point --content at a folder" in result.stderr
    a_file = next(fixture.rglob("*.toml"))
    result = invoke("--content", str(a_file), "quiz", "--list")
    assert result.exit_code == 2
    assert f"{a_file} is a file: a course is a folder" in result.stderr


def test_the_next_step_leads_the_screen_and_a_lesson_s_exercises_share_a_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    lines = invoke().stdout.splitlines()
    start = f"start here: wsquiz learn {LESSONS[0].name}"
    assert start in "\n".join(lines[:8])  # seen before the list scrolls it away
    assert start in "\n".join(lines[-6:])  # and still where the list ends
    linked = next(lesson for lesson in LESSONS if len(lesson.exercises) >= 2)
    row = next(line for line in lines if linked.exercises[0] in line)
    assert row.split()[0] == "exercises" and f"{linked.exercises[0]} · " in row
    assert all(len(line) <= 80 for line in lines)
