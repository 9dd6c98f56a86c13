"""Hostile submissions never hurt the batch.

Each test grades one hostile echo-loop submission beside a correct one, two at a time, with
small limits. The hostile one gets the points it earned, with a clear reason; the correct
one gets full marks; afterwards no process of either is left. Every hostile file names its
processes with a marker (`prctl(PR_SET_NAME)`, inherited by what it forks) so a leftover,
daemonized or not, is found in /proc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from wsquiz.course.exercises import find_exercise
from wsquiz.engine import sandbox
from wsquiz.engine.lab import Lab
from wsquiz.engine.serving import Limits
from wsquiz.grading.exercise import ExerciseAssignment
from wsquiz.grading.gradebook import StudentResult
from wsquiz.grading.run import run as grade_all
from wsquiz.grading.submissions import discover

LIMITS = Limits(wall_s=3.0, cpu_s=2, memory_mb=256, startup_s=3.0, app_folder=False)
SOLUTION = find_exercise("echo-loop").solution

HEADER = """\
import asyncio, ctypes, os, sys, time
ctypes.CDLL(None).prctl(15, {mark!r}.encode(), 0, 0, 0)  # PR_SET_NAME: our marker
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
app = FastAPI()
"""

ECHO = """
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            {before_reply}
            await websocket.send_text(f"Echo: {{data}}")
    except WebSocketDisconnect:
        pass
"""


def echo(before_reply: str = "pass") -> str:
    return ECHO.format(before_reply=before_reply)


def marked(mark: str) -> list[int]:
    """Processes carrying the marker in their name or command line."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if comm == mark or mark.encode() in cmdline:
            found.append(int(entry))
    return found


def children() -> list[int]:
    """This process's children, but the zygote sandboxes are forked from (a helper that lives
    as long as the lab)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[-1].split()[1]) == os.getpid():
                found.append(int(entry))
    return [pid for pid in found if pid not in sandbox.zygote_pids()]


def settle(mark: str, timeout: float = 5.0) -> list[int]:
    """The marked processes still alive once the kernel has had time to reap them."""
    deadline = time.monotonic() + timeout
    while (left := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def grade_pair(
    lab: Lab, tmp_path: Path, mark: str, body: str, header: str | None = None
) -> tuple[StudentResult, StudentResult]:
    subs = tmp_path / "subs"
    subs.mkdir(exist_ok=True)
    (subs / "hostile.py").write_text(
        (HEADER if header is None else header).format(mark=mark) + body
    )
    (subs / "honest.py").write_bytes(SOLUTION.read_bytes())
    exercise = find_exercise("echo-loop")
    assignment = ExerciseAssignment(exercise, lab, LIMITS)
    submissions = discover(subs, "exercise")
    results = {r.student: r for r in grade_all(lab, assignment, submissions, 2)}
    honest = results["honest"]
    assert (honest.score, honest.max_score, honest.error) == (5, 5, None), honest
    assert all(c.passed for c in honest.checks)
    assert settle(mark) == [], "a process of the hostile submission outlived its grading"
    assert not [s for s in sandbox._running if s.loop is lab.loop]
    deadline = time.monotonic() + 5
    while children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children() == [], "the grader kept a child process"
    return results["hostile"], honest


def reason(result: StudentResult) -> str:
    return " | ".join([result.error or "", *(c.message for c in result.checks)])


def test_infinite_loop_at_import(lab: Lab, tmp_path: Path, mark: str) -> None:
    hostile, _ = grade_pair(lab, tmp_path, mark, "while True:\n    pass\n" + echo())
    assert hostile.score == 0
    assert hostile.error
    assert "did not start serving within 3s" in hostile.error or "limit" in hostile.error


def test_infinite_loop_in_the_handler(lab: Lab, tmp_path: Path, mark: str) -> None:
    hostile, _ = grade_pair(lab, tmp_path, mark, echo("while True: pass"))
    assert hostile.score == 0
    assert hostile.error is None  # it served: each check failed on its own
    assert all(not c.passed and c.message for c in hostile.checks)
    assert "limit" in reason(hostile) or "received nothing" in reason(hostile)


def test_sleeping_before_accept(lab: Lab, tmp_path: Path, mark: str) -> None:
    body = """
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await asyncio.sleep(3600)
    await websocket.accept()
"""
    hostile, _ = grade_pair(lab, tmp_path, mark, body)
    assert hostile.score == 0
    assert "handshake" in reason(hostile)


def test_a_memory_bomb_fails_to_allocate(lab: Lab, tmp_path: Path, mark: str) -> None:
    hostile, _ = grade_pair(lab, tmp_path, mark, "hog = bytearray(6 << 30)\n" + echo())
    assert hostile.score == 0
    assert hostile.error and "MemoryError while importing: out of memory" in hostile.error
    assert not hostile.error.rstrip().endswith(":")


def test_spawning_child_processes(lab: Lab, tmp_path: Path, mark: str) -> None:
    body = f"""
import subprocess
for _ in range(3):
    if os.fork() == 0:
        while True:
            time.sleep(1)
try:
    subprocess.Popen(["/bin/bash", "-c", "exec -a {mark} sleep 3600"])
except OSError:
    pass
""" + echo()
    hostile, _ = grade_pair(lab, tmp_path, mark, body)
    assert (hostile.score, hostile.error) == (5, None)  # it answers well: it earns its points


def test_daemonizing_to_outlive_the_grader(lab: Lab, tmp_path: Path, mark: str) -> None:
    body = """
def daemonize():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.chdir("/")
            while True:
                time.sleep(1)
        os._exit(0)
daemonize()
""" + echo()
    hostile, _ = grade_pair(lab, tmp_path, mark, body)
    assert (hostile.score, hostile.error) == (5, None)


def test_sys_exit_at_import(lab: Lab, tmp_path: Path, mark: str) -> None:
    hostile, _ = grade_pair(lab, tmp_path, mark, "sys.exit(3)\n" + echo())
    assert hostile.score == 0
    assert hostile.error and "sys.exit(3)" in hostile.error


def test_os_exit_in_the_handler(lab: Lab, tmp_path: Path, mark: str) -> None:
    hostile, _ = grade_pair(lab, tmp_path, mark, echo("os._exit(0)"))
    assert hostile.score == 0
    assert "exited" in reason(hostile) or "ended" in reason(hostile)


def test_killing_its_own_parent(lab: Lab, tmp_path: Path, mark: str) -> None:
    # In its PID namespace its parent is out of sight (getppid() is 0: its own group); it
    # tries everything it can signal too (kill -1), which must not reach the other student.
    # Without root there is no user of its own to confine it: kill -1 would reach the grader.
    everything = "; os.kill(-1, 9)" if os.geteuid() == 0 else ""
    body = echo(f"os.kill(os.getppid(), 9); os.kill(1, 9){everything}")
    hostile, _ = grade_pair(lab, tmp_path, mark, body)
    assert hostile.score == 0
    assert all(not c.passed for c in hostile.checks)


def test_flooding_messages(lab: Lab, tmp_path: Path, mark: str) -> None:
    body = """
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    while True:
        await websocket.send_text("flood " * 100)
"""
    hostile, _ = grade_pair(lab, tmp_path, mark, body)
    assert hostile.score == 0
    assert "flood" in reason(hostile)


def test_printing_hundreds_of_megabytes(lab: Lab, tmp_path: Path, mark: str) -> None:
    body = echo('for _ in range(300_000): print("y" * 1000)')
    hostile, _ = grade_pair(lab, tmp_path, mark, body)
    # Printing is not wrong: it is capped, and the echo that follows still earns its points.
    assert hostile.error is None
    assert hostile.score in (0, 1, 3, 5)


def test_a_syntax_error(lab: Lab, tmp_path: Path, mark: str) -> None:
    hostile, _ = grade_pair(lab, tmp_path, mark, "def broken(:\n    pass\n")
    assert hostile.score == 0
    assert hostile.error and "SyntaxError" in hostile.error and "hostile.py:5" in hostile.error
    assert all(c.message.startswith("not checked: ") for c in hostile.checks)


def test_no_app(lab: Lab, tmp_path: Path, mark: str) -> None:
    header = HEADER.replace("app = FastAPI()", "application = FastAPI()")
    hostile, _ = grade_pair(lab, tmp_path, mark, "", header=header)
    assert hostile.score == 0
    assert hostile.error and "no attribute 'app'" in hostile.error


def test_app_not_an_asgi_app(lab: Lab, tmp_path: Path, mark: str) -> None:
    hostile, _ = grade_pair(lab, tmp_path, mark, "app = 42\n")
    assert hostile.score == 0
    assert hostile.error and "not an ASGI app" in hostile.error


ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0, reason="a user of its own for student code needs a grader run as root"
)


@ROOT_ONLY
def test_rewriting_other_files(lab: Lab, tmp_path: Path, mark: str) -> None:
    grader_file = tmp_path / "grader-notes.txt"
    grader_file.write_text("the grader's own file\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    body = f"""
import glob, pathlib
targets = [{str(subs / "honest.py")!r}, {str(grader_file)!r}, {str(subs / "evil.py")!r}]
targets += glob.glob("/tmp/wsquiz-sandbox-*/*.py")
for target in targets:
    try:
        pathlib.Path(target).write_text("app = None  # overwritten\\n")
    except OSError:
        pass
    try:
        os.chmod(target, 0o777)
    except OSError:
        pass
""" + echo()
    before = SOLUTION.read_bytes()
    hostile, _ = grade_pair(lab, tmp_path, mark, body)
    assert (hostile.score, hostile.error) == (5, None)
    assert (subs / "honest.py").read_bytes() == before
    assert grader_file.read_text() == "the grader's own file\n"
    assert not (subs / "evil.py").exists()
    assert sorted(p.name for p in subs.iterdir()) == ["honest.py", "hostile.py"]


@ROOT_ONLY
def test_reading_the_graders_environment(tmp_path: Path, mark: str) -> None:
    """The grader runs as the instructor would run it, a secret in its environment."""
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    subs = tmp_path / "subs"
    subs.mkdir()
    body = """
import glob, posix
def leaks():
    found = [f"{k}={v}" for k, v in os.environ.items()]
    found += [f"{k!r}={v!r}" for k, v in posix.environ.items()]
    paths = ["/proc/self/environ", f"/proc/{os.getppid()}/environ"]
    for path in paths + glob.glob("/proc/*/environ"):
        try:
            found.append(open(path, "rb").read().decode("utf-8", "replace"))
        except OSError:
            pass
    return [text for text in found if "s3cr3t" in text]

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            for leak in leaks():
                await websocket.send_text(leak)
            await websocket.send_text(f"Echo: {data}")
    except WebSocketDisconnect:
        pass
"""
    (subs / "hostile.py").write_text(HEADER.format(mark=mark) + body)
    (subs / "honest.py").write_bytes(SOLUTION.read_bytes())
    db = tmp_path / "book.sqlite"
    env = {**os.environ, "WSQUIZ_GRADER_SECRET": secret}
    done = subprocess.run(
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
            "--wall",
            "3",
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout and "s3cr3t" not in done.stdout
    results = {r["student"]: r for r in json.loads(done.stdout)["results"]}
    assert results["honest"]["score"] == 5
    assert results["hostile"]["score"] == 5, results["hostile"]  # nothing found to send
    assert secret.encode() not in db.read_bytes()
    assert settle(mark) == []
