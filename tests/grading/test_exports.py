"""Exports (JSON, CSV, Gradescope), the gradebook's merge, and the Gradescope autograder."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wsquiz import __version__
from wsquiz.cli import app
from wsquiz.course.exercises import find_exercise
from wsquiz.errors import StoreError, UsageError
from wsquiz.grading import exports
from wsquiz.grading.autograder import build
from wsquiz.grading.gradebook import CheckOutcome, Gradebook, StudentResult, merge

runner = CliRunner()

RESULTS = [
    StudentResult(
        "alice",
        5.0,
        5.0,
        (
            CheckOutcome("echo-one", True, 1, 1, "passed"),
            CheckOutcome("echo-every-message", True, 2, 2, "passed"),
            CheckOutcome("client-leaves-cleanly", True, 2, 2, "passed"),
        ),
        source="/srv/class/alice.py",
        elapsed_s=0.25,
        digest="ab" * 32,
    ),
    StudentResult(
        "bob, jr.",
        1.0,
        5.0,
        (
            CheckOutcome("echo-one", True, 1, 1, "passed"),
            CheckOutcome("echo-every-message", False, 0, 2, "the client received ['one']"),
            CheckOutcome("client-leaves-cleanly", False, 0, 2, "the server raised KeyError"),
        ),
    ),
    StudentResult(
        "carol",
        0.0,
        5.0,
        (
            CheckOutcome("echo-one", False, 0, 1, "not checked: SyntaxError"),
            CheckOutcome("echo-every-message", False, 0, 2, "not checked: SyntaxError"),
            CheckOutcome("client-leaves-cleanly", False, 0, 2, "not checked: SyntaxError"),
        ),
        error="carol.py:3: SyntaxError: invalid syntax",
    ),
]


def test_json_export_has_the_documented_shape() -> None:
    data = exports.to_json(RESULTS, "exercise", "echo-loop")
    assert data["exercise"] == "echo-loop"
    first = data["results"][0]
    assert first == {
        "student": "alice",
        "score": 5,
        "max_score": 5,
        "checks": [
            {"name": "echo-one", "passed": True, "points": 1, "message": "passed"},
            {"name": "echo-every-message", "passed": True, "points": 2, "message": "passed"},
            {"name": "client-leaves-cleanly", "passed": True, "points": 2, "message": "passed"},
        ],
        "error": None,
    }
    assert data["results"][2]["error"] == "carol.py:3: SyntaxError: invalid syntax"


def test_csv_has_a_row_per_student_and_a_column_per_check() -> None:
    rows = list(csv.reader(io.StringIO(exports.to_csv(RESULTS))))
    assert rows[0] == [
        "student",
        "score",
        "max_score",
        "echo-one",
        "echo-every-message",
        "client-leaves-cleanly",
        "error",
    ]
    assert rows[1] == ["alice", "5", "5", "1", "2", "2", ""]
    assert rows[2] == ["bob, jr.", "1", "5", "1", "0", "0", ""]  # quoted, read back whole
    assert rows[3][-1] == "carol.py:3: SyntaxError: invalid syntax"
    assert len(rows) == 4


def test_gradescope_results_per_the_spec() -> None:
    data = exports.to_gradescope(RESULTS[1])
    assert data["score"] == 1
    assert data["output"] == "1 of 3 checks passed"
    assert data["tests"][1] == {
        "name": "echo-every-message",
        "score": 0,
        "max_score": 2,
        "status": "failed",
        "output": "the client received ['one']",
    }
    assert {t["status"] for t in exports.to_gradescope(RESULTS[0])["tests"]} == {"passed"}
    assert exports.to_gradescope(RESULTS[2])["output"].startswith("carol.py:3: SyntaxError")


def test_gradescope_writes_one_file_per_student(tmp_path: Path) -> None:
    written = exports.write(RESULTS, "gradescope", tmp_path / "gs")
    assert sorted(p.name for p in written) == ["alice.json", "bob__jr..json", "carol.json"]
    assert json.loads((tmp_path / "gs" / "alice.json").read_text())["score"] == 5
    with pytest.raises(UsageError, match="holds one student, and 3 were graded"):
        exports.write(RESULTS, "gradescope", tmp_path / "results.json")
    exports.write(RESULTS[:1], "gradescope", tmp_path / "results.json")
    assert json.loads((tmp_path / "results.json").read_text())["tests"][0]["status"] == "passed"


def test_export_refuses_an_unknown_format_and_an_unwritable_place(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown export format 'xml'"):
        exports.write(RESULTS, "xml", tmp_path / "x")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot write the export"):
        exports.write(RESULTS, "csv", blocker / "grades.csv")


def book_with(path: Path, results: list[StudentResult], name: str = "echo-loop") -> Path:
    with Gradebook(path, "exercise", name) as book:
        book.record_all(results)
    return path


def test_the_gradebook_round_trips_every_field(tmp_path: Path) -> None:
    path = book_with(tmp_path / "b.sqlite", RESULTS)
    with Gradebook(path) as book:
        assert book.results() == sorted(RESULTS, key=lambda r: r.student)
        assert (book.kind, book.name) == ("exercise", "echo-loop")


def test_merge_keeps_the_latest_grading_of_a_student(tmp_path: Path) -> None:
    old = StudentResult("alice", 1.0, 5.0, graded_at="2026-01-01T00:00:00.000+00:00")
    one = book_with(tmp_path / "one.sqlite", [RESULTS[0], RESULTS[1]])
    two = book_with(tmp_path / "two.sqlite", [old, RESULTS[2]])
    report = merge([one, two], tmp_path / "all.sqlite")
    assert (report.students, report.replaced) == (3, 1)
    with Gradebook(tmp_path / "all.sqlite") as book:
        assert {r.student: r.score for r in book.results()} == {
            "alice": 5,
            "bob, jr.": 1,
            "carol": 0,
        }
    other = book_with(tmp_path / "chat.sqlite", [RESULTS[0]], name="chat-room")
    with pytest.raises(StoreError, match="merge only the shards of one exercise"):
        merge([one, other], tmp_path / "mixed.sqlite")
    with pytest.raises(StoreError, match="no such gradebook"):
        merge([tmp_path / "missing.sqlite"], tmp_path / "x.sqlite")


def test_export_command(tmp_path: Path) -> None:
    path = book_with(tmp_path / "b.sqlite", RESULTS)
    result = runner.invoke(app, ["grade", "export", "--db", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [r["student"] for r in json.loads(result.output)["results"]] == [
        "alice",
        "bob, jr.",
        "carol",
    ]
    out = tmp_path / "grades.csv"
    result = runner.invoke(
        app, ["grade", "export", "--db", str(path), "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0 and out.read_text().startswith("student,score,max_score,")
    result = runner.invoke(app, ["grade", "export", "--db", str(tmp_path / "nope.sqlite")])
    assert result.exit_code == 2 and "no such gradebook" in result.output


# ---- the Gradescope autograder ------------------------------------------------------------


def test_autograder_files_and_zip(tmp_path: Path) -> None:
    result = runner.invoke(app, ["autograder", "--exercise", "echo-loop", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    setup, run = tmp_path / "setup.sh", tmp_path / "run_autograder"
    assert "pip install /autograder/source/wsquiz-" in setup.read_text()  # shipped, not PyPI
    from importlib.metadata import version

    for name in ("fastapi", "starlette", "uvicorn", "websockets"):  # the stack tried here
        assert f" {name}=={version(name)}" in setup.read_text()
    assert "its setup.sh installs this wsquiz (wsquiz-" in result.stdout
    text = run.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "wsquiz grade /autograder/submission --single" in text
    assert "--exercise echo-loop" in text and "/autograder/results/results.json" in text
    assert run.stat().st_mode & stat.S_IXUSR and setup.stat().st_mode & stat.S_IXUSR
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        names = archive.namelist()
        scripts = sorted(n for n in names if not n.endswith(".whl"))
        assert scripts == ["run_autograder", "setup.sh"]  # at the root of the archive
        assert [n for n in names if n.endswith(".whl")] == [
            f"wsquiz-{__version__}-py3-none-any.whl"
        ]
        assert (archive.getinfo("run_autograder").external_attr >> 16) & 0o111
    for script in (setup, run):
        subprocess.run(["bash", "-n", str(script)], check=True)


def test_autograder_ships_a_teachers_course_and_a_wheel(tmp_path: Path) -> None:
    course = tmp_path / "course"
    folder = find_exercise("echo-loop").folder
    assert folder is not None
    target = course / "exercises" / "01-my-echo"
    target.mkdir(parents=True)
    for name in ("starter.py", "solution.py"):
        text = (folder / name).read_text().replace("exercise: echo-loop", "exercise: my-echo")
        (target / name).write_text(text)
    toml = (folder / "exercise.toml").read_text().replace('name = "echo-loop"', 'name = "my-echo"')
    (target / "exercise.toml").write_text(toml)
    wheel = tmp_path / "wsquiz-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    built = build("my-echo", tmp_path / "ag", install=str(wheel), content=course)
    assert "/autograder/source/wsquiz-0.1.0-py3-none-any.whl" in built.setup.read_text()
    assert "--content /autograder/source/course" in built.run.read_text()
    with zipfile.ZipFile(built.zip_path) as archive:
        names = set(archive.namelist())
    assert "course/exercises/01-my-echo/solution.py" in names
    assert "wsquiz-0.1.0-py3-none-any.whl" in names


def test_run_autograder_grades_a_submission_as_gradescope_would(tmp_path: Path) -> None:
    """The script's own command, with /autograder moved under tmp and wsquiz from here."""
    built = build("echo-loop", tmp_path / "ag")
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    solution = find_exercise("echo-loop").solution
    (root / "submission" / "echo.py").write_text(solution.read_text())
    script = built.run.read_text().replace("/autograder", str(root))
    wsquiz = f"{shlex.quote(sys.executable)} -m wsquiz"
    script = script.replace("/opt/wsquiz/bin/wsquiz", wsquiz)
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 5
    assert [t["status"] for t in results["tests"]] == ["passed"] * 3

    (root / "submission" / "extra.py").write_text("x = 1\n")  # two files: a clear reason, 0
    (root / "results" / "results.json").unlink()
    subprocess.run(["bash", "-c", script], capture_output=True, timeout=120, check=True)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0
    assert "holds several files (echo.py, extra.py)" in results["output"]


def test_autograder_for_an_unknown_exercise(tmp_path: Path) -> None:
    result = runner.invoke(app, ["autograder", "--exercise", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no exercise named 'nope'" in result.output


# ---- exports a hostile class cannot bend ------------------------------------------------


def test_text_cells_that_would_start_a_formula_are_neutralised() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert exports.cell(text).startswith("'"), text
    assert exports.cell("alice") == "alice" and exports.cell("") == ""
    assert exports.cell("a\rb\r\nc") == "a\nb\nc"
    hostile = StudentResult('=HYPERLINK("x")', 0, 5, error="@evil")
    rows = list(csv.reader(io.StringIO(exports.to_csv([hostile]))))
    assert rows[1][0] == '\'=HYPERLINK("x")' and rows[1][-1] == "'@evil"
    assert rows[1][1:3] == ["0", "5"]  # numbers stay numbers


def test_gradescope_file_names_are_unique_bounded_and_stable() -> None:
    names = exports.file_names(["alice", "a b", "a_b", "Alice", "x" * 300, "é" * 200])
    assert names[0] == "alice.json" and names[2] == "a_b.json"
    assert names[1].startswith("a_b-") and names[3].startswith("Alice-")
    assert len({n.casefold() for n in names}) == len(names)
    assert all(len(n.encode()) <= exports.MAX_NAME + 18 for n in names)
    assert exports.file_names(["a b"]) == ["a_b.json"]  # alone, nothing to tell apart
    assert exports.file_names(["a b", "a_b"]) == exports.file_names(["a b", "a_b"])
    data = exports.to_gradescope(StudentResult("a b", 1, 1))
    assert data["extra_data"] == {"student": "a b"}
