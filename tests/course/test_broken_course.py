"""A teacher's course with a mistake in one file: the rest stays usable, the mistake is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support import ROOT, flat, invoke, load_lessons


@pytest.fixture()
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled course with a misspelt key in its first quiz (`hint` written `hnit`)."""
    root = tmp_path / "course"
    for part in ("lessons", "quizzes", "exercises"):
        shutil.copytree(ROOT / part, root / part)
    basics = root / "quizzes" / "01-basics.toml"
    text = basics.read_text(encoding="utf-8")
    assert "\nhint =" in text
    basics.write_text(text.replace("\nhint =", "\nhnit =", 1), encoding="utf-8")
    monkeypatch.setenv("WSQUIZ_CONTENT", str(root))
    return root


def test_the_welcome_screen_keeps_the_good_quizzes_and_flags_the_broken_one(course: Path) -> None:
    code, out = invoke()
    assert code == 0, out
    assert " messages " in out and " closing " in out
    assert 'warning: quiz "basics" cannot be used: quizzes/01-basics.toml' in out
    assert 'unknown key "hnit" (did you mean "hint"?)' in " ".join(out.split())
    assert "wsquiz validate" in out
    assert "empty" not in out


def test_the_other_quizzes_can_be_taken(course: Path) -> None:
    code, out = invoke("quiz", "closing", "--key", "--json")
    assert code == 0, out
    assert json.loads(out)["quiz"] == "closing"
    code, out = invoke("quiz", "--list", "--json")
    assert code == 0, out
    names = [q["name"] for q in json.loads(out)["quizzes"]]
    assert "closing" in names and "basics" not in names


def test_the_broken_quiz_reports_its_own_problems(course: Path) -> None:
    code, out = invoke("quiz", "basics")
    assert code == 1
    assert 'quiz "basics" cannot be used' in out
    assert 'unknown key "hnit"' in out
    assert "wsquiz validate" in out


def test_progress_lists_the_rest_too(course: Path) -> None:
    code, out = invoke("progress", "--json")
    assert code == 0, out
    names = [q["name"] for q in json.loads(out)["quizzes"]]
    assert "messages" in names and "basics" not in names


def test_a_course_where_nothing_loads_is_not_called_empty(tmp_path: Path) -> None:
    root = tmp_path / "course"
    (root / "quizzes").mkdir(parents=True)
    (root / "quizzes" / "01-only.toml").write_text('title = "x"\nquestions = [\n', "utf-8")
    code, out = invoke("progress", "--content", str(root))
    assert code == 0, out
    assert "empty" not in out
    assert 'quiz "only" cannot be used' in out and "not valid TOML" in out


def test_validate_words_lessons_exercises_and_quizzes_alike(course: Path) -> None:
    lesson = next((course / "lessons").glob("02-*.md"))
    lesson.write_text(lesson.read_text().replace("\nexercises =", "\nexercizes =", 1))
    exercise = next((course / "exercises").glob("01-*/exercise.toml"))
    exercise.write_text(exercise.read_text().replace("\npoints =", "\npionts =", 1))
    code, out = invoke("validate", str(course))
    assert code == 1
    text = " ".join(out.split())
    assert (
        f'lessons/{lesson.name}: front matter: unknown key "exercizes" (did you mean "exercises"?)'
    ) in text
    assert f"exercises/{exercise.parent.name}/exercise.toml: check " in text
    assert 'unknown key "pionts" (did you mean "points"?)' in text
    assert 'unknown key "hnit" (did you mean "hint"?)' in text
    assert str(course) + "/exercises" not in text  # every file named from the course folder
    assert text.count("fix: the keys allowed here are:") == 3


def test_a_missing_quiz_app_suggests_the_closest_files_not_all(course: Path) -> None:
    basics = course / "quizzes" / "01-basics.toml"
    basics.write_text(basics.read_text().replace('"echo_once.py"', '"echo_onse.py"', 1))
    code, out = invoke("validate", str(course))
    assert code == 1
    fix = next(line for line in out.splitlines() if "create quizzes/apps/echo_onse.py" in line)
    assert '"echo_once.py"' in fix
    assert fix.count(".py") <= 3, fix


# ---- a mistake in one lesson or one exercise, the course passed with --content ----------------


@pytest.fixture()
def copied(tmp_path: Path) -> Path:
    """The bundled course, copied whole, to be broken by each test."""
    root = tmp_path / "copied"
    for part in ("lessons", "quizzes", "exercises"):
        shutil.copytree(ROOT / part, root / part)
    return root


def test_a_misspelt_key_in_one_lesson_leaves_the_other_lessons_usable(copied: Path) -> None:
    lesson = copied / "lessons" / "03-message-types.md"
    lesson.write_text(lesson.read_text().replace("\ntitle =", "\ntitel =", 1))
    flagged = (
        'lesson "message-types" cannot be used: lessons/03-message-types.md: front matter: '
        'unknown key "titel" (did you mean "title"?)'
    )
    code, out = invoke("--content", str(copied))
    assert code == 0, out
    assert " first-reply " in out and " receive-loop " in out
    assert f"warning: {flagged}" in flat(out)
    assert f"details and fixes: wsquiz validate {copied}" in flat(out)
    assert "(and 1 more)" not in out  # the title it leaves missing is the same mistake
    # in its place, flagged: the exercises it links stay under it, not under the lesson before
    assert "lesson message-types message-types cannot be used exercises bytes-echo" in flat(out)

    code, out = invoke("--content", str(copied), "learn", "1")
    assert code == 0, out
    assert "What a WebSocket is" in out
    code, out = invoke("--content", str(copied), "learn")
    assert code == 0, out
    assert " receive-loop " in out and f"warning: {flagged}" in flat(out)

    code, out = invoke("--content", str(copied), "learn", "3")
    assert code == 1
    assert 'lesson "message-types" cannot be used: 1 problem in lessons/03-message-types.md' in out
    assert 'unknown key "titel" (did you mean "title"?)' in out
    assert "fix: the keys allowed here are: title, examples, quiz, exercises, paths" in out
    assert "the other lessons work meanwhile" in out

    code, out = invoke("validate", str(copied))
    assert code == 1
    assert 'lessons/03-message-types.md: front matter: unknown key "titel"' in flat(out)


def test_a_missing_file_in_one_exercise_leaves_the_other_exercises_usable(copied: Path) -> None:
    (copied / "exercises" / "02-count-messages" / "solution.py").unlink()
    flagged = (
        'exercise "count-messages" cannot be used: '
        "exercises/02-count-messages: solution.py is missing"
    )
    code, out = invoke("--content", str(copied))
    assert code == 0, out
    assert "echo-loop" in out and "chat-room" in out
    assert f"warning: {flagged}" in flat(out)
    assert f"details and fixes: wsquiz validate {copied}" in flat(out)

    code, out = invoke("--content", str(copied), "exercise", "list")
    assert code == 0, out
    assert " echo-loop " in out and " count-messages " not in out
    assert f"warning: {flagged}" in flat(out)
    code, out = invoke("--content", str(copied), "exercise", "list", "--json")
    names = [e["name"] for e in json.loads(out)["exercises"]]
    assert "echo-loop" in names and "count-messages" not in names

    code, out = invoke("--content", str(copied), "exercise", "start", "count-messages")
    assert code == 1
    assert (
        'exercise "count-messages" cannot be used: 1 problem in exercises/02-count-messages/'
        in (out)
    )
    assert "fix: an exercise folder holds exercise.toml, starter.py, solution.py" in out

    code, out = invoke("validate", str(copied))
    assert code == 1
    assert "exercises/02-count-messages: solution.py is missing" in flat(out)


def test_quiz_and_exercise_lists_follow_the_course_order_of_the_menu() -> None:
    code, out = invoke("progress", "--json")
    assert code == 0, out
    menu = json.loads(out)
    quizzes = [q["name"] for q in menu["quizzes"]]
    exercises = [e["name"] for e in menu["exercises"]]
    assert quizzes[:2] == ["handshake", "basics"]  # linked by lessons 1 and 2
    assert exercises[0] == "count-messages"  # linked by lesson 2

    code, out = invoke("quiz", "--list", "--json")
    assert [q["name"] for q in json.loads(out)["quizzes"]] == quizzes
    code, out = invoke("quiz", "--list")
    assert sorted(quizzes, key=lambda name: out.index(f" {name} ")) == quizzes
    code, out = invoke("exercise", "list", "--json")
    assert [e["name"] for e in json.loads(out)["exercises"]] == exercises
    code, out = invoke("exercise", "list")
    assert sorted(exercises, key=lambda name: out.index(f" {name} ")) == exercises


def test_what_no_lesson_links_comes_last_by_its_number(copied: Path) -> None:
    shutil.rmtree(copied / "lessons")
    (copied / "lessons").mkdir()
    (copied / "lessons" / "01-only.md").write_text(
        '+++\ntitle = "Only"\nquiz = "closing"\nexercises = ["chat-room"]\n+++\nText.\n'
    )
    code, out = invoke("--content", str(copied), "quiz", "--list", "--json")
    assert code == 0, out
    names = [q["name"] for q in json.loads(out)["quizzes"]]
    assert names[:4] == ["closing", "basics", "messages", "handshake"]
    code, out = invoke("--content", str(copied), "exercise", "list", "--json")
    assert code == 0, out
    names = [e["name"] for e in json.loads(out)["exercises"]]
    assert names[:3] == ["chat-room", "echo-loop", "count-messages"]


def test_validate_given_a_file_or_a_missing_folder_speaks_of_the_argument(tmp_path: Path) -> None:
    sheet = tmp_path / "ans.json"
    sheet.write_text("{}")
    code, out = invoke("validate", str(sheet))
    assert code == 2
    assert f"error: {sheet} is a file: a course is a folder" in flat(out)
    assert "give `wsquiz validate` the course folder" in flat(out)
    code, out = invoke("validate", str(tmp_path / "nosuchdir"))
    assert code == 2
    assert f"error: {tmp_path / 'nosuchdir'}: no such course folder" in flat(out)
    assert "give `wsquiz validate` the course folder" in flat(out)
    assert "--content" not in out and "WSQUIZ_CONTENT" not in out


def test_learn_a_number_past_the_last_lesson_says_how_they_are_numbered() -> None:
    last = max(lesson.number for lesson in load_lessons(ROOT))
    code, out = invoke("learn", "99")
    assert code == 2
    assert f"no lesson numbered 99: the lessons are numbered 1 to {last}" in out
    assert "no lesson named" not in out


def test_validate_names_the_key_of_a_missing_lesson_title(copied: Path) -> None:
    lesson = copied / "lessons" / "03-message-types.md"
    text = lesson.read_text()
    lesson.write_text("\n".join(line for line in text.split("\n") if not line.startswith("title")))
    code, out = invoke("validate", str(copied))
    assert code == 1
    assert "lessons/03-message-types.md: front matter: title is missing or empty" in out
