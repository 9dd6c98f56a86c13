"""Grading a class: finding submissions, shards, the parallel runner, the gradebook, resume."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from typer.testing import CliRunner

from tests.support import flat
from wsquiz.cli import app
from wsquiz.course.exercises import find_exercise
from wsquiz.engine.lab import Lab
from wsquiz.engine.serving import Limits
from wsquiz.errors import StoreError, UsageError
from wsquiz.grading import exercise, resume, run, submissions, summary
from wsquiz.grading.gradebook import Gradebook, StudentResult

ECHO = find_exercise("echo-loop")
DEFAULT_LIMITS = Limits(wall_s=10.0, cpu_s=10, memory_mb=512)  # `wsquiz grade`'s defaults
runner = CliRunner()

WRONG = """\
from fastapi import FastAPI, WebSocket
app = FastAPI()

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    data = await websocket.receive_text()
    await websocket.send_text(data)
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def class_folder(tmp_path: Path) -> Path:
    subs = tmp_path / "subs"
    write(subs, "alice.py", ECHO.solution.read_text())
    write(subs, "bob.py", WRONG)
    write(subs, "carol/main.py", ECHO.solution.read_text())
    write(subs, "carol/notes.txt", "not code")
    write(subs, "dave.py", "def broken(:\n")
    return subs


# ---- finding submissions ------------------------------------------------------------------


def test_discover_files_and_folders(tmp_path: Path) -> None:
    subs = class_folder(tmp_path)
    write(subs, ".hidden.py", "")
    write(subs, "__pycache__/x.py", "")
    write(subs, "README.md", "")
    found = submissions.discover(subs, "exercise")
    assert [s.student for s in found] == ["alice", "bob", "carol", "dave"]
    assert found[2].path == subs / "carol" / "main.py"
    assert all(s.problem is None for s in found)


def test_discover_names_each_problem(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write(subs, "erin/a.py", "")
    write(subs, "erin/b.py", "")
    (subs / "frank").mkdir()
    write(subs, "gina.py", "")
    write(subs, "gina/app.py", "")
    write(subs, "huge.py", "#" * (submissions.MAX_SOURCE + 1))
    (subs / "link.py").symlink_to("/etc/passwd")
    found = {s.student: s.problem for s in submissions.discover(subs, "exercise")}
    assert "several files (a.py, b.py)" in (found["erin"] or "")
    assert "holds no .py file" in (found["frank"] or "")
    assert "several submissions for gina" in (found["gina"] or "")
    assert "too large" in (found["huge"] or "")
    assert "symbolic link" in (found["link"] or "")


def test_discover_sheets_for_a_quiz(tmp_path: Path) -> None:
    subs = tmp_path / "sheets"
    write(subs, "amy.json", "{}")
    write(subs, "ben.toml", "")
    write(subs, "code.py", "")
    assert [s.student for s in submissions.discover(subs, "quiz")] == ["amy", "ben"]


def test_discover_refuses_a_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        submissions.discover(tmp_path / "nope", "exercise")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds no submissions"):
        submissions.discover(tmp_path / "empty", "exercise")


def test_shards_split_the_class_deterministically() -> None:
    subs = [submissions.Submission(f"student{i:03}", None) for i in range(200)]
    shards = [submissions.in_shard(subs, (k, 3)) for k in (1, 2, 3)]
    names = [s.student for shard in shards for s in shard]
    assert sorted(names) == [s.student for s in subs]  # each exactly once
    assert all(len(shard) > 40 for shard in shards)
    assert submissions.in_shard(subs, (2, 3)) == shards[1]  # the same split every time
    assert submissions.parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1-3"):
        with pytest.raises(UsageError, match="expected K/N"):
            submissions.parse_shard(bad)


# ---- the runner, with a fake check function -----------------------------------------------


@dataclass(frozen=True)
class FakeCheck:
    name: str
    passed: bool
    points: int
    max_points: int
    message: str


@dataclass(frozen=True)
class FakeReport:
    results: tuple[FakeCheck, ...]
    error: str | None = None


def test_the_runner_grades_everyone_in_parallel_and_survives_a_bug(
    lab: Lab, tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    for name in ("a", "b", "c", "d", "boom"):
        write(subs, f"{name}.py", name)
    running = {"now": 0, "most": 0}

    async def check(spec: object) -> FakeReport:
        import asyncio

        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await asyncio.sleep(0.05)
        running["now"] -= 1
        text = spec.path.read_text()  # type: ignore[attr-defined]
        if text == "boom":
            raise RuntimeError("a bug in a check")
        passed = text in ("a", "c")
        return FakeReport(
            (FakeCheck("one", passed, 2 if passed else 0, 2, "ok" if passed else "wrong"),)
        )

    assignment = exercise.ExerciseAssignment(ECHO, lab, Limits(), check=check)
    found = submissions.discover(subs, "exercise")
    results = {r.student: r for r in run.run(lab, assignment, found, 2)}
    assert running["most"] == 2
    assert {s: (r.score, r.max_score) for s, r in results.items()} == {
        "a": (2, 2),
        "b": (0, 2),
        "c": (2, 2),
        "d": (0, 2),
        "boom": (0, 5),
    }
    assert "internal error while grading: RuntimeError('a bug in a check')" in (
        results["boom"].error or ""
    )
    assert results["b"].checks[0].message == "wrong"


def test_histogram_bands() -> None:
    results = [
        StudentResult(s, score, 5.0) for s, score in [("a", 0), ("b", 0.4), ("c", 2.5), ("d", 5)]
    ]
    bands = dict(summary.histogram(results))
    assert bands["  0-  9%"] == 2 and bands[" 50- 59%"] == 1 and bands[" 90-100%"] == 1
    assert sum(bands.values()) == 4


# ---- the command, live --------------------------------------------------------------------


def grade(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["grade", *args])
    return result.exit_code, result.output


def test_grade_a_class_live(tmp_path: Path) -> None:
    subs = class_folder(tmp_path)
    db = tmp_path / "book.sqlite"
    code, out = grade(str(subs), "--exercise", "echo-loop", "-j", "2", "--db", str(db))
    assert code == 0, out
    assert "exercise echo-loop: 4 students" in out
    assert "alice" in out and "5/5" in out and "0/5" in out
    assert "SyntaxError" in out
    assert "score histogram" in out and "90-100% │ " in out
    assert "4 graded, mean 50%, 2 with full marks, 1 with an error" in out
    with Gradebook(db) as book:
        scores = {r.student: r.score for r in book.results()}
    assert scores == {"alice": 5, "bob": 0, "carol": 5, "dave": 0}


def test_grade_json_to_stdout_and_the_default_gradebook(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write(subs, "zed.py", ECHO.solution.read_text())
    write(subs, "yan.py", WRONG)
    code, out = grade(str(subs), "--exercise", "echo-loop", "--format", "json")
    assert code == 0, out
    data = json.loads(out[out.index("{") :])
    assert [r["student"] for r in data["results"]] == ["yan", "zed"]
    zed = data["results"][1]
    assert set(zed) == {"student", "score", "max_score", "checks", "error"}
    assert (zed["score"], zed["max_score"], zed["error"]) == (5, 5, None)
    assert [c["name"] for c in zed["checks"]] == [c.name for c in ECHO.checks]
    assert set(zed["checks"][0]) == {"name", "passed", "points", "message"}
    yan = data["results"][0]
    assert not yan["checks"][0]["passed"] and "'Echo: hello'" in yan["checks"][0]["message"]
    home = Path(os.environ["WSQUIZ_HOME"])
    assert (home / "gradebooks" / "exercise-echo-loop.sqlite").is_file()


def test_the_out_files_suffix_picks_the_export_and_bad_options_exit_2(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write(subs, "zed.py", ECHO.solution.read_text())
    db = tmp_path / "book.sqlite"
    grades = tmp_path / "grades.csv"
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--out", str(grades))
    assert code == 0, out
    assert grades.read_text().startswith("student,score,max_score")
    again = runner.invoke(
        app, ["grade", "export", "--db", str(db), "--out", str(tmp_path / "g.json")]
    )
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "g.json").read_text())["results"][0]["student"] == "zed"

    unsaid = tmp_path / "grades.txt"
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--out", str(unsaid))
    assert code == 2 and "which export?" in out and "add --format csv, json or gradescope" in out
    assert not unsaid.exists()
    for bad in (["--jobs", "0"], ["--wall", "0"], ["--format", "xml"]):
        code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), *bad)
        assert code == 2, (bad, out)


def test_grade_needs_one_of_exercise_or_quiz(tmp_path: Path) -> None:
    code, out = grade(str(tmp_path))
    assert code == 2 and "--exercise NAME or --quiz NAME" in out
    code, out = grade(str(tmp_path), "--exercise", "echo-lop")
    assert code == 2 and "did you mean 'echo-loop'" in out


def test_a_gradebook_of_another_exercise_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "book.sqlite"
    Gradebook(db, "exercise", "chat-room").close()
    with pytest.raises(StoreError, match="holds the exercise 'chat-room'"):
        Gradebook(db, "exercise", "echo-loop")
    (tmp_path / "junk.sqlite").write_text("not a database at all" * 100)
    with pytest.raises(StoreError, match="not a wsquiz gradebook"):
        Gradebook(tmp_path / "junk.sqlite", "exercise", "echo-loop")


def test_resume_skips_the_students_already_graded(tmp_path: Path) -> None:
    subs = class_folder(tmp_path)
    db = tmp_path / "book.sqlite"
    graded = submissions.Submission("alice", subs / "alice.py").digest  # this very file was graded
    against = resume.fingerprint("exercise", "echo-loop", DEFAULT_LIMITS)  # with these limits
    with Gradebook(db, "exercise", "echo-loop") as book:
        book.record(
            StudentResult(
                "alice",
                1.0,
                5.0,
                graded_at="2000-01-01T00:00:00+00:00",
                digest=graded,
                assignment=against,
            )
        )
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume")
    assert code == 0, out
    assert "1 already in the gradebook (--resume)" in out
    with Gradebook(db) as book:
        rows = {r.student: r for r in book.results()}
    assert rows["alice"].score == 1 and rows["alice"].graded_at.startswith("2000")
    assert rows["carol"].score == 5
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db))
    with Gradebook(db) as book:
        assert {r.student: r.score for r in book.results()}["alice"] == 5  # regraded


def test_resume_grades_again_when_the_limits_or_the_exercise_changed(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write(subs, "alice.py", ECHO.solution.read_text())
    write(subs, "bob.py", WRONG)
    db = tmp_path / "book.sqlite"
    course = tmp_path / "course"
    echo_folder = cast(Path, ECHO.folder)
    shutil.copytree(echo_folder, course / "exercises" / echo_folder.name)
    base = [str(subs), "--exercise", "echo-loop", "--db", str(db), "--content", str(course)]
    code, out = grade(*base)
    assert code == 0, out
    code, out = grade(*base, "--resume")
    assert "2 already in the gradebook (--resume)" in flat(out)

    code, out = grade(*base, "--resume", "--wall", "5")
    assert code == 0, out
    assert "already in the gradebook" not in out
    assert "alice, bob graded again from the same file" in flat(out)
    assert "changed since graded" not in out  # the files are the same: not a resubmission
    code, out = grade(*base, "--resume", "--wall", "5")
    assert "2 already in the gradebook (--resume)" in flat(out)

    toml = course / "exercises" / echo_folder.name / "exercise.toml"
    toml.write_text(toml.read_text().replace("points = 2", "points = 3", 1))
    code, out = grade(*base, "--resume", "--wall", "5")
    assert "graded again from the same file" in flat(out)
    with Gradebook(db) as book:
        assert {r.student: r.max_score for r in book.results()}["alice"] == 6


def test_shards_then_merge(tmp_path: Path) -> None:
    subs = class_folder(tmp_path)
    books = []
    for k in (1, 2):
        db = tmp_path / f"shard{k}.sqlite"
        code, out = grade(
            str(subs), "--exercise", "echo-loop", "--shard", f"{k}/2", "--db", str(db)
        )
        assert code == 0, out
        books.append(db)
    with Gradebook(books[0]) as one, Gradebook(books[1]) as two:
        first, second = {r.student for r in one.results()}, {r.student for r in two.results()}
    assert first | second == {"alice", "bob", "carol", "dave"} and not first & second
    merged = tmp_path / "all.sqlite"
    result = runner.invoke(
        app, ["grade", "merge", str(books[0]), str(books[1]), "--db", str(merged)]
    )
    assert result.exit_code == 0, result.output
    assert "4 students" in result.output
    result = runner.invoke(app, ["grade", "export", "--db", str(merged), "--format", "csv"])
    lines = result.output.strip().splitlines()
    checks = "echo-one,echo-every-message,client-leaves-cleanly"
    assert lines[0] == f"student,score,max_score,{checks},error"
    assert lines[1] == "alice,5,5,1,2,2,"


def test_single_submission_to_gradescope(tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    write(submission, "my_echo.py", ECHO.solution.read_text())
    write(submission, "README.md", "hello")
    out = tmp_path / "results" / "results.json"
    code, text = grade(
        str(submission),
        "--single",
        "--student",
        "s1",
        "--exercise",
        "echo-loop",
        "--db",
        str(tmp_path / "b.sqlite"),
        "--format",
        "gradescope",
        "--out",
        str(out),
    )
    assert code == 0, text
    data = json.loads(out.read_text())
    assert data["score"] == 5
    assert [t["status"] for t in data["tests"]] == ["passed"] * 3


# ---- kill -9 of the grader: nothing left, and --resume finishes ---------------------------


SLOW = """\
import asyncio, os, time
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
app = FastAPI()
if os.fork() == 0:  # a daemon of its own, which must die with the grader
    os.setsid()
    while True:
        time.sleep(1)

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            await asyncio.sleep(0.6)
            await websocket.send_text(f"Echo: {data}")
    except WebSocketDisconnect:
        pass
"""


# Never writes to the grader once it spins: only a parent-death signal can stop it early.
BUSY = """\
from fastapi import FastAPI, WebSocket
app = FastAPI()

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    while True:
        pass
"""


def tree_of(marker: str, known: Sequence[int] = ()) -> list[int]:
    """Processes whose command line holds the marker (the grader), all they started (the
    sandboxes' zygote is a fresh program: it and its sandboxes are found by parentage), and
    those of `known` still alive."""
    marked, parents = set(), {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    marked.add(int(entry))
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[-1].split()[1])
    found, frontier = set(marked), list(marked)
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in found]
        found.update(children)
        frontier += children
    found.update(p for p in known if p in parents)
    return sorted(found)


def rows(db: Path) -> dict[str, str]:
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return dict(con.execute("SELECT student, graded_at FROM results").fetchall())
    except sqlite3.Error:
        return {}


def test_kill_9_of_the_grader_leaves_nothing_and_resume_finishes(tmp_path: Path) -> None:
    subs = tmp_path / "class-kill9"
    for name in ("a1", "a2"):
        write(subs, f"{name}.py", ECHO.solution.read_text())
    write(subs, "b1.py", BUSY)
    for name in ("s1", "s2", "s3", "s4"):
        write(subs, f"{name}.py", SLOW)
    db = tmp_path / "book.sqlite"
    marker = str(subs)
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wsquiz",
            "grade",
            marker,
            "--exercise",
            "echo-loop",
            "-j",
            "2",
            "--db",
            str(db),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(rows(db)) < 2 and time.monotonic() < deadline:
            assert grader.poll() is None, "the grader ended before it was killed"
            time.sleep(0.05)
        assert len(rows(db)) >= 2
        time.sleep(0.3)  # the slow students are being graded now, their servers running
        running = tree_of(marker)
        assert len(running) > 2, "no server of the grader was running"
        os.kill(grader.pid, signal.SIGKILL)
        grader.wait(10)
    finally:
        if grader.poll() is None:
            grader.kill()
    deadline = time.monotonic() + 3  # the parent-death signals act at once
    while (left := tree_of(marker, running)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == [], f"processes outlived the grader: {left}"

    before = rows(db)
    assert 2 <= len(before) < 7
    code, out = grade(marker, "--exercise", "echo-loop", "-j", "2", "--db", str(db), "--resume")
    assert code == 0, out
    assert f"{len(before)} already in the gradebook (--resume)" in out
    after = rows(db)
    assert set(after) == {"a1", "a2", "b1", "s1", "s2", "s3", "s4"}
    assert all(after[s] == before[s] for s in before)  # the earlier results were kept as they were
    with Gradebook(db) as book:
        assert {r.student: r.score for r in book.results()} == {
            "a1": 5,
            "a2": 5,
            "b1": 0,
            "s1": 5,
            "s2": 5,
            "s3": 5,
            "s4": 5,
        }


# ---- answer sheets, graded against the live key -------------------------------------------


def test_grade_quiz_sheets_live(tmp_path: Path) -> None:
    result = runner.invoke(app, ["quiz", "basics", "--key", "--json"])
    assert result.exit_code == 0, result.output
    key = {q["id"]: q["answer"] for q in json.loads(result.output)["questions"]}
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    # A sheet claims a score; the grader ignores it and judges every answer again.
    (sheets / "ann.json").write_text(json.dumps({"quiz": "basics", "answers": key, "score": 0}))
    wrong = {**key, "echo-reply": "hello"}
    del wrong["count-messages"]
    (sheets / "bob.json").write_text(json.dumps({"quiz": "basics", "answers": wrong, "score": 5}))
    (sheets / "cat.toml").write_text('[answers]\n"count-messages" = 3\n')
    (sheets / "dan.json").write_text("{broken")
    (sheets / "eve.json").write_text(json.dumps({"quiz": "messages", "answers": key}))
    db = tmp_path / "quiz.sqlite"
    code, out = grade(str(sheets), "--quiz", "basics", "--db", str(db))
    assert code == 0, out
    assert "quiz basics: 5 students" in out
    with Gradebook(db) as book:
        rows = {r.student: r for r in book.results()}
        assert book.kind == "quiz" and book.name == "basics"
    total = len(key)
    assert (rows["ann"].score, rows["ann"].max_score) == (total, total)
    assert rows["bob"].score == total - 2
    bob = {c.name: c for c in rows["bob"].checks}
    assert not bob["echo-reply"].passed and "hello" in bob["echo-reply"].message
    assert bob["count-messages"].message == "not answered"
    assert rows["cat"].score == 1
    assert rows["dan"].score == 0 and "not valid JSON" in (rows["dan"].error or "")
    assert rows["eve"].score == 0 and "answers the quiz 'messages'" in (rows["eve"].error or "")


def test_ctrl_c_keeps_what_was_graded_and_says_how_to_go_on(tmp_path: Path) -> None:
    subs = tmp_path / "class-ctrl-c"
    write(subs, "a1.py", ECHO.solution.read_text())
    for name in ("s1", "s2", "s3"):
        write(subs, f"{name}.py", SLOW)
    db = tmp_path / "book.sqlite"
    grader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wsquiz",
            "grade",
            str(subs),
            "--exercise",
            "echo-loop",
            "-j",
            "2",
            "--db",
            str(db),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not rows(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        grader.send_signal(signal.SIGINT)
        _, err = grader.communicate(timeout=60)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 130
    graded = len(rows(db))
    assert 1 <= graded < 4
    assert f"interrupted: {graded} of 4 students are in {db}" in " ".join(err.split())
    assert "--resume" in err
    deadline = time.monotonic() + 10
    while (left := tree_of(str(subs))) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []


def test_a_broken_reference_stops_before_anyone_is_graded(tmp_path: Path) -> None:
    folder = ECHO.folder
    assert folder is not None
    course = tmp_path / "course" / "exercises" / "01-echo-loop"
    course.mkdir(parents=True)
    for name in ("exercise.toml", "starter.py"):
        (course / name).write_text((folder / name).read_text())
    (course / "solution.py").write_text("# wsquiz exercise: echo-loop\ndef broken(:\n")
    subs = tmp_path / "subs"
    write(subs, "alice.py", ECHO.solution.read_text())
    db = tmp_path / "book.sqlite"
    code, out = grade(
        str(subs),
        "--exercise",
        "echo-loop",
        "--content",
        str(tmp_path / "course"),
        "--db",
        str(db),
    )
    assert code == 1
    assert "its reference solution did not serve" in " ".join(out.split())
    with Gradebook(db) as book:
        assert book.results() == []


# ---- --resume and resubmissions: a student is skipped only for the very file graded -------

BROKEN = "x = 1\ndef broken(:\n"


def test_resume_regrades_a_resubmission(tmp_path: Path) -> None:
    subs = class_folder(tmp_path)
    db = tmp_path / "book.sqlite"
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db))
    assert code == 0, out
    write(subs, "alice.py", BROKEN)  # alice resubmits and breaks it
    write(subs, "bob.py", ECHO.solution.read_text())  # bob resubmits and gets it right
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume")
    assert code == 0, out
    assert (
        "2 already in the gradebook (--resume); 2 changed since graded: regraded (alice, bob)"
        in flat(out)
    )
    assert "another folder" not in out
    with Gradebook(db) as book:
        rows = {r.student: r for r in book.results()}
    assert {s: r.score for s, r in rows.items()} == {"alice": 0, "bob": 5, "carol": 5, "dave": 0}
    assert rows["alice"].error == "alice.py:2: SyntaxError: invalid syntax"
    assert rows["alice"].source == str((subs / "alice.py").absolute())
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume")
    assert code == 0, out
    assert "4 already in the gradebook (--resume)" in flat(out) and "changed" not in out


def test_resume_on_another_sections_folder_regrades_its_students(tmp_path: Path) -> None:
    first = class_folder(tmp_path)
    code, out = grade(str(first), "--exercise", "echo-loop")  # the default gradebook
    assert code == 0, out
    second = tmp_path / "sec2"
    write(second, "alice.py", WRONG)  # another alice, another file
    write(second, "carol.py", ECHO.solution.read_text())  # byte for byte what carol was graded on
    write(second, "erin.py", BROKEN)
    code, out = grade(str(second), "--exercise", "echo-loop", "--resume")
    assert code == 0, out
    text = flat(out)
    assert "1 already in the gradebook (--resume); 1 changed since graded: regraded (alice)" in (
        text
    )
    assert "note: alice had been graded from another folder" in text and "--db FILE" in text
    assert "exercise echo-loop: 3 students" in text
    book = Path(os.environ["WSQUIZ_HOME"]) / "gradebooks" / "exercise-echo-loop.sqlite"
    result = runner.invoke(app, ["grade", "export", "--db", str(book), "--format", "json"])
    assert result.exit_code == 0, result.output
    scores = {r["student"]: r["score"] for r in json.loads(result.output)["results"]}
    assert scores == {"alice": 0, "bob": 0, "carol": 5, "dave": 0, "erin": 0}  # the latest each


OLD_GRADEBOOK = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE results (
    student   TEXT PRIMARY KEY,
    score     REAL NOT NULL,
    max_score REAL NOT NULL,
    error     TEXT,
    checks    TEXT NOT NULL,
    source    TEXT NOT NULL DEFAULT '',
    elapsed_s REAL NOT NULL DEFAULT 0,
    graded_at TEXT NOT NULL
);
INSERT INTO meta VALUES ('schema', '1'), ('kind', 'exercise'), ('name', 'echo-loop'),
    ('created', '2000-01-01T00:00:00+00:00');
INSERT INTO results VALUES ('alice', 1, 5, NULL, '[]', 'subs/alice.py', 0.5,
    '2000-01-01T00:00:00+00:00');
"""


def test_a_gradebook_of_an_older_wsquiz_is_read_and_resumed(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript(OLD_GRADEBOOK)
    con.close()
    result = runner.invoke(app, ["grade", "export", "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "alice,1,5,"
    subs = tmp_path / "subs"
    write(subs, "alice.py", ECHO.solution.read_text())
    write(subs, "bob.py", WRONG)
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume")
    assert code == 0, out
    # What the old row was graded from is unknown: it is graded again, once.
    assert "1 changed since graded: regraded (alice)" in flat(out)
    assert "already in the gradebook" not in out and "another folder" not in out
    with Gradebook(db) as book:
        assert {r.student: r.score for r in book.results()} == {"alice": 5, "bob": 0}
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("3",)
    con.close()
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--resume")
    assert "2 already in the gradebook (--resume)" in flat(out) and "changed" not in out


# ---- feedback names the student's file, never the grader's paths --------------------------


def test_feedback_names_files_inside_the_submissions_folder(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write(subs, "carol.py", BROKEN)
    write(subs, "erin/main.py", "import nothing_here\n")
    write(subs, "zed.py", ECHO.solution.read_text())
    db = tmp_path / "book.sqlite"
    code, out = grade(str(subs), "--exercise", "echo-loop", "--db", str(db), "--format", "json")
    assert code == 0, out
    assert "carol.py:2: SyntaxError" in flat(out)  # the console's table
    assert str(subs) not in out
    data = json.loads(out[out.index("{") :])
    rows = {r["student"]: r for r in data["results"]}
    assert rows["carol"]["error"] == "carol.py:2: SyntaxError: invalid syntax"
    assert {c["message"] for c in rows["carol"]["checks"]} == {
        "not checked: carol.py:2: SyntaxError: invalid syntax"
    }
    assert rows["erin"]["error"] == (
        "erin/main.py:1: ModuleNotFoundError while importing: No module named 'nothing_here'"
    )
    for fmt, where in (("csv", tmp_path / "grades.csv"), ("gradescope", tmp_path / "gs")):
        result = runner.invoke(
            app, ["grade", "export", "--db", str(db), "--format", fmt, "--out", str(where)]
        )
        assert result.exit_code == 0, result.output
    grades = (tmp_path / "grades.csv").read_text()
    carol = json.loads((tmp_path / "gs" / "carol.json").read_text())
    assert "carol.py:2: SyntaxError: invalid syntax" in grades and str(subs) not in grades
    assert carol["output"] == "carol.py:2: SyntaxError: invalid syntax\n0 of 3 checks passed"
    assert carol["tests"][0]["output"] == "not checked: carol.py:2: SyntaxError: invalid syntax"
    assert str(tmp_path) not in (tmp_path / "gs" / "erin.json").read_text()


def test_feedback_of_a_single_submission_names_the_file(tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    write(submission, "my_echo.py", BROKEN)
    out = tmp_path / "results.json"
    code, text = grade(
        *(str(submission), "--single", "--student", "s1", "--exercise", "echo-loop"),
        *("--db", str(tmp_path / "b.sqlite"), "--format", "gradescope", "--out", str(out)),
    )
    assert code == 0, text
    data = json.loads(out.read_text())
    assert data["output"].startswith("my_echo.py:2: SyntaxError: invalid syntax")
    assert str(tmp_path) not in out.read_text()


# ---- --format gradescope: an --out that cannot work is refused before grading -------------


def test_gradescope_out_is_checked_before_anyone_is_graded(tmp_path: Path) -> None:
    subs = class_folder(tmp_path)
    db = tmp_path / "book.sqlite"
    run = (str(subs), "--exercise", "echo-loop", "--db", str(db))
    code, out = grade(*run, "--format", "gradescope")
    assert code == 2
    assert "fix: add --out results/ (one <student>.json for each of the 4)" in flat(out)
    code, out = grade(*run, "--format", "gradescope", "--out", str(tmp_path / "results.json"))
    assert code == 2
    assert "a Gradescope results.json holds one student, and 4 are to be graded" in flat(out)
    fix = f"fix: give --out a folder to get one <student>.json per student, e.g. --out {tmp_path}"
    assert f"{fix}/results/" in flat(out)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    code, out = grade(*run, "--format", "gradescope", "--out", str(blocker))
    assert code == 2 and "a file, and Gradescope results go to a folder" in flat(out)
    code, out = grade(*run, "--format", "csv", "--out", str(tmp_path))
    assert code == 2 and "a folder, and the csv export is one file" in flat(out)
    code, out = grade(*run, "--format", "json", "--out", str(blocker / "grades.json"))
    assert code == 2 and f"{blocker} is a file, not a folder" in flat(out)
    assert not db.exists()  # nothing was graded
    code, out = grade(*run, "--format", "gradescope", "--out", str(tmp_path / "results"))
    assert code == 0, out  # what the fix suggested works
    assert "gradescope: 4 files in" in flat(out)
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "alice.json",
        "bob.json",
        "carol.json",
        "dave.json",
    ]


def test_a_sheets_problem_names_the_sheet_however_the_folder_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheets = tmp_path / "sheets"
    write(sheets, "tom.json", "{bad")
    write(sheets, "will.json", '{"quiz": "closing", "answers": {}}')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for given in ("../sheets", str(sheets)):
        db = tmp_path / f"{len(given)}.sqlite"
        code, out = grade(given, "--quiz", "basics", "--db", str(db), "--format", "json")
        assert code == 0, out
        exported = out[out.index("{") :]  # what students may see; the gradebook line is not
        results = {r["student"]: r for r in json.loads(exported)["results"]}
        assert results["tom"]["error"].startswith("tom.json: not valid JSON"), given
        assert results["will"]["error"].startswith("will.json: the sheet answers the quiz"), given
        assert str(tmp_path) not in exported and "../" not in exported
