"""Drift between stacks: two recorded validations compared, claims bounded to some stacks, answer
sheets graded on another stack, the quote panel naming the package that printed the text."""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support import ROOT
from wsquiz.cli import app
from wsquiz.engine import stack
from wsquiz.learn.drift import compare

runner = CliRunner()
HAS_WSPROTO = find_spec("wsproto") is not None


def _record(ws: str, questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": 1,
        "stack": {"fastapi": "0.133.0", "starlette": "1.7.0", "uvicorn": "0.52.1", "ws": ws},
        "questions": questions,
    }


def test_compare_lists_each_changed_answer_and_claim() -> None:
    claim = {"claim": 'server_error is "ProtocolError"', "holds": True, "observed": "ProtocolError"}
    old = _record(
        "websockets-sansio",
        [
            {"id": "closing/close-long-reason", "answer": "1006", "claims": [claim]},
            {"id": "closing/close-default-code", "answer": "1000", "claims": []},
            {"id": "closing/gone", "answer": "1", "claims": []},
        ],
    )
    new = _record(
        "wsproto",
        [
            {
                "id": "closing/close-long-reason",
                "answer": "1000",
                "claims": [{**claim, "holds": False, "observed": "none"}],
            },
            {"id": "closing/close-default-code", "answer": "1000", "claims": []},
            {"id": "closing/new", "answer": "2", "claims": []},
        ],
    )
    found = [c.to_dict() for c in compare(old, new)]
    assert found == [
        {"id": "closing/close-long-reason", "what": "answer", "old": "1006", "new": "1000"},
        {
            "id": "closing/close-long-reason",
            "what": 'server_error is "ProtocolError"',
            "old": "holds (observed 'ProtocolError')",
            "new": "fails (observed 'none')",
        },
        {"id": "closing/new", "what": "question", "old": "(not recorded)", "new": "2"},
        {"id": "closing/gone", "what": "question", "old": "1", "new": "(not recorded)"},
    ]
    assert compare(new, new) == []


@pytest.fixture
def closing_course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    (course / "quizzes").mkdir(parents=True)
    shutil.copy(ROOT / "quizzes" / "04-closing.toml", course / "quizzes")
    shutil.copytree(ROOT / "quizzes" / "apps", course / "quizzes" / "apps")
    # the quiz's lesson, without the exercises this small course does not hold
    (course / "lessons").mkdir()
    shutil.copytree(ROOT / "lessons" / "examples", course / "lessons" / "examples")
    lesson = (ROOT / "lessons" / "05-closing.md").read_text(encoding="utf-8")
    kept = [line for line in lesson.splitlines() if not line.startswith("exercises = ")]
    (course / "lessons" / "05-closing.md").write_text("\n".join(kept) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["validate", str(course)]).exit_code == 0
    return course


@pytest.mark.skipif(not HAS_WSPROTO, reason="wsproto is not installed (pip install wsproto)")
def test_validate_records_and_compares_two_stacks(closing_course: Path, tmp_path: Path) -> None:
    first = tmp_path / "sansio.json"
    try:
        made = runner.invoke(
            app,
            [
                "validate",
                str(closing_course),
                "--live",
                "--ws",
                "websockets-sansio",
                "--record",
                str(first),
            ],
        )
        assert made.exit_code == 0, made.output
        record = json.loads(first.read_text())
        assert record["stack"]["ws"] == "websockets-sansio"
        assert record["stack"]["uvicorn"] == version("uvicorn")
        rows = {row["id"]: row for row in record["questions"]}
        assert rows["closing/close-long-reason"]["answer"] == "1006"
        assert all(c["holds"] is not False for row in rows.values() for c in row["claims"])

        same = runner.invoke(
            app, ["validate", str(closing_course), "--live", "--against", str(first)]
        )
        assert same.exit_code == 0, same.output
        assert "no answer or claim changed" in same.output

        other = runner.invoke(
            app,
            [
                "validate",
                str(closing_course),
                "--live",
                "--ws",
                "wsproto",
                "--json",
                "--against",
                str(first),
            ],
        )
        assert other.exit_code == 1, other.output
        report = json.loads(other.output)
        assert report["ok"]  # the content is right on both: version-aware claims
        assert report["stack"]["ws"] == "wsproto"
        assert report["against"]["stack"]["ws"] == "websockets-sansio"
        assert {"name": "ws", "old": "websockets-sansio", "new": "wsproto"} in report[
            "stack_changes"
        ]
        assert {
            "id": "closing/close-long-reason",
            "what": "answer",
            "old": "1006",
            "new": "1000",
        } in report["changes"]

        shown = runner.invoke(
            app,
            ["validate", str(closing_course), "--live", "--ws", "wsproto", "--against", str(first)],
        )
        assert shown.exit_code == 1
        assert "closing/close-long-reason" in shown.output.replace("\n", "")
        assert "--ws websockets-sansio" in shown.output and "--ws wsproto" in shown.output
    finally:
        stack.choose("auto")


def test_record_and_against_need_live(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--record", str(tmp_path / "r.json")])
    assert result.exit_code == 2
    assert "need --live" in result.output


def test_an_unreadable_record_is_refused(tmp_path: Path, closing_course: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"questions": []}')
    result = runner.invoke(app, ["validate", str(closing_course), "--live", "--against", str(bad)])
    assert result.exit_code == 2
    assert "not a record of observations" in result.output


def test_a_bound_no_supported_stack_meets_is_a_problem(closing_course: Path) -> None:
    quiz = closing_course / "quizzes" / "04-closing.toml"
    text = quiz.read_text()
    bounded = text.replace(
        '{ of = "closed_by", says = "server" }, { of = "received_count", says = 1 }',
        '{ of = "closed_by", says = "server", when = "uvicorn < 0.39" }',
    )
    assert bounded != text
    quiz.write_text(bounded)
    result = runner.invoke(app, ["validate", str(closing_course), "--json"])
    assert result.exit_code == 1
    problems = json.loads(result.output)["problems"]
    assert any("never holds" in json.dumps(p) for p in problems), problems


def test_a_claim_bounded_to_another_stack_is_not_checked(closing_course: Path) -> None:
    quiz = closing_course / "quizzes" / "04-closing.toml"
    text = quiz.read_text()
    # A claim that is false here, bounded to an implementation not in use: not a problem...
    elsewhere = text.replace(
        '{ of = "closed_by", says = "server" }, { of = "received_count", says = 1 }',
        '{ of = "closed_by", says = "client", when = "ws == websockets" }',
    )
    assert elsewhere != text
    quiz.write_text(elsewhere)
    assert runner.invoke(app, ["validate", str(closing_course), "--live"]).exit_code == 0
    # ... but the same claim bounded to the stack in use is checked, and flagged.
    quiz.write_text(elsewhere.replace("ws == websockets", "ws == websockets-sansio"))
    result = runner.invoke(app, ["validate", str(closing_course), "--live"])
    assert result.exit_code == 1
    assert "--ws websockets-sansio" in result.output  # the versions line names the stack


def test_grading_marks_a_sheet_from_another_stack_and_the_keys_that_differ(
    tmp_path: Path,
) -> None:
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    here = stack.current().to_dict()
    answers = {"close-long-reason": "1006", "return-without-close": "1006"}
    other = {**here, "uvicorn": "0.52.1", "ws": "wsproto"}
    (sheets / "ada.json").write_text(
        json.dumps(
            {
                "quiz": "closing",
                "answers": answers,
                "stack": other,
                "keys": {"close-long-reason": "1000", "return-without-close": "1006"},
            }
        )
    )
    (sheets / "bob.json").write_text(
        json.dumps({"quiz": "closing", "answers": answers, "stack": here})
    )
    result = runner.invoke(
        app,
        [
            "grade",
            str(sheets),
            "--quiz",
            "closing",
            "--db",
            str(tmp_path / "g.sqlite"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    start = result.output.index("{")
    graded = json.loads(result.output[start : result.output.rindex("}") + 1])
    by = {r["student"]: r for r in graded["results"]}
    assert "recorded on another stack" in by["ada"]["error"]
    assert "ws wsproto (here websockets-sansio)" in by["ada"]["error"]
    checks = {c["name"]: c["message"] for c in by["ada"]["checks"]}
    assert (
        "the key differs: '1000' on the sheet's stack, '1006' here" in checks["close-long-reason"]
    )
    assert "key differs" not in checks["return-without-close"]
    assert not by["bob"].get("error")
    from wsquiz.grading.gradebook import Gradebook

    with Gradebook(tmp_path / "g.sqlite", "quiz", "closing") as book:
        assert book.stack() == here


def test_an_answer_sheet_records_the_stack_and_the_keys(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"close-long-reason": "1006"}))
    sheet = tmp_path / "sheet.json"
    runner.invoke(
        app,
        ["quiz", "closing", "--answers", str(answers), "--record", str(sheet), "--no-save"],
    )
    written = json.loads(sheet.read_text())
    assert written["stack"] == stack.current().to_dict()
    assert written["keys"]["close-long-reason"] == "1006"


def test_the_quote_panel_names_the_package_that_printed_the_text(lab: Any) -> None:
    from wsquiz.course.quizzes import load_course
    from wsquiz.learn.judge import check_quote, observe_question

    quiz = load_course(ROOT).quiz("messages")
    question = next(q for q in quiz.questions if q.id == "receive-after-close")
    quote = check_quote(question, observe_question(question, lab))
    assert quote is not None and not quote.same
    assert quote.package == f"starlette {version('starlette')}"


def test_the_versions_panel_quotes_the_package_not_the_framework(lab: Any) -> None:
    from rich.console import Console

    from wsquiz.course.quizzes import load_course
    from wsquiz.learn.judge import judge, observe_question
    from wsquiz.ui.quiz import verdict_view

    quiz = load_course(ROOT).quiz("messages")
    question = next(q for q in quiz.questions if q.id == "receive-after-close")
    observation = observe_question(question, lab)
    console = Console(record=True, width=100, color_system=None)
    console.print(verdict_view(question, judge(question, "RuntimeError", observation), observation))
    shown = console.export_text()
    assert f"The installed server (starlette {version('starlette')}) printed:" in shown
