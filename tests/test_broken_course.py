"""A teacher's course with a mistake in one file: the rest stays usable, the mistake is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wsquiz.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


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


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


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
