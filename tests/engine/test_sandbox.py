"""Learner code in a sandbox: clear load errors, limits, and nothing left behind."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from wsquiz.engine import client as ws_client
from wsquiz.engine import lab as lab_module
from wsquiz.engine import sandbox
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import Lab, play_against
from wsquiz.engine.scenario import Scenario
from wsquiz.engine.serving import Limits
from wsquiz.engine.transcript import Transcript
from wsquiz.errors import AppLoadError, LabError

HEADER = "from fastapi import FastAPI, WebSocket\napp = FastAPI()\n"
ENDPOINT = "@app.websocket('/ws')\nasync def ws(websocket: WebSocket):\n"


def write_app(tmp_path: Path, body: str, name: str = "app.py", header: str = HEADER) -> AppSpec:
    path = tmp_path / name
    path.write_text(header + body)
    return AppSpec.parse(path)


def handler(*lines: str) -> str:
    return ENDPOINT + "".join(f"    {line}\n" for line in lines)


def descendants(root: int | None = None) -> list[int]:
    """Every live process below this one (zombies included: they hold a pid too)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[-1].split()[1])
    found, frontier = [], [root or os.getpid()]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


@pytest.fixture
def strays() -> Callable[[], set[int]]:
    """The processes below this one that were not there when the test began (a lab's zygote,
    its long-lived helper, is not one: what it forks is)."""
    before = set(descendants())
    return lambda: set(descendants()) - before - sandbox.zygote_pids()


def processes_running(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(entry))
    return found


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def marker_seconds() -> str:
    """A unique `sleep` duration, so a test finds its own stray processes and no one else's."""
    return f"900.{uuid.uuid4().int % 10**9:09d}"


def probe(
    lab: Lab, spec: AppSpec, sends: list[str], timeout: float = 5.0, limits: Limits | None = None
) -> Transcript:
    return lab.observe(spec, Scenario.probe("/ws", sends, timeout), isolated=True, limits=limits)


# ---- load errors: file, line, what, how to fix; on both paths ----------------------------

LOAD_ERRORS = {
    "syntax": (
        "from fastapi import FastAPI\napp = FastAPI(\n",
        2,
        "SyntaxError",
    ),
    "import": (
        "import fastapi\nimport no_such_module_wsq\napp = fastapi.FastAPI()\n",
        2,
        "ModuleNotFoundError",
    ),
    "raises": (
        "from fastapi import FastAPI\n\nx = 1 / 0\napp = FastAPI()\n",
        3,
        "ZeroDivisionError",
    ),
    "no-app": (
        "from fastapi import FastAPI\napplication = FastAPI()\n",
        None,
        "no attribute 'app'",
    ),
    "not-asgi": ("app = 42\n", None, "not an ASGI app"),
    "exits": ("import sys\nsys.exit(3)\n", 2, "sys.exit(3)"),
}


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
@pytest.mark.parametrize("case", list(LOAD_ERRORS))
def test_load_errors_name_file_and_line(
    lab: Lab, tmp_path: Path, case: str, isolated: bool
) -> None:
    source, line, problem = LOAD_ERRORS[case]
    spec = write_app(tmp_path, source, header="")
    with pytest.raises(AppLoadError) as caught:
        lab.observe(spec, Scenario.probe("/ws", [], 1), isolated=isolated)
    error = caught.value
    assert error.path == str(spec.path)  # the learner's file, never the sandbox's copy
    assert error.line == line
    assert problem in error.problem
    assert error.fix
    assert "wsquiz" not in error.detail  # the trimmed traceback shows only the learner's file
    where = f"{spec.path}:{line}" if line else str(spec.path)
    assert str(error).startswith(f"{where}: ")


def test_no_app_suggests_the_attribute_it_found(tmp_path: Path) -> None:
    from wsquiz.engine.appfile import load_app

    spec = write_app(tmp_path, "", header="from fastapi import FastAPI\napplication = FastAPI()\n")
    with pytest.raises(AppLoadError) as caught:
        load_app(spec)
    assert "app.py:application" in caught.value.fix
    other, _ = load_app(AppSpec.parse(f"{spec.path}:application"))
    assert callable(other)


def test_attr_form_serves_that_attribute(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "two.py"
    path.write_text(
        HEADER.replace("app = FastAPI()", "app = FastAPI()\nother = FastAPI()")
        + "@other.websocket('/ws')\nasync def ws(websocket: WebSocket):\n"
        "    await websocket.accept()\n    await websocket.send_text('other')\n"
    )
    seen = probe(lab, AppSpec.parse(f"{path}:other"), [])
    assert seen.received() == ["other"]
    assert AppSpec.parse(f"{path}:other").attr == "other"
    assert AppSpec.parse(path).attr == "app"


# ---- nothing left behind -------------------------------------------------------------------


def test_nothing_left_after_a_probe(
    lab: Lab, tmp_path: Path, strays: Callable[[], set[int]]
) -> None:
    marker = marker_seconds()
    spec = write_app(
        tmp_path,
        "import subprocess\n"
        + handler(
            "await websocket.accept()",
            f"subprocess.Popen(['sleep', '{marker}'])",
            f"subprocess.Popen(['setsid', 'sh', '-c', 'sleep {marker} & sleep {marker}'])",
            "await websocket.send_text('spawned')",
            "await websocket.receive_text()",
        ),
    )
    served = lab.serve(spec, isolated=True)
    seen = lab.call(play_against(served, Scenario.probe("/ws", [], 1.0)))
    assert seen.received() == ["spawned"]
    deadline = time.monotonic() + 5
    while len(processes_running(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(processes_running(marker)) >= 3  # the app really did start its strays
    lab.call(served.stop())
    assert processes_running(marker) == []
    assert strays() == set()
    assert not listening(served.port)


def test_nothing_left_after_the_app_crashes(
    lab: Lab, tmp_path: Path, strays: Callable[[], set[int]]
) -> None:
    spec = write_app(
        tmp_path,
        "import os\n"
        + handler("await websocket.accept()", "await websocket.receive_text()", "os._exit(7)"),
    )
    seen = probe(lab, spec, ["boom"])
    close = seen.client().close
    assert close is not None and close.code == 1006
    assert seen.server.exit_status is not None and "status 7" in seen.server.exit_status
    assert strays() == set()


def test_nothing_left_after_a_timeout(
    lab: Lab, tmp_path: Path, strays: Callable[[], set[int]]
) -> None:
    spec = write_app(
        tmp_path,
        "import asyncio\n" + handler("await websocket.accept()", "await asyncio.sleep(3600)"),
    )
    served = lab.serve(spec, isolated=True)
    seen = lab.call(play_against(served, Scenario.probe("/ws", ["hello?"], 0.3)))
    lab.call(served.stop())
    assert seen.received() == []
    assert any("the server did not close" in note for note in seen.timed_out)
    assert strays() == set()
    assert not listening(served.port)


def test_a_handler_that_hangs_before_accept(
    lab: Lab, tmp_path: Path, strays: Callable[[], set[int]]
) -> None:
    spec = write_app(
        tmp_path,
        "import asyncio\n" + handler("await asyncio.sleep(3600)", "await websocket.accept()"),
    )
    seen = probe(lab, spec, ["hi"], timeout=0.3)
    assert not seen.client().handshake.accepted
    assert seen.client().handshake.status == 0
    assert "did not answer the handshake within 0.3s" in seen.client().handshake.body
    assert strays() == set()


def test_an_endless_loop_at_import_ends_at_the_startup_limit(
    lab: Lab, tmp_path: Path, strays: Callable[[], set[int]]
) -> None:
    spec = write_app(tmp_path, "while True:\n    pass\n")
    with pytest.raises(LabError) as caught:
        probe(lab, spec, [], limits=Limits(startup_s=0.5))
    assert "did not start serving within 0.5s" in str(caught.value)
    assert str(spec.path) in str(caught.value)
    assert strays() == set()


def test_a_busy_handler_is_stopped_by_the_wall_clock_limit(
    lab: Lab, tmp_path: Path, strays: Callable[[], set[int]]
) -> None:
    spec = write_app(tmp_path, handler("await websocket.accept()", "while True:", "    pass"))
    served = lab.serve(spec, isolated=True, limits=Limits(wall_s=1.0, startup_s=10.0))
    seen = lab.call(play_against(served, Scenario.probe("/ws", ["x"], 3.0)))
    assert seen.server.exit_status is not None
    assert "wall-clock limit of 1s" in seen.server.exit_status
    assert not listening(served.port)
    lab.call(served.stop())
    assert strays() == set()


def test_exit_at_import_is_reported(lab: Lab, tmp_path: Path) -> None:
    spec = write_app(tmp_path, "import os\nos._exit(9)\n")
    with pytest.raises(LabError) as caught:
        probe(lab, spec, [])
    assert "ended before it served" in str(caught.value)
    assert "status 9" in str(caught.value)


def test_lab_close_stops_every_server(tmp_path: Path, strays: Callable[[], set[int]]) -> None:
    spec = write_app(
        tmp_path, handler("await websocket.accept()", "await websocket.receive_text()")
    )
    lab = Lab()
    servers = [lab.serve(spec, isolated=True), lab.serve(spec, isolated=True), lab.serve(spec)]
    assert all(listening(s.port) for s in servers)
    assert len(strays()) >= 2  # two sandboxed servers (each with a keeper, where not root)
    lab.close()
    lab.close()  # twice is fine
    assert [s.port for s in servers if listening(s.port)] == []
    assert strays() == set()


def test_lab_close_kills_sandboxes_even_when_its_loop_is_stuck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strays: Callable[[], set[int]]
) -> None:
    monkeypatch.setattr(lab_module, "CLOSE_TIMEOUT", 0.3)
    spec = write_app(tmp_path, handler("await websocket.accept()"))
    lab = Lab()
    served = lab.serve(spec, isolated=True)

    async def stuck() -> None:
        time.sleep(1.5)  # blocks the lab's loop on purpose

    lab.submit(stuck())
    lab.close()
    assert strays() == set()
    assert not listening(served.port)


# ---- limits on what the observer keeps ---------------------------------------------------


def test_a_flooding_server_is_truncated(
    lab: Lab, tmp_path: Path, strays: Callable[[], set[int]]
) -> None:
    spec = write_app(
        tmp_path,
        handler(
            "await websocket.accept()", "while True:", "    await websocket.send_text('x' * 100)"
        ),
    )
    seen = probe(lab, spec, [], timeout=5.0)
    record = seen.client()
    assert record.truncated
    assert len(seen.received()) == ws_client.MAX_FRAMES
    assert record.close is not None and (record.close.code, record.close.by) == (1009, "client")
    assert seen.to_dict()["clients"][0]["truncated"] is True
    assert strays() == set()


def test_a_frame_over_the_size_cap_is_refused(lab: Lab, tmp_path: Path) -> None:
    spec = write_app(
        tmp_path,
        handler(
            "await websocket.accept()",
            "await websocket.send_bytes(b'x' * 5_000_000)",
            "await websocket.receive_text()",
        ),
    )
    seen = probe(lab, spec, [])
    assert seen.client().truncated
    close = seen.client().close
    assert close is not None and close.code == 1009
    assert seen.received() == []


def test_printing_a_lot_is_capped(lab: Lab, tmp_path: Path) -> None:
    spec = write_app(
        tmp_path,
        handler(
            "await websocket.accept()",
            "for i in range(100_000):",
            "    print('line', i)",
            "await websocket.send_text('done')",
        ),
    )
    seen = probe(lab, spec, [])
    assert seen.received() == ["done"]
    assert seen.server.output_truncated
    assert sum(len(line) for line in seen.server.logs) < 128 * 1024


def test_memory_is_limited(lab: Lab, tmp_path: Path) -> None:
    spec = write_app(
        tmp_path,
        handler(
            "await websocket.accept()",
            "block = bytearray(2 * 1024 ** 3)",
            "await websocket.send_text('allocated')",
        ),
    )
    seen = probe(lab, spec, [], limits=Limits(memory_mb=256))
    assert seen.received() == []
    assert [e.type for e in seen.errors] == ["MemoryError"]


def test_the_environment_is_scrubbed(
    lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSQUIZ_TEST_SECRET", "hunter2")
    spec = write_app(
        tmp_path,
        "import os\n"
        + handler(
            "await websocket.accept()",
            "await websocket.send_text(os.environ.get('WSQUIZ_TEST_SECRET', 'absent'))",
            "await websocket.send_text(open('/proc/self/environ').read())",
        ),
    )
    seen = probe(lab, spec, [])
    assert seen.received()[0] == "absent"
    assert "hunter2" not in seen.received()[1]


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to user nobody needs root")
def test_the_server_runs_as_nobody(lab: Lab, tmp_path: Path) -> None:
    spec = write_app(
        tmp_path,
        "import os\n"
        + handler(
            "await websocket.accept()", "await websocket.send_text(f'{os.getuid()} {os.getpid()}')"
        ),
    )
    seen = probe(lab, spec, [])
    uid, pid = seen.received()[0].split()
    assert int(uid) == 65534 or int(uid) > 100_000  # nobody, or a user of its own
    assert pid == "1"  # PID 1 of its own namespace: its whole tree dies with it


# ---- the sandbox's protections ---------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
def test_every_protection_holds_here() -> None:
    assert sandbox.missing_protections() == ()


@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")
def test_the_server_has_no_capabilities_and_sees_nothing_else(lab: Lab, tmp_path: Path) -> None:
    with socket.socket() as grader:
        grader.bind(("127.0.0.1", 0))
        grader.listen(1)
        port = grader.getsockname()[1]
        spec = write_app(
            tmp_path,
            "import os, socket\n"
            + handler(
                "await websocket.accept()",
                "status = dict(l.split(':', 1) for l in open('/proc/self/status'))",
                "caps = sorted({status[k].strip() for k in ('CapEff', 'CapPrm', 'CapBnd')})",
                "await websocket.send_text(' '.join(caps))",
                "try:",
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)",
                "    await websocket.send_text('reached the grader')",
                "except OSError as exc:",
                "    await websocket.send_text(type(exc).__name__)",
                "await websocket.send_text(' '.join(sorted(os.listdir('/tmp'))))",
                "await websocket.send_text(str(len(os.listdir('/proc'))))",
                "await websocket.send_text(os.getcwd())",
            ),
        )
        (tmp_path / "static.txt").write_text("beside the app")
        seen = probe(lab, spec, [])
    caps, reached, private, processes, cwd = seen.received()
    assert caps == "0000000000000000"
    assert reached in ("OSError", "PermissionError", "ConnectionRefusedError")
    assert "app" in private.split() and tmp_path.name not in private
    assert int(processes) < 80  # its own /proc: a handful of its own entries, no one else's
    assert cwd == "/tmp/app"  # a copy of the app's folder, as uvicorn's working directory


def test_a_missing_protection_is_said_before_grading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from wsquiz.cli import app as cli

    monkeypatch.setattr(sandbox, "missing_protections", lambda: ("a network namespace (test)",))
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "broken.py").write_text("def broken(:\n")
    db = str(tmp_path / "book.sqlite")
    result = CliRunner().invoke(cli, ["grade", str(subs), "--exercise", "echo-loop", "--db", db])
    assert result.exit_code == 0, result.output
    assert "warning: the sandbox lacks a network namespace (test)" in result.output


@pytest.mark.parametrize("over", ["files", "bytes"])
def test_a_folder_too_large_to_copy_is_an_error_not_a_copy_cut_short(
    lab: Lab, tmp_path: Path, over: str
) -> None:
    from wsquiz.engine.sandbox import confine

    spec = write_app(tmp_path, handler("await websocket.accept()"), name="main.py")
    data = tmp_path / "data"
    data.mkdir()
    if over == "files":
        for n in range(confine.MAX_FILES + 1):
            (data / f"{n}.txt").write_text("x")
    else:
        (data / "big.bin").write_bytes(b"x" * (confine.MAX_COPIED + 1))
    with pytest.raises(AppLoadError) as caught:
        lab.observe(spec, Scenario.probe("/ws", [], 1), isolated=True)
    error = caught.value
    assert error.path == str(tmp_path)
    limit = f"{confine.MAX_FILES} files" if over == "files" else f"{confine.MAX_COPIED >> 20} MiB"
    assert limit in error.problem
    assert "--app-dir" in error.fix and "smaller folder" in error.fix


LIFESPAN = """
from contextlib import asynccontextmanager
import asyncio, time
from fastapi import FastAPI, WebSocket

@asynccontextmanager
async def lifespan(app):
    yield
    print("shutdown began")
    {shutdown}

app = FastAPI(lifespan=lifespan)

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    await websocket.close()
"""


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])
def test_a_failing_lifespan_shutdown_is_reported_on_both_paths(
    lab: Lab, tmp_path: Path, isolated: bool
) -> None:
    spec = write_app(
        tmp_path, LIFESPAN.format(shutdown="raise ValueError('no goodbye')"), header=""
    )
    seen = lab.observe(spec, Scenario.probe("/ws", [], 2), isolated=isolated)
    assert "shutdown began" in seen.server.logs
    [error] = [e for e in seen.server.errors if "no goodbye" in e.message]
    assert error.origin == "lifespan shutdown"
    assert seen.server.exit_status is None  # stopped by the lab: not an ending of its own


@pytest.mark.parametrize("shutdown", ["time.sleep(60)", "await asyncio.sleep(60)"])
def test_a_lifespan_shutdown_that_never_ends_is_killed_and_leaves_nothing(
    lab: Lab, tmp_path: Path, shutdown: str, strays: Callable[[], set[int]]
) -> None:
    marker = marker_seconds()
    body = f"import subprocess; subprocess.Popen(['sleep', '{marker}'])\n    " + shutdown
    spec = write_app(tmp_path, LIFESPAN.format(shutdown=body), header="")
    served = lab.serve(spec, isolated=True)
    port = served.port
    lab.call(served.stop())
    assert "shutdown began" in served.recorder.snapshot().logs
    assert not listening(port)
    assert processes_running(marker) == []
    assert strays() == set()
