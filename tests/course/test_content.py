"""The quiz format: the bundled course loads, and every problem is named with file, id, key, fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import FIXTURE, ROOT
from wsquiz.cli import app
from wsquiz.course.quizzes import load_course
from wsquiz.course.validation import validate_course
from wsquiz.errors import UsageError

runner = CliRunner()


def course_copy(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(FIXTURE, target)
    return target


def write_quiz(root: Path, text: str) -> Path:
    path = root / "quizzes" / "01-mini.toml"
    path.write_text(text, encoding="utf-8")
    return path


def validate(root: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", str(root), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_bundled_course_is_valid() -> None:
    assert validate_course(ROOT) == []
    course = load_course(ROOT)
    ids = [q.id for quiz in course.quizzes for q in quiz.questions]
    assert len(ids) == len(set(ids))
    for seed in (
        "connection-open",
        "echo-reply",
        "accept-receive-syntax",
        "count-messages",
        "receive-after-close",
        "first-call",
        "disconnect-exception",
    ):
        assert seed in ids
    for quiz in course.quizzes:
        for question in quiz.questions:
            for path in question.apps:
                assert path.is_file(), (question.id, path)


def test_quizzes_are_ordered_and_named_by_prefix(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    second = root / "quizzes" / "02-second.toml"
    text = (root / "quizzes" / "01-mini.toml").read_text().replace('id = "mini-', 'id = "two-')
    second.write_text(text)
    (root / "quizzes" / "10-tenth.toml").write_text(text.replace('id = "two-', 'id = "ten-'))
    course = load_course(root)
    assert [q.name for q in course.quizzes] == ["mini", "second", "tenth"]
    assert course.quiz("second").questions[0].id == "two-shout"


def test_unknown_quiz_names_the_available_ones() -> None:
    course = load_course(FIXTURE)
    with pytest.raises(UsageError) as caught:
        course.quiz("minni")
    assert 'did you mean "mini"' in str(caught.value)


def test_fixture_course_validates(tmp_path: Path) -> None:
    code, output = validate(FIXTURE)
    assert code == 0, output
    assert "ok: 1 quiz, 3 questions" in output


def test_unknown_key_with_suggestion(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    path.write_text(
        path.read_text().replace('answer = { from = "reply" }', 'anwser = { from = "reply" }')
    )
    code, output = validate(root)
    assert code == 1
    assert 'quizzes/01-mini.toml: question "mini-shout": unknown key "anwser" ' in output
    assert '(did you mean "answer"?)' in output
    assert "fix:" in output
    assert "Traceback" not in output


def test_bad_values_are_named_with_suggestions(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    text = path.read_text().replace('kind = "predict"', 'kind = "predcit"')
    text = text.replace('of = "close_code", says', 'of = "close_cod", says')
    path.write_text(text)
    code, output = validate(root)
    assert code == 1
    assert 'kind = "predcit" is not allowed (did you mean "predict"?)' in output
    assert 'claims[0].of = "close_cod" is not allowed (did you mean "close_code"?)' in output


def test_missing_app_file(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    path.write_text(path.read_text().replace('app = "shout.py"', 'app = "shuot.py"', 1))
    code, output = validate(root)
    assert code == 1
    assert 'question "mini-shout": app file "shuot.py" not found in apps/' in output
    assert '(did you mean "shout.py"?)' in output


def test_bad_scenario(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    text = path.read_text().replace(
        '{ send = "hi" }, { receive = 1 }', '{ sned = "hi" }, { receive = 0 }', 1
    )
    path.write_text(text)
    code, output = validate(root)
    assert code == 1
    assert 'scenario step 2: unknown key "sned" (did you mean "send"?)' in output


def test_scenario_client_before_connect(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    text = path.read_text().replace('{ send = "hi" }', '{ send = "hi", client = "bob" }', 1)
    path.write_text(text)
    code, output = validate(root)
    assert code == 1
    assert "uses client 'bob' before it connects" in output


def test_kind_rules(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    text = path.read_text().replace("correct = true\n", "")
    text = text.replace('claim = { of = "close_code", is = 4000 }', "correct = true")
    path.write_text(text)
    code, output = validate(root)
    assert code == 1
    assert "a choice question's key is observed live, not stored" in output
    assert "a concept question needs exactly one option with correct = true (found 0)" in output


def test_invalid_toml_and_duplicate_ids(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    (root / "quizzes" / "02-broken.toml").write_text('title = "x"\n[[questions]\n')
    original = (root / "quizzes" / "01-mini.toml").read_text()
    (root / "quizzes" / "03-again.toml").write_text(original)
    code, output = validate(root)
    assert code == 1
    assert "quizzes/02-broken.toml: not valid TOML" in output
    assert 'id "mini-shout" is already used in quizzes/01-mini.toml' in output


def test_validate_json(tmp_path: Path) -> None:
    import json

    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    path.write_text(path.read_text().replace("hint =", "hnit =", 1))
    result = runner.invoke(app, ["validate", str(root), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    problem = data["problems"][0]
    assert problem["file"] == "quizzes/01-mini.toml"
    assert problem["where"] == 'question "mini-shout"'
    assert problem["key"] == "hnit"
    assert "hint" in problem["message"]


def test_bundled_course_passes_live_validation() -> None:
    """What CI proves on the installed FastAPI, Starlette and uvicorn: no content is stale."""
    code, output = validate(ROOT, "--live")
    assert code == 0, output


def test_validate_missing_folder(tmp_path: Path) -> None:
    code, output = validate(tmp_path / "nowhere")
    assert code != 0
    assert "no such course folder" in output


def test_live_validation_flags_a_contradicted_claim(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    path.write_text(path.read_text().replace("says = 4000", "says = 1000"))
    code, output = validate(root)
    assert code == 0, output  # the format is fine; only the live server disagrees
    code, output = validate(root, "--live")
    assert code == 1
    flat = " ".join(output.split())
    assert 'question "mini-shout"' in flat
    assert 'the content claims close_code is "1000", but the server now shows "4000"' in flat
    assert "starlette" in flat


def test_live_validation_flags_choice_with_no_true_option(tmp_path: Path) -> None:
    root = course_copy(tmp_path)
    path = root / "quizzes" / "01-mini.toml"
    path.write_text(path.read_text().replace("is = 4000", "is = 4001"))
    code, output = validate(root, "--live")
    assert code == 1
    assert "no option's claim holds against the live server" in " ".join(output.split())


def test_the_worked_example_in_the_guide_works(tmp_path: Path) -> None:
    """docs/authoring.md's worked example, as written, validates live and has the stated key."""
    import json
    import re
    import textwrap

    guide = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    example = guide.split("## A worked example", 1)[1]
    blocks = re.findall(r"```(python|toml)\n(.*?)```", example, flags=re.S)
    code = {kind: textwrap.dedent(body) for kind, body in blocks}
    root = tmp_path / "course"
    (root / "quizzes" / "apps").mkdir(parents=True)
    (root / "quizzes" / "apps" / "close_custom.py").write_text(code["python"])
    (root / "quizzes" / "03-closing.toml").write_text(code["toml"])
    exit_code, output = validate(root, "--live")
    assert exit_code == 0, output
    result = runner.invoke(app, ["quiz", "closing", "--key", "--json", "--content", str(root)])
    assert result.exit_code == 0, result.output
    key = {q["id"]: q["answer"] for q in json.loads(result.output)["questions"]}
    assert key == {"close-custom-code": "4000", "close-who": "A"}
