"""A handler that blocks its server's event loop: said once, and the later checks fail at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wsquiz.appfile import AppSpec
from wsquiz.checking import STALLED, CheckReport, run_checks
from wsquiz.exercises import find_exercise

HEADER = "# wsquiz exercise: echo-twice\n"
SOLUTION = (
    HEADER
    + """\
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass
"""
)
AFTER_ACCEPT = (
    HEADER
    + """\
import asyncio, time
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    {body}
"""
)
CHECK = """
[[checks]]
name = "{name}"
scenario = [{{ connect = "/ws" }}, {{ send = "hi" }}, {{ receive = 1, timeout = 0.5 }}]
"""


def course(tmp_path: Path, serve: str) -> Path:
    folder = tmp_path / "course" / "exercises" / "01-echo-twice"
    folder.mkdir(parents=True)
    (folder / "exercise.toml").write_text(
        f'title = "Echo"\nstatement = "Echo."\nserve = "{serve}"\n'
        + "".join(CHECK.format(name=n) for n in ("first", "second"))
    )
    (folder / "solution.py").write_text(SOLUTION)
    (folder / "starter.py").write_text(AFTER_ACCEPT.format(body="pass"))
    return tmp_path / "course"


def check(tmp_path: Path, lab: Any, serve: str, body: str) -> CheckReport:
    mine = tmp_path / "mine.py"
    mine.write_text(AFTER_ACCEPT.format(body=body))
    exercise = find_exercise("echo-twice", course(tmp_path, serve))
    return run_checks(exercise, AppSpec.parse(mine), lab)


@pytest.mark.parametrize(
    ("serve", "body"),
    [("once", "while True: pass"), ("per-check", "time.sleep(60)")],
    ids=["busy-loop-one-server", "sleep-a-server-per-check"],
)
def test_a_blocked_server_is_said_once_and_the_rest_fail_at_once(
    tmp_path: Path, lab: Any, serve: str, body: str
) -> None:
    first, second = check(tmp_path, lab, serve, body).results
    assert not first.passed
    assert first.message.endswith(f"; {STALLED}")
    assert first.transcript is not None and first.transcript.timed_out == (STALLED,)
    assert not second.passed and second.transcript is None  # never played
    assert second.message == "not checked: the server had stopped responding in check 'first'"


def test_a_handler_awaiting_forever_still_lets_every_check_play(tmp_path: Path, lab: Any) -> None:
    """Its event loop runs: the server answers, only this handler waits. Each check is played."""
    report = check(tmp_path, lab, "once", "await asyncio.sleep(60)")
    for result in report.results:
        assert not result.passed
        assert result.transcript is not None and result.transcript.timed_out
        assert STALLED not in result.message and STALLED not in result.transcript.timed_out
        assert "waited 0.5s for a message" in result.message
