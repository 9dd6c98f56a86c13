"""A hostile class against the grader's own code: the exports, the names, the answer sheets.

Each test grades a real class with the real command: honest classmates beside one hostile
entry (links planted in the export folder, a name that is not UTF-8, formula cells, names
too long or colliding, a sheet nested 100,000 deep, a 200 KB answer, control characters and
markup). Each asserts what the honest students score, what the hostile one scores, that the
whole class is graded, and that `--resume` goes on from there.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from typer.testing import CliRunner

from wsquiz.cli import app
from wsquiz.course.exercises import find_exercise
from wsquiz.grading.exports import MAX_NAME
from wsquiz.grading.gradebook import Gradebook, StudentResult
from wsquiz.grading.run import MAX_FEEDBACK
from wsquiz.ui.grades import progress_line

SOLUTION = find_exercise("echo-loop").solution.read_text()
STUDENT = 65534  # nobody: the owner of what a student plants
runner = CliRunner()


def grade(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["grade", *args])
    return result.exit_code, result.output


def rows(db: Path) -> dict[str, StudentResult]:
    with Gradebook(db) as book:
        return {r.student: r for r in book.results()}


def resumed(subs: Path, db: Path, students: int) -> None:
    """`--resume` of the same class: every student already in the gradebook, none lost."""
    code, output = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume")
    assert code == 0, output
    assert f"{students} already in the gradebook (--resume)" in " ".join(output.split())
    assert len(rows(db)) == students


def plant(link: Path, target: Path) -> None:
    link.symlink_to(target)
    if os.geteuid() == 0:
        os.lchown(link, STUDENT, STUDENT)


PLANTER = (
    """\
import os
from pathlib import Path

# At import, in the grader: links in the shared export folder, to the instructor's file.
for name in ("honest.json", ".honest.json.partial", "grades.csv", ".grades.csv.partial"):
    try:
        os.symlink({victim!r}, Path({out!r}) / name)
    except OSError:
        pass
"""
    + SOLUTION
)


def test_links_planted_in_the_export_folder_never_redirect_the_export(tmp_path: Path) -> None:
    victim = tmp_path / "instructor.txt"
    victim.write_text("the instructor's own file\n")
    out = tmp_path / "exports"
    out.mkdir()
    out.chmod(0o777)  # shared with the class, as the issue found it
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "honest.py").write_text(SOLUTION)
    planter = PLANTER.replace("{victim!r}", repr(str(victim))).replace("{out!r}", repr(str(out)))
    (subs / "mallory.py").write_text(planter)
    # what mallory's own account leaves there, whether or not the sandbox lets the code do it
    plant(out / ".honest.json.partial", victim)
    plant(out / "grades.csv", victim)
    (out / "deep").mkdir()
    (out / "deep").chmod(0o777)  # a folder mallory made there
    plant(out / "deep" / "link", tmp_path)
    db = tmp_path / "book.sqlite"

    code, output = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "-j", "2")
    assert code == 0, output
    assert {s: r.score for s, r in rows(db).items()} == {"honest": 5, "mallory": 5}
    for fmt, where in (("gradescope", out), ("csv", out / "grades.csv")):
        result = runner.invoke(
            app, ["grade", "export", "--db", str(db), "--format", fmt, "--out", str(where)]
        )
        assert result.exit_code == 0, result.output
    assert victim.read_text() == "the instructor's own file\n"
    honest = out / "honest.json"
    assert not honest.is_symlink() and json.loads(honest.read_text())["score"] == 5
    assert not (out / "grades.csv").is_symlink()
    assert "honest,5,5" in (out / "grades.csv").read_text()
    # a folder reached through a link a student planted is refused, and nothing is written
    code, output = grade(
        str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume", "--format", "csv",
        "--out", str(out / "deep" / "link" / "grades.csv"),
    )  # fmt: skip
    assert code == 2
    assert "a symbolic link in a folder others can write to" in " ".join(output.split())
    assert not (tmp_path / "grades.csv").exists()
    assert victim.read_text() == "the instructor's own file\n"


def test_a_file_name_that_is_not_utf8_costs_that_student_alone(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("alice", "zoe"):
        (subs / f"{name}.py").write_text(SOLUTION)
    with open(os.path.join(os.fsencode(subs), b"caf\xe9.py"), "w") as hostile:
        hostile.write(SOLUTION)
    (subs / "bob").mkdir()
    with open(os.path.join(os.fsencode(subs / "bob"), b"\xff\xfe.py"), "w") as hostile:
        hostile.write(SOLUTION)
    (subs / "eve").mkdir()
    (subs / "eve" / "main.py").write_text(SOLUTION)
    with open(os.path.join(os.fsencode(subs / "eve"), b"\xff.py"), "w") as hostile:
        hostile.write(SOLUTION)
    db = tmp_path / "book.sqlite"

    code, output = grade(str(subs), "--exercise", "echo-loop", "--db", str(db))
    assert code == 0, output
    graded = rows(db)
    assert {s: r.score for s, r in graded.items()} == {
        "alice": 5,
        "bob": 0,
        "caf\\xe9": 0,
        "eve": 0,
        "zoe": 5,
    }
    assert "eve/ holds several files (main.py, \\xff.py)" in (graded["eve"].error or "")
    assert "caf\\xe9.py: the file name is not valid UTF-8" in (graded["caf\\xe9"].error or "")
    assert "\\xff\\xfe.py: the file name is not valid UTF-8" in (graded["bob"].error or "")
    assert "Traceback" not in output and "5 graded" in output

    code, output = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume")
    assert code == 0, output
    assert "5 already in the gradebook (--resume)" in " ".join(output.split())
    assert len(rows(db)) == 5


def test_formula_cells_reach_the_spreadsheet_as_text(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    hostile = ['=HYPERLINK("evil")', "@SUM(1+1)", "+cmd", "-2+3", "\tx", "\rx"]
    for name in hostile:
        (subs / f"{name}.py").write_text("def broken(:\n")  # its error starts with its name
    (subs / "honest.py").write_text(SOLUTION)
    db = tmp_path / "book.sqlite"
    code, output = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "-j", "2")
    assert code == 0, output
    graded = rows(db)
    assert graded["honest"].score == 5
    assert all(graded[name].score == 0 for name in hostile)

    out = tmp_path / "grades.csv"
    result = runner.invoke(app, ["grade", "export", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(out.read_text(), newline="")))
    assert len(table) == 1 + len(hostile) + 1
    for row in table:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    students = {row[0]: row for row in table[1:]}
    assert set(students) == {f"'{name}".replace("\r", "\n") for name in hostile} | {"honest"}
    assert students['\'=HYPERLINK("evil")'][-1].startswith('\'=HYPERLINK("evil").py')
    assert students["honest"][1:3] == ["5", "5"]
    resumed(subs, db, len(hostile) + 1)


def test_long_and_colliding_names_each_get_their_own_gradescope_file(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    long_file, long_folder = "a" * 240, "é" * 127  # 254 bytes: the longest a name can be
    for name in (long_file, "a b", "a_b", "A_b", "a,b"):
        (subs / f"{name}.py").write_text(SOLUTION)
    (subs / long_folder).mkdir()
    (subs / long_folder / "main.py").write_text("def broken(:\n")
    out = tmp_path / "gs"
    db = tmp_path / "book.sqlite"
    code, output = grade(
        str(subs), "--exercise", "echo-loop", "--db", str(db), "-j", "2",
        "--format", "gradescope", "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    files = sorted(out.iterdir())
    assert len(files) == 6
    assert all(len(os.fsencode(f.name)) <= MAX_NAME + 20 for f in files)
    assert len({"a_b.json", "A_b.json"} & {f.name for f in files}) == 1  # one keeps its name
    kept = {}
    for file in files:
        data = json.loads(file.read_text())
        kept[data["extra_data"]["student"]] = data["score"]
    assert kept == {long_file: 5, "a b": 5, "a_b": 5, "A_b": 5, "a,b": 5, long_folder: 0}
    resumed(subs, db, 6)


def test_an_export_that_cannot_be_written_writes_nothing(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("alice", "bob", "carol"):
        (subs / f"{name}.py").write_text(SOLUTION)
    out = tmp_path / "gs"
    out.mkdir()
    (out / "bob.json").mkdir()  # planted where bob's results go
    db = tmp_path / "book.sqlite"
    code, output = grade(
        str(subs), "--exercise", "echo-loop", "--db", str(db),
        "--format", "gradescope", "--out", str(out),
    )  # fmt: skip
    assert code == 2
    flat = " ".join(output.split())
    assert "bob.json: cannot write the export (a folder is in the way); nothing was written" in flat
    assert sorted(p.name for p in out.iterdir()) == ["bob.json"]  # no one else's file either
    assert {s: r.score for s, r in rows(db).items()} == {"alice": 5, "bob": 5, "carol": 5}
    (out / "bob.json").rmdir()
    result = runner.invoke(
        app, ["grade", "export", "--db", str(db), "--format", "gradescope", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["alice.json", "bob.json", "carol.json"]


def key_answers() -> dict[str, str]:
    result = runner.invoke(app, ["quiz", "basics", "--key", "--json"])
    assert result.exit_code == 0, result.output
    return {q["id"]: q["answer"] for q in json.loads(result.output)["questions"]}


def test_deep_sheets_and_a_200_kb_answer_cost_their_authors_alone(tmp_path: Path) -> None:
    key = key_answers()
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (sheets / "ann.json").write_text(json.dumps({"quiz": "basics", "answers": key}))
    deep = "[" * 100_000 + "]" * 100_000
    (sheets / "deep.json").write_text('{"quiz": "basics", "answers": {"a": ' + deep + "}}")
    (sheets / "deeper.toml").write_text(f"a = {deep}\n")
    big = {**key, "echo-reply": "x" * 200_000}
    (sheets / "big.json").write_text(json.dumps({"quiz": "basics", "answers": big}))
    (sheets / "zed.json").write_text(json.dumps({"quiz": "basics", "answers": key}))
    db = tmp_path / "quiz.sqlite"

    code, output = grade(str(sheets), "--quiz", "basics", "--db", str(db))
    assert code == 0, output
    graded = rows(db)
    total = len(key)
    assert {s: r.score for s, r in graded.items()} == {
        "ann": total,
        "big": total - 1,
        "deep": 0,
        "deeper": 0,
        "zed": total,
    }
    assert graded["deep"].error == "deep.json: nested too deeply to be an answer sheet"
    assert graded["deeper"].error == "deeper.toml: nested too deeply to be an answer sheet"
    assert "RecursionError" not in output
    feedback = {c.name: c.message for c in graded["big"].checks}["echo-reply"]
    assert "(200000 characters)" in feedback and len(feedback) < 2 * MAX_FEEDBACK
    assert "x" * 1000 not in output
    code, output = grade(str(sheets), "--quiz", "basics", "--db", str(db), "--resume")
    assert code == 0, output
    assert "5 already in the gradebook (--resume)" in " ".join(output.split())


HOSTILE_SERVER = """\
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    await websocket.receive_text()
    await websocket.send_text("\\x1b[2J\\x1b[31m[bold red]pwned[/] " + "y" * 300_000)
"""


def test_control_characters_and_markup_are_shown_literally(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "honest.py").write_text(SOLUTION)
    (subs / "[red]mark[bold].py").write_text(SOLUTION)
    (subs / "ctl\x1b[2J\x07\u202e.py").write_text(HOSTILE_SERVER)
    db = tmp_path / "book.sqlite"
    code, output = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "-j", "2")
    assert code == 0, output
    graded = rows(db)
    hostile = "ctl\x1b[2J\x07\u202e"
    assert {s: r.score for s, r in graded.items()} == {
        "honest": 5,
        "[red]mark[bold]": 5,
        hostile: 0,
    }
    assert "[red]mark[bold]" in output  # the name as written, not as markup
    assert "ctl\\x1b[2J\\x07\\u202e" in output
    assert not {"\x1b", "\x07", "\u202e"} & set(output)
    assert all(len(c.message) < 2 * MAX_FEEDBACK for c in graded[hostile].checks)
    assert "y" * 3000 not in output
    assert progress_line(graded[hostile]) == "ctl\\x1b[2J\\x07\\u202e: 0/5"
    resumed(subs, db, 3)
