"""`wsquiz quiz` for scripts and teachers: --list, --key, --answers, --record, --content."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support import FIXTURE, ROOT, invoke
from wsquiz.course.quizzes import load_course

QUIZZES = [q.name for q in load_course(ROOT).quizzes]


def key_of(name: str, *extra: str) -> dict[str, str]:
    code, output = invoke("quiz", name, "--key", "--json", *extra)
    assert code == 0, output
    data = json.loads(output)
    assert data["quiz"] == name
    return {row["id"]: row["answer"] for row in data["questions"]}


def test_list_json() -> None:
    code, output = invoke("quiz", "--list", "--json")
    assert code == 0
    data = json.loads(output)
    names = [q["name"] for q in data["quizzes"]]
    assert sorted(names) == sorted(QUIZZES)
    assert names[:2] == ["handshake", "basics"]  # in course order, as lessons 1 and 2 link them
    basics = next(q for q in data["quizzes"] if q["name"] == "basics")
    assert basics["questions"][:2] == ["connection-open", "echo-reply"]


def test_list_human() -> None:
    code, output = invoke("quiz", "--list")
    assert code == 0
    assert "basics" in output and "wsquiz quiz NAME" in output


@pytest.mark.parametrize("name", QUIZZES)
def test_key_then_answers_round_trip(name: str, tmp_path: Path) -> None:
    key = key_of(name)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(key))
    code, output = invoke("quiz", name, "--answers", str(answers), "--json")
    assert code == 0, output
    data = json.loads(output)
    assert data["quiz"] == name
    assert data["score"] == data["max_score"] == len(key)
    assert all(r["correct"] and r["answer"] == r["observed"] for r in data["results"])


def test_the_printed_key_and_results_are_answer_files_as_they_are(tmp_path: Path) -> None:
    code, printed = invoke("quiz", "basics", "--key", "--json")
    assert code == 0, printed
    key = tmp_path / "key.json"
    key.write_text(printed)
    code, output = invoke("quiz", "basics", "--answers", str(key), "--json")
    assert code == 0, output
    results = tmp_path / "results.json"
    results.write_text(output)
    code, again = invoke("quiz", "basics", "--answers", str(results), "--json")
    assert code == 0, again
    assert json.loads(again)["score"] == json.loads(output)["score"] == len(key_of("basics"))

    code, other = invoke("quiz", "closing", "--answers", str(key))
    assert code == 2
    assert "this answer sheet is for quiz 'basics', not 'closing'" in other

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"quiz": "basics", "questions": [{"id": "echo-reply"}]}))
    code, output = invoke("quiz", "basics", "--answers", str(broken))
    assert code == 2
    assert 'questions[0] is not an object with "id" and "answer"' in output


def test_wrong_answers_score_less_and_exit_1(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('"echo-reply" = "hello"\n"count-messages" = 3\n"first-call" = "c"\n')
    code, output = invoke("quiz", "basics", "--answers", str(answers), "--json")
    assert code == 1
    data = json.loads(output)
    results = {r["id"]: r for r in data["results"]}
    assert data["score"] == 2 and data["max_score"] == len(results)
    assert results["echo-reply"] == {
        "id": "echo-reply",
        "answer": "hello",
        "observed": "Message received: hello",
        "correct": False,
    }
    assert results["count-messages"]["correct"] and results["first-call"]["correct"]
    assert results["connection-open"]["answer"] == "" and not results["connection-open"]["correct"]


def test_answers_are_saved_unless_no_save(tmp_path: Path) -> None:
    from wsquiz.learn.progress import Progress

    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"mini-shout": "HI"}))
    code, _ = invoke(
        "quiz", "mini", "--content", str(FIXTURE), "--answers", str(answers), "--no-save"
    )
    assert code == 1
    with Progress() as progress:
        assert progress.answers("mini") == {}
    invoke("quiz", "mini", "--content", str(FIXTURE), "--answers", str(answers))
    with Progress() as progress:
        saved = progress.answers("mini")
    assert saved["mini-shout"].correct and saved["mini-shout"].answer == "HI"


def test_record_writes_an_answer_sheet(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"mini-shout": "HI", "mini-close": "b", "mini-concept": "A"}))
    sheet = tmp_path / "sheets" / "ada.json"
    code, output = invoke(
        "quiz",
        "mini",
        "--content",
        str(FIXTURE),
        "--answers",
        str(answers),
        "--record",
        str(sheet),
        "--json",
    )
    assert code == 0, output
    data = json.loads(sheet.read_text())
    assert data["quiz"] == "mini"
    assert data["answers"] == {"mini-shout": "HI", "mini-close": "b", "mini-concept": "A"}
    assert data["when"] and set(data["versions"]) >= {"fastapi", "starlette", "uvicorn"}
    # a recorded sheet is itself an answers file
    code, output = invoke(
        "quiz", "mini", "--content", str(FIXTURE), "--answers", str(sheet), "--json"
    )
    assert code == 0 and json.loads(output)["score"] == 3


def test_editing_an_app_changes_the_key(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course)
    before = key_of("mini", "--content", str(course))
    assert before["mini-shout"] == "HI" and before["mini-close"] == "B"
    app_file = course / "quizzes" / "apps" / "shout.py"
    text = app_file.read_text().replace("data.upper()", "data[::-1]")
    app_file.write_text(text.replace('await websocket.close(code=4000, reason="bye")\n', ""))
    after = key_of("mini", "--content", str(course))
    assert after["mini-shout"] == "ih"
    assert after["mini-close"] == "A"  # now the handler just returns: 1006
    assert after["mini-concept"] == before["mini-concept"]


def test_content_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSQUIZ_CONTENT", str(FIXTURE))
    code, output = invoke("quiz", "--list", "--json")
    assert code == 0
    assert [q["name"] for q in json.loads(output)["quizzes"]] == ["mini"]


def test_unknown_quiz(tmp_path: Path) -> None:
    code, output = invoke("quiz", "basic", "--key")
    assert code == 2  # unusable input, as for learn, run and exercise start
    assert 'no quiz named "basic" (did you mean "basics"?)' in output


def test_bad_answers_files(tmp_path: Path) -> None:
    code, output = invoke("quiz", "basics", "--answers", str(tmp_path / "none.json"))
    assert code == 2 and "no such answers file" in output
    bad = tmp_path / "bad.json"
    bad.write_text('{"echo-reply": "x",}')
    code, output = invoke("quiz", "basics", "--answers", str(bad))
    assert code == 2 and "not valid JSON (Expecting property name" in output, output
    assert "TOML" not in output.split("fix:")[0]  # a .json file is read as JSON only
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("echo-reply = \n")
    code, output = invoke("quiz", "basics", "--answers", str(bad_toml))
    assert code == 2 and "not valid TOML" in output
    neither = tmp_path / "answers.txt"
    neither.write_text("{not json")
    code, output = invoke("quiz", "basics", "--answers", str(neither))
    assert code == 2 and "neither JSON nor TOML" in output
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"echo-replay": "x"}))
    code, output = invoke("quiz", "basics", "--answers", str(unknown))
    assert code == 2
    assert "echo-replay" in output and "did you mean" in output
    assert "Traceback" not in output


def test_human_answers_report(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"mini-shout": "hi"}))
    code, output = invoke(
        "quiz", "mini", "--content", str(FIXTURE), "--answers", str(answers), "--no-save"
    )
    assert code == 1
    assert "HI" in output and "score: 0/3" in output


def test_option_text_is_an_answer_too(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(
        json.dumps({"mini-close": "The server closes with code 4000", "mini-concept": "a"})
    )
    code, output = invoke(
        "quiz", "mini", "--content", str(FIXTURE), "--answers", str(answers), "--json", "--no-save"
    )
    assert code == 1  # mini-shout is not answered
    results = {r["id"]: r["correct"] for r in json.loads(output)["results"]}
    assert results == {"mini-shout": False, "mini-close": True, "mini-concept": True}


def test_conflicting_options() -> None:
    code, output = invoke("quiz", "basics", "--json")
    assert code == 2 and "--json needs --list, --key or --answers" in output


@pytest.mark.parametrize(
    "args",
    [
        ["quiz", "nope"],
        ["grade", ".", "--quiz", "nope"],
        ["classroom", "host", "--quiz", "nope", "--plain", "--port", "0"],
        ["learn", "nope"],
        ["exercise", "start", "nope"],
        ["reset", "nope", "--yes"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_name_that_is_not_in_the_course_is_unusable_input(args: list[str]) -> None:
    code, output = invoke(*args)
    assert code == 2, output
    assert "nope" in output


def test_an_unknown_name_lists_the_others_in_course_order() -> None:
    code, listed = invoke("quiz", "--list", "--json")
    order = [q["name"] for q in json.loads(listed)["quizzes"]]
    code, output = invoke("quiz", "nope")
    assert code == 2
    assert f"the quizzes are: {', '.join(order)}" in " ".join(output.split())
    code, exercises = invoke("exercise", "list", "--json")
    names = [e["name"] for e in json.loads(exercises)["exercises"]]
    code, unknown = invoke("exercise", "start", "nope")
    assert code == 2
    assert f"(available: {', '.join(names)})" in " ".join(unknown.split())


def every_command(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in getattr(group, "commands", {}).items():
        found.append((*path, name))
        found += every_command(command, (*path, name))
    return found


def test_usage_lines_are_plain_and_completion_is_on() -> None:
    import typer

    from wsquiz.cli import app

    commands = every_command(typer.main.get_command(app))
    assert ("watch",) in commands and ("quiz",) in commands
    for command in commands:
        code, output = invoke(*command, "--help")
        assert code == 0, (command, output)
        usage = output.splitlines()[0]
        assert "{" not in usage and "}" not in usage, usage
        assert not any(
            word.islower() and word.isalpha() for word in usage.split()[2 + len(command) :]
        ), usage
    code, output = invoke("check", "--help")
    assert output.startswith("Usage: wsquiz check [OPTIONS] FILE")
    code, output = invoke("--help")
    assert "--install-completion" in output and "--show-completion" in output
    code, script = invoke("--show-completion", "bash")
    assert code == 0 and "_wsquiz_completion" in script


def test_retry_wrong_is_for_the_interactive_quiz_with_progress() -> None:
    for extra in (["--no-save"], ["--key"]):
        code, output = invoke("quiz", "mini", "--content", str(FIXTURE), "--retry-wrong", *extra)
        assert code == 2, output
        assert "--retry-wrong is for the interactive quiz, with progress saved" in output
