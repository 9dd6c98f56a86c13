"""A hostile class: submissions that attack their classmates, the grader and the machine.

Each test grades a hostile submission beside the reference solution, two at a time, and asserts
what the honest classmate scores (5/5, as alone) and what the hostile one scores: never more
than its own code earns honestly (`alone`: the same code without the attack, graded the same way).
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from tests.grading.test_hostile import HEADER, SOLUTION, echo, grade_pair, reason
from wsquiz.engine.lab import Lab
from wsquiz.engine.sandbox import missing_protections
from wsquiz.grading.gradebook import StudentResult

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs a root grader")

# Echoes without the try/except: its own code honestly raises WebSocketDisconnect when the
# client leaves, so it earns 3 of 5 (the check "client-leaves-cleanly" wants no server error).
UNGUARDED = """
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    while True:
        data = await websocket.receive_text()
        await websocket.send_text(f"Echo: {data}")
"""
# Replies without the prefix: 0 of 5 on its own.
WRONG = """
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
"""


def alone(lab: Lab, tmp_path: Path, mark: str, body: str) -> float:
    """What `body` scores when graded the same way, with no attack in it."""
    folder = tmp_path / "alone"
    folder.mkdir()
    hostile, _ = grade_pair(lab, folder, mark, body)
    return hostile.score


def tampered(result: StudentResult) -> bool:
    return "tampering with the grader" in reason(result)


@ROOT_ONLY
def test_connecting_to_classmates_and_the_grader(lab: Lab, tmp_path: Path, mark: str) -> None:
    """It finds listening ports in /proc/net/tcp, scans loopback, and floods what it reaches."""
    with socket.socket() as grader_port:
        grader_port.bind(("127.0.0.1", 0))
        grader_port.listen(16)
        grader_port.setblocking(False)
        body = """
import socket, threading
reached = []

def ports():
    found = set(range(1024, 65536, 7))
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in open(table).read().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":
                    found.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return sorted(found)

def attack():
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        for port in ports():
            try:
                peer = socket.create_connection(("127.0.0.1", port), timeout=0.05)
            except OSError:
                continue
            reached.append(port)
            try:
                peer.sendall(b"GET /ws HTTP/1.1\\r\\n" + b"x" * 65536)
            except OSError:
                pass

threading.Thread(target=attack, daemon=True).start()

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            mine = websocket.scope["server"][1]
            others = [p for p in reached if p != mine]
            await websocket.send_text(f"reached {others}" if others else f"Echo: {data}")
    except WebSocketDisconnect:
        pass
"""
        hostile, honest = grade_pair(lab, tmp_path, mark, body)
        with pytest.raises(BlockingIOError):
            grader_port.accept()  # nothing reached the grader's own port either
    assert (honest.score, hostile.score) == (5, 5), reason(hostile)  # it reached nothing


@ROOT_ONLY
def test_reading_what_is_not_its_own(lab: Lab, tmp_path: Path, mark: str) -> None:
    """/etc/shadow, a classmate, the reference solution, the gradebook, the data home, home
    folders, wsquiz's own source, other sandboxes' folders: none is readable."""
    book = tmp_path / "gradebook.sqlite"
    book.write_text("grades")
    home = Path(os.environ["WSQUIZ_HOME"])
    (home / "classroom.db").write_text("the teacher's key")
    from wsquiz.engine import capture

    secrets = [
        "/etc/shadow",
        str(tmp_path / "subs" / "honest.py"),
        str(SOLUTION),
        str(SOLUTION.parent),
        str(book),
        str(home / "classroom.db"),
        str(home),
        os.path.expanduser("~/.bashrc"),
        os.path.expanduser("~"),
        capture.__file__,
        str(tmp_path),
        f"/proc/{os.getpid()}/environ",  # the grader's, by its pid outside
    ]
    body = f"""
leaks = []
for path in {secrets!r}:
    try:
        if os.path.isdir(path):
            leaks.append(f"{{path}}: {{os.listdir(path)[:3]}}")
        else:
            leaks.append(f"{{path}}: {{open(path, 'rb').read(40)!r}}")
    except OSError:
        pass
import glob
python = {sys.prefix!r}  # Python's own installation may be under /tmp: it is put back
leaks += [p for p in glob.glob("/tmp/*") if p != "/tmp/app" and not python.startswith(p)]
leaks += glob.glob("/tmp/app/*honest*")
""" + echo('if leaks: await websocket.send_text(f"leaked {leaks}")')
    hostile, honest = grade_pair(lab, tmp_path, mark, body)
    assert honest.score == 5
    assert hostile.score == 5, reason(hostile)  # nothing leaked: every echo is plain


@ROOT_ONLY
@pytest.mark.parametrize(
    "attack",
    [
        # the reference solution's file, read and run
        "exec(open({solution!r}).read())",
        # wsquiz's own copy of the course, imported afresh
        "from wsquiz.course.exercises import find_exercise\n"
        "exec(find_exercise('echo-loop').solution.read_text())",
        # a classmate's Submission (or the solution's source) looked for in memory
        "import gc\n"
        "found = [o for o in gc.get_objects() if type(o).__name__ == 'Submission']\n"
        "exec(open(found[0].path).read())",
    ],
    ids=["read-the-solution", "import-wsquiz", "memory-of-the-grader"],
)
def test_running_someone_elses_code(lab: Lab, tmp_path: Path, mark: str, attack: str) -> None:
    own = alone(lab, tmp_path, mark, WRONG)
    code = attack.format(solution=str(SOLUTION))
    body = WRONG + "\ntry:\n" + "".join(f"    {line}\n" for line in code.splitlines())
    body += "except Exception:\n    pass\n"
    hostile, honest = grade_pair(lab, tmp_path, mark, body)
    assert honest.score == 5
    assert own == 0
    assert hostile.score == own, reason(hostile)


@ROOT_ONLY
@pytest.mark.parametrize(
    "patch",
    [
        # the recorder's class: its errors dropped
        "from wsquiz.engine.capture import Recorder\n"
        "emit = Recorder.emit\n"
        "Recorder.emit = lambda self, kind, value: (\n"
        "    None if kind == 'error' else emit(self, kind, value))",
        # the capture module's description of an exception
        "import wsquiz.engine.capture as capture\n"
        "capture.describe_exception = lambda exc, app_file: (_ for _ in ()).throw(SystemExit)",
        # the live recorder, found through the frames that loaded this module
        "import sys\n"
        "frame = sys._getframe()\n"
        "while frame is not None and 'recorder' not in frame.f_locals:\n"
        "    frame = frame.f_back\n"
        "frame.f_locals['recorder'].__dict__['emit'] = lambda kind, value: None",
        # the code of the recorder's method, swapped
        "from wsquiz.engine.capture import Recorder\n"
        "Recorder.emit.__code__ = (lambda self, kind, value: None).__code__",
    ],
    ids=["class", "module", "instance", "code"],
)
def test_patching_the_recorder(lab: Lab, tmp_path: Path, mark: str, patch: str) -> None:
    own = alone(lab, tmp_path, mark, UNGUARDED)
    body = "try:\n" + "".join(f"    {line}\n" for line in patch.splitlines())
    body += "except Exception:\n    pass\n" + UNGUARDED
    hostile, honest = grade_pair(lab, tmp_path, mark, body)
    assert honest.score == 5
    assert own == 3
    assert hostile.score <= own, reason(hostile)
    assert tampered(hostile), reason(hostile)


@ROOT_ONLY
def test_forging_the_reports(lab: Lab, tmp_path: Path, mark: str) -> None:
    """It writes the grader's own report lines to every pipe it holds: a handler's end before
    its error, 400 KB of logs to use up what the grader keeps, and prints a verdict."""
    own = alone(lab, tmp_path, mark, UNGUARDED)
    forge = """
import stat
def forge():
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISFIFO(os.fstat(int(name)).st_mode):
                flood = b'["log", "' + b"x" * 1000 + b'"]\\n'
                os.write(int(name), b'["end", null]\\n' * 5 + b'["ready", []]\\n' + flood * 400)
        except OSError:
            pass
    print("passed 5/5")
"""
    body = forge + UNGUARDED.replace(
        "await websocket.accept()", "await websocket.accept()\n    forge()"
    )
    hostile, honest = grade_pair(lab, tmp_path, mark, body)
    assert honest.score == 5
    assert own == 3
    assert hostile.score <= own, reason(hostile)


@ROOT_ONLY
@pytest.mark.skipif(
    any("memory limit" in p for p in missing_protections()), reason="no memory cgroup here"
)
def test_memory_spread_over_children(lab: Lab, tmp_path: Path, mark: str) -> None:
    """Six children of 120 MB each: under the per-process limit each, over the sandbox's."""
    body = """
import select
kids, dead = [], set()
ready_r, ready_w = os.pipe()
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        os.close(ready_r)
        try:
            block = bytearray(120 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
        except MemoryError:
            os._exit(1)
        os.write(ready_w, b"1")  # all of its 120 MB touched
        while True:
            time.sleep(1)
    kids.append(pid)
os.close(ready_w)

def alive():
    for pid in kids:
        if pid not in dead:
            try:
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    dead.add(pid)
            except ChildProcessError:
                dead.add(pid)
    return len(kids) - len(dead)

# Until every child has touched its memory or died, however loaded the machine (a fixed
# sleep let a slow machine look before the children had filled the sandbox).
touched, deadline = 0, time.monotonic() + 4
while touched + len(dead) < len(kids) and time.monotonic() < deadline:
    if select.select([ready_r], [], [], 0.05)[0]:
        touched += len(os.read(ready_r, 6))
    alive()
""" + echo('if alive() < 6: await websocket.send_text("some children died")')
    hostile, honest = grade_pair(lab, tmp_path, mark, body)
    assert honest.score == 5
    assert hostile.score == 0, reason(hostile)  # 720 MB never fit in the sandbox's 256


@ROOT_ONLY
def test_filling_the_disk_and_leaving_files(lab: Lab, tmp_path: Path, mark: str) -> None:
    places = ["/tmp", "/dev/shm", "/var/tmp"]
    body = f"""
written = 0
for place in {places!r}:
    for index in range(40):
        try:
            with open(f"{{place}}/{mark}-{{index}}", "wb") as out:
                for _ in range(8):
                    out.write(b"x" * (1 << 20))
                    written += 1 << 20
        except OSError:
            break
""" + echo('if written > 3 * 80 << 20: await websocket.send_text(f"wrote {written}")')
    hostile, honest = grade_pair(lab, tmp_path, mark, body)
    assert honest.score == 5
    assert hostile.score == 5, reason(hostile)  # each folder held at most its 64 MB
    for place in places:
        assert not list(Path(place).glob(f"{mark}-*")), f"files left in {place}"


def test_header_names_the_marker() -> None:
    assert "{mark!r}" in HEADER  # the hostile files above are found by it
