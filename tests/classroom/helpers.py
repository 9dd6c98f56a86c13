"""What the classroom's tests share: a host to serve, raw WebSocket students and teachers,
a student's terminal in process, and the host in a real terminal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support import ROOT
from wsquiz.classroom.host import Host, open_classroom
from wsquiz.classroom.material import QuizMaterial
from wsquiz.classroom.room import Classroom
from wsquiz.classroom.store import ClassroomStore

WAIT = 20.0  # generous: two busy cores


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))  # type: ignore[arg-type]


def serve_quiz(lab: Any, db: Path, port: int = 0, **options: Any) -> Host:
    """The basics quiz served on loopback. With instant feedback unless `options` say otherwise:
    the tests written before right/wrong waited for the reveal follow one student's answer
    through its verdict (`feedback="reveal"`, the host's default, is tested on its own)."""
    store = ClassroomStore(db)
    options.setdefault("feedback", "instant")
    room, _ = open_classroom(QuizMaterial(ROOT, "basics", lab), store, **options)
    return Host(room, "127.0.0.1", port)


def index_of(room: Classroom, item_id: str) -> int:
    return next(i for i, item in enumerate(room.items) if item.id == item_id)


async def join(
    host: Host, name: str, code: str | None = None, token: str | None = None
) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(f"ws://127.0.0.1:{host.port}/ws/student", open_timeout=WAIT)
    hello: dict[str, Any] = {"type": "join", "name": name, "code": code or host.room.session.code}
    if token:
        hello["token"] = token
    await ws.send(json.dumps(hello))
    try:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    except ConnectionClosed:
        return ws, {"type": "closed"}  # refused: closed_with(ws) tells the code
    return ws, welcome


async def teacher(host: Host) -> ClientConnection:
    key = host.room.session.host_key
    ws = await connect(f"ws://127.0.0.1:{host.port}/ws/teacher?key={key}", open_timeout=WAIT)
    await next_of(ws, "board")
    return ws


async def next_of(
    ws: ClientConnection, kind: str, where: Callable[[dict[str, Any]], bool] = lambda m: True
) -> dict[str, Any]:
    """The next message of this type (skipping others) that satisfies `where`."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if message.get("type") == kind and where(message):
            return message


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, "the host dropped the connection without a close frame"
        return exc.rcvd.code, exc.rcvd.reason


async def nothing_within(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    with pytest.raises(asyncio.TimeoutError):
        while True:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
    return got


class _Socket:
    """Stands in for a WebSocket: records what it is sent; a slow one never finishes a send."""

    def __init__(self, slow: bool = False) -> None:
        self.slow = slow
        self.sent: list[str] = []

    async def send_text(self, text: str) -> None:
        if self.slow:
            await asyncio.Event().wait()
        self.sent.append(text)


class Typist:
    """Lines for a StudentClient, typed by the test."""

    def __init__(self) -> None:
        import queue

        self.queue: queue.Queue[str] = queue.Queue()

    def type(self, line: str) -> None:
        self.queue.put(line + "\n")

    def read(self) -> str:
        return self.queue.get()


async def until_printed(console: Any, text: str) -> str:
    deadline = asyncio.get_running_loop().time() + WAIT
    while asyncio.get_running_loop().time() < deadline:
        shown = console.export_text(clear=False)
        if text in shown:
            return str(shown)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the student never saw {text!r}; they saw:\n{shown}")


def student_client(host: Host, name: str, lab: Any, typist: Typist, **kw: Any) -> Any:
    from rich.console import Console

    from wsquiz.ui.student import Lines, StudentClient

    console = Console(record=True, width=100, force_terminal=False, no_color=True)
    client = StudentClient(
        host.url, name, host.room.session.code, console, lab=lab, retry_s=WAIT, **kw
    )
    client.lines = Lines(asyncio.get_running_loop(), typist.read)
    return client


class _Broken:
    """A quiz whose live check breaks on the host: the class must go on."""

    mode = "quiz"
    name = "broken"
    title = "Broken"
    content = "tests"
    check_names: tuple[str, ...] = ()
    max_score = 1.0

    def __init__(self) -> None:
        from wsquiz.classroom.material import MaterialItem

        self.items = (MaterialItem("q1", "predict", "What comes back?"),)

    def observe(self, item_id: str) -> Any:
        raise RuntimeError("the lab is on fire")

    def judge(self, item_id: str, answer: str, observation: Any) -> Any:
        raise AssertionError("never judged without an observation")

    def key(self, item_id: str, observation: Any) -> str:
        return ""

    def explanation(self, item_id: str) -> str:
        return ""

    def bundle(self, item_id: str) -> dict[str, Any]:
        return {}

    def verify(self, source: str, student: str) -> Any:
        raise AssertionError


def spawn_host_in_a_terminal(tmp_path: Path, *material: str) -> Any:
    """`wsquiz classroom host` on a terminal (the basics quiz, unless `material` says
    `--exercise NAME`); once it exits, `stty -a` shows the mode it left."""
    pexpect = pytest.importorskip("pexpect")
    env = {
        **os.environ,
        "COLUMNS": "100",
        "NO_COLOR": "1",
        "TERM": "xterm",
        "WSQUIZ_HOME": str(tmp_path),
    }
    return pexpect.spawn(
        "sh",
        [
            "-c",
            'trap : INT TERM; "$@"; status=$?; stty -a; exit $status',
            "sh",
            sys.executable,
            "-m",
            "wsquiz",
            "classroom",
            "host",
            *(material or ("--quiz", "basics")),
            "--port",
            "0",
            "--db",
            str(tmp_path / "c.db"),
        ],
        env=env,
        encoding="utf-8",
        timeout=WAIT,
        dimensions=(60, 100),
    )


def expect_terminal_restored(host: Any) -> None:
    host.expect(r"(-?)icanon")
    assert host.match.group(1) == "", "the terminal was left without line editing"
    host.expect(r"(-?)echo\b")
    assert host.match.group(1) == "", "the terminal was left without echo"
