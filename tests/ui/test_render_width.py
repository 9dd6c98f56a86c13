"""At an 80-column terminal every bundled file is shown as it reads, a source line to a row;
where a line cannot fit (a course's own code, a narrower terminal) it goes on at its own
indentation; a long quiz option goes on under its text, not under its letter."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.support import ROOT, load_lessons
from wsquiz.cli import app
from wsquiz.course.exercises import Exercise, load_exercises
from wsquiz.course.lessons import Lesson
from wsquiz.course.quizzes import Question, load_quizzes
from wsquiz.ui.check import statement_view
from wsquiz.ui.code import code_panel
from wsquiz.ui.quiz import option_line, question_view

LESSONS = load_lessons(ROOT)
QUIZZES = load_quizzes(ROOT)[0]
QUESTIONS = {q.id: q for quiz in QUIZZES for q in quiz.questions}
EXERCISES = load_exercises(ROOT)
runner = CliRunner()


def apps_of(question: Question) -> list[Path]:
    return [p for p in (question.app, *(o.app for o in question.options)) if p is not None]


def code_files() -> list[Path]:
    """Every file a learner is shown or given: examples, quiz apps, starters, solutions."""
    files = {path for lesson in LESSONS for path in lesson.examples.values()}
    files |= {path for q in QUESTIONS.values() for path in apps_of(q)}
    files |= {path for e in EXERCISES for path in (e.starter, e.solution)}
    return sorted(files)


def rendered(renderable: object, width: int = 80) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def rows_of(out: str) -> list[str]:
    """The code rows of a panel: what is between its side borders."""
    return [line[2:-2] for line in out.splitlines() if line.startswith("│")]


def assert_a_row_per_line(source: str, out: str) -> None:
    """Each source line is one row: its number, then the line whole, indentation and all."""
    rows = rows_of(out)
    lines = source.rstrip("\n").splitlines()
    assert len(rows) == len(lines), "\n".join(rows)
    width = len(str(len(lines)))
    for number, (line, row) in enumerate(zip(lines, rows, strict=True), 1):
        assert row.rstrip() == f"  {number:>{width}} {line}".rstrip(), (number, row)


def fenced(markdown: str) -> list[str]:
    return [
        line
        for block in re.findall(r"```[^\n]*\n(.*?)```", markdown, re.S)
        for line in block.splitlines()
        if line.strip()
    ]


@pytest.fixture
def at_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


@pytest.mark.parametrize("path", code_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shown_file_fits_an_80_column_panel_a_line_to_a_row(path: Path) -> None:
    assert_a_row_per_line(path.read_text(encoding="utf-8"), rendered(code_panel(path)))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.name)
@pytest.mark.usefixtures("at_80")
def test_wsquiz_learn_at_80_columns_shows_every_example_line_whole(lesson: Lesson) -> None:
    result = runner.invoke(app, ["learn", lesson.name])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    for path in lesson.examples.values():
        lines = path.read_text(encoding="utf-8").rstrip("\n").splitlines()
        width = len(str(len(lines)))
        for number, line in enumerate(lines, 1):
            assert f"│   {number:>{width}} {line}".rstrip() in out, (path.name, number)
    for line in fenced(lesson.path.read_text(encoding="utf-8")):
        assert line.rstrip() in out, line


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_every_question_at_80_columns_shows_its_code_a_line_to_a_row(qid: str) -> None:
    question = QUESTIONS[qid]
    out = rendered(question_view(question, 1, 1))
    for path in apps_of(question):
        lines = path.read_text(encoding="utf-8").rstrip("\n").splitlines()
        width = len(str(len(lines)))
        for number, line in enumerate(lines, 1):
            assert f"│   {number:>{width}} {line}".rstrip() in out, (path.name, number)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_every_exercise_statement_at_80_columns_keeps_its_code_lines_whole(
    exercise: Exercise,
) -> None:
    out = rendered(statement_view(exercise))
    for line in fenced(exercise.statement):
        assert line.rstrip() in out, line


LONG = (
    "def handler(websocket):\n"
    "    if True:\n"
    "        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason='no')\n"
    "    return None\n"
)


def test_a_line_too_long_goes_on_at_its_own_indentation_behind_a_mark(tmp_path: Path) -> None:
    path = tmp_path / "long.py"
    path.write_text(LONG)
    rows = rows_of(rendered(code_panel(path), width=60))
    assert rows[2].startswith("  3         raise WebSocketException(")
    continued = [row for row in rows[3:] if not row.strip().startswith(("4", "return"))]
    assert continued and all(row.startswith("            ↪ ") for row in continued), rows
    assert "".join(row.split("↪ ", 1)[1].strip() + " " for row in continued).strip() == (
        "code=status.WS_1008_POLICY_VIOLATION, reason='no')"
    )
    assert rows[-1].rstrip() == "  4     return None"


def test_learn_at_a_narrow_terminal_keeps_the_indentation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    result = runner.invoke(app, ["learn", "request-data"])
    assert result.exit_code == 0, result.output
    rows = rows_of(result.stdout)
    continued = 0
    for index, row in enumerate(rows):
        if "↪" not in row:
            continue
        continued += 1
        line = next(r for r in reversed(rows[:index]) if "↪" not in r)[5:]
        indent = len(line) - len(line.lstrip())
        assert row.index("↪") == 5 + indent, (line, row)
    assert continued


def test_markdown_code_blocks_wrap_at_their_own_indentation() -> None:
    from wsquiz.ui.markdown import CourseMarkdown

    text = "Say:\n\n```python\nif ready:\n    send(a_long_argument, another_long_one, more)\n```\n"
    out = rendered(CourseMarkdown(text), width=40)
    lines = [line.rstrip() for line in out.splitlines() if line.strip()]
    assert "     send(a_long_argument," in lines
    assert "     ↪ another_long_one, more)" in lines


@pytest.mark.usefixtures("at_80")
def test_a_long_option_goes_on_under_its_text() -> None:
    result = runner.invoke(app, ["quiz", "basics"], input="q\n")
    out = result.stdout
    question = next(iter(QUIZZES[0].questions))
    option = next(o for o in question.options if len(o.text) > 80)
    start = out.index(f"  {option.letter}) {option.text.split()[0]}")
    first, second = out[start:].splitlines()[:2]
    assert first.startswith(f"  {option.letter}) ")
    assert second.startswith(" " * 5) and second[5] != " ", (first, second)
    assert option.text.startswith(first[5:].rstrip() + " " + second.strip().split()[0])


def test_option_line_hangs_under_its_text_in_any_style() -> None:
    text = "The server answers with 403 and the client never sees a close frame at all"
    out = rendered(option_line("B", text, "dim"), width=40).splitlines()
    assert out[0].startswith("  B) The server")
    assert all(line.startswith("     ") and line[5] != " " for line in out[1:]), out
    assert " ".join(line.strip() for line in out).replace("B) ", "", 1) == text
