"""What the classroom shows the teacher and exports: the terminal board's keys, the export."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner
from websockets.asyncio.client import ClientConnection, connect

from tests.classroom.helpers import spawn_host_in_a_terminal
from tests.support import ROOT
from wsquiz.classroom.host import Host, open_classroom
from wsquiz.classroom.material import ExerciseMaterial, QuizMaterial
from wsquiz.classroom.store import ClassroomStore
from wsquiz.cli import app
from wsquiz.ui.board import board_view

WAIT = 20.0


def board(mode: str, *, ended: bool = False) -> dict[str, Any]:
    question = (
        {"id": "echo-loop", "prompt": "Write an echo.", "options": []}
        if mode == "exercise"
        else {"id": "first-call", "prompt": "What first?", "options": []}
    )
    return {
        "title": "a class",
        "mode": mode,
        "join": "http://127.0.0.1:9",
        "code": "K7P2QX",
        "ended": ended,
        "total": 1,
        "index": 0,
        "revealed": False,
        "key": None,
        "question": question,
        "answered": 0,
        "joined": 0,
        "online": 0,
        "spread": [],
        "students": [],
    }


def footer(data: dict[str, Any], single_keys: bool) -> str:
    console = Console(record=True, width=200, no_color=True)
    console.print(board_view(data, single_keys=single_keys))
    return console.export_text().rstrip().splitlines()[-1]


def test_the_board_footer_offers_only_the_keys_that_do_something() -> None:
    assert footer(board("quiz"), True) == (
        "Enter/n next · p previous · r reveal · N Enter go to question N · e end · q quit"
    )
    # an exercise is on screen from the start: nothing to step through or reveal
    assert footer(board("exercise"), True) == "e end · q quit"
    assert footer(board("exercise"), False) == "a command, then Enter: e end · q quit"
    for mode in ("quiz", "exercise"):
        for single in (True, False):
            assert footer(board(mode, ended=True), single) == "q quit"
    console = Console(record=True, width=200, no_color=True)
    console.print(board_view(board("quiz", ended=True) | {"question": None}))
    text = console.export_text()
    assert "the session has ended: q leaves" in text
    assert "press Enter" not in text  # no question to push any more


async def next_of(ws: ClientConnection, kind: str, wait: float = WAIT) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
        if message.get("type") == kind:
            return message


def test_an_exercise_board_in_a_terminal_takes_e_and_q_then_only_q(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    host = spawn_host_in_a_terminal(tmp_path, "--exercise", "echo-loop")
    try:
        host.expect(r"join http://127\.0\.0\.1:(\d+) --code (\w{6})")
        port, code = int(host.match.group(1)), host.match.group(2)
        host.expect("e end · q quit")
        assert "p previous" not in host.before and "r reveal" not in host.before

        async def scenario() -> None:
            ws = await connect(f"ws://127.0.0.1:{port}/ws/student", open_timeout=WAIT)
            await ws.send(json.dumps({"type": "join", "code": code, "name": "zoe"}))
            await next_of(ws, "welcome")
            await next_of(ws, "question")  # the exercise, at once
            await asyncio.to_thread(host.expect, "zoe joined")
            for key, shown in (("n", "'n'"), ("p", "'p'"), ("r", "'r'"), ("1", "'1'")):
                host.send(key)
                await asyncio.to_thread(host.expect, f"unknown key {shown}: e, q")
            host.send("\r")
            await asyncio.to_thread(host.expect, "unknown key Enter: e, q")
            with pytest.raises(asyncio.TimeoutError):  # nothing was pushed again
                await next_of(ws, "question", wait=1.0)
            host.send("e")
            await asyncio.to_thread(host.expect, "press e again to end the session")
            host.send("e")
            await next_of(ws, "ended")
            await ws.close()

        asyncio.run(asyncio.wait_for(scenario(), 120))
        host.expect("the session has ended: q leaves")
        host.expect(r"(e end · )?q quit")
        assert host.match.group(1) is None, "the footer still offers e after the end"
        host.send("n")
        host.expect("the session has ended: q leaves")
        host.send("q")
        host.expect(pexpect.EOF)
    finally:
        if host.isalive():
            host.terminate(force=True)
    assert host.exitstatus == 0


# ---- the export's head -------------------------------------------------------------------


def test_a_classroom_export_names_its_quiz_and_session(
    lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "classroom.db"
    room, _ = open_classroom(QuizMaterial(ROOT, "basics", lab), ClassroomStore(db))
    echo = next(i for i, item in enumerate(room.items) if item.id == "echo-reply")

    with Host(room) as host:

        async def scenario() -> None:
            key = room.session.host_key
            teacher = await connect(f"ws://127.0.0.1:{host.port}/ws/teacher?key={key}")
            ws = await connect(f"ws://127.0.0.1:{host.port}/ws/student", open_timeout=WAIT)
            await ws.send(json.dumps({"type": "join", "code": room.session.code, "name": "ada"}))
            await next_of(ws, "welcome")
            await teacher.send(json.dumps({"type": "push", "index": echo}))
            await next_of(ws, "question")
            answer = {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            await ws.send(json.dumps(answer))
            await next_of(ws, "verdict")
            await ws.close()
            await teacher.close()

        asyncio.run(asyncio.wait_for(scenario(), 60))

    runner = CliRunner()
    shown = runner.invoke(app, ["classroom", "export", "--db", str(db), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert list(data) == ["quiz", "session", "results"]
    assert data["quiz"] == "basics" and data["session"] == room.session.id
    [ada] = data["results"]
    assert list(ada) == ["student", "score", "max_score", "checks", "error"]  # as in grade
    assert ada["student"] == "ada" and ada["score"] == 1

    out = tmp_path / "class.json"
    written = runner.invoke(
        app, ["classroom", "export", "--db", str(db), "--format", "json", "--out", str(out)]
    )
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text()) == data


def test_an_exercise_export_says_exercise(tmp_path: Path) -> None:
    db = tmp_path / "classroom.db"
    room, _ = open_classroom(ExerciseMaterial(ROOT, "echo-loop", None), ClassroomStore(db))
    runner = CliRunner()
    shown = runner.invoke(app, ["classroom", "export", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {
        "exercise": "echo-loop",
        "session": room.session.id,
        "results": [],
    }


@pytest.mark.parametrize("count", [30, 50])
def test_the_teachers_board_fits_a_class_in_120x35(count: int) -> None:
    """Issue 15: a real class on a laptop's terminal: every student on the board, the key footer
    the last line, the prompt cut at a word, and names shown literally."""
    data = board("quiz") | {
        "question": {
            "id": "echo-reply",
            "prompt": "Consider this endpoint that echoes messages back to the client " * 6,
            "options": [],
        },
        "joined": count,
        "online": count - 2,
        "answered": 12,
        "answered_online": 11,
        "students": [
            {
                "name": f"student {n:02d}" if n else "[red]x[/] \x1b]2;PWNED\x07",
                "online": n < count - 2,
                "done": n < 12,
                "n": n + 1,
            }
            for n in range(count)
        ],
    }
    events = deque(f"student {n:02d} joined" for n in range(8))
    console = Console(record=True, width=120, height=35, no_color=True)
    console.print(board_view(data, events, single_keys=True, height=35, width=120))
    lines = console.export_text().rstrip("\n").splitlines()
    assert len(lines) <= 35
    assert (
        lines[-1]
        == "Enter/n next · p previous · r reveal · N Enter go to question N · e end · q quit"
    )
    text = "\n".join(lines)
    shown = [n for n in range(1, count) if f"student {n:02d}" in text]
    assert len(shown) == count - 1, f"students cut: {sorted(set(range(1, count)) - set(shown))}"
    assert f"11 of {count - 2} answered" in text and "not answered: " in text
    # the hostile name: its markup as text, its escape shown escaped (cut to the grid's cell)
    assert "[red]x[/]" in text and "\x1b" not in text and "\\x1b" in text
    prompt = next(line for line in lines if line.startswith("Consider"))
    assert prompt.endswith("client …") or prompt.endswith("…")


def test_holding_a_key_on_the_teachers_board_never_ends_it(tmp_path: Path) -> None:
    """Key repeat: 120 presses at once. One command is in flight at a time, the rest go as one
    move; the board stays, and `q` still leaves it normally."""
    host = spawn_host_in_a_terminal(tmp_path)
    try:
        host.expect("no question yet")
        host.expect("N Enter go to question N · e end · q quit")
        host.send("n" * 60 + "p" * 60)
        host.expect("question 1 pushed")
        host.send("3\r")  # the board still takes commands once the burst is handled
        host.expect("question 3 pushed")
        host.send("q")
        host.expect("stays open")
        host.expect(pexpect_eof())
    finally:
        if host.isalive():
            host.terminate(force=True)
    assert "ConnectionClosed" not in (host.before or "")
    assert host.exitstatus == 0


def pexpect_eof() -> Any:
    import pexpect

    return pexpect.EOF
