"""A handler that blocks its server's event loop: said once, and the later checks fail at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wsquiz.course.exercises import find_exercise
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import InProcess
from wsquiz.learn.checking import STALLED, CheckReport, run_checks

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


# ---- a fresh server per check: the checks play at the same time ----------------------------

HANGS_ON = (
    HEADER
    + """\
import time
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "hang":
                time.sleep(60)
            await websocket.send_text(text)
    except WebSocketDisconnect:
        pass
"""
)


def course_of(tmp_path: Path, serve: str, checks: list[tuple[str, str]]) -> Path:
    """An echo exercise whose checks are (name, scenario) pairs."""
    folder = tmp_path / "course" / "exercises" / "01-echo-twice"
    folder.mkdir(parents=True)
    (folder / "exercise.toml").write_text(
        f'title = "Echo"\nstatement = "Echo."\nserve = "{serve}"\n'
        + "".join(
            f'[[checks]]\nname = "{name}"\nscenario = [{{ connect = "/ws" }}, {scenario}]\n'
            for name, scenario in checks
        )
    )
    (folder / "solution.py").write_text(SOLUTION)
    (folder / "starter.py").write_text(AFTER_ACCEPT.format(body="pass"))
    return tmp_path / "course"


@dataclass
class Play:
    """One scenario played against a server: when it began and ended (in order only: these
    are compared with each other, never with a duration), and what it observed."""

    scenario: Any
    began: float
    ended: float = 0.0
    transcript: Any = None


def checked(
    tmp_path: Path, lab: Any, course: Path, source: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[CheckReport, dict[str, Play]]:
    """Check `source`, recording each of the learner's plays by the name of its check."""
    from wsquiz.engine import lab as lab_module

    mine = tmp_path / "mine.py"
    mine.write_text(source)
    exercise = find_exercise("echo-twice", course)
    names = {id(check.scenario): check.name for check in exercise.checks}
    plays: dict[str, Play] = {}
    real = lab_module.play_against

    async def recorded(served: Any, scenario: Any) -> Any:
        play = Play(scenario, time.monotonic())
        if not isinstance(served, InProcess):  # the learner's (sandboxed), not the reference's
            plays[names[id(scenario)]] = play
        try:
            play.transcript = await real(served, scenario)
            return play.transcript
        finally:
            play.ended = time.monotonic()

    monkeypatch.setattr(lab_module, "play_against", recorded)
    return run_checks(exercise, AppSpec.parse(mine), lab), plays


@pytest.mark.parametrize("serve", ["per-check", "once"])
def test_checks_with_a_server_each_play_at_the_same_time(
    tmp_path: Path, lab: Any, serve: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three checks that each wait: with a server each, every one begins before any ends."""
    wait = '{ send = "hi" }, { receive = 1 }, { sleep = 0.8 }'  # far longer than a start
    checks = [(name, wait) for name in ("one", "two", "three")]
    course = course_of(tmp_path, serve, checks)
    report, plays = checked(tmp_path, lab, course, SOLUTION, monkeypatch)
    assert [r.name for r in report.results] == ["one", "two", "three"]  # in the checks' order
    assert report.passed
    one, two, three = (plays[name] for name in ("one", "two", "three"))
    if serve == "per-check":
        assert max(p.began for p in (one, two, three)) < min(p.ended for p in (one, two, three))
    else:  # one server: the checks take turns
        assert one.ended <= two.began and two.ended <= three.began


def test_the_first_check_in_order_that_stalled_is_named_and_the_later_ones_stop_at_once(
    tmp_path: Path, lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Played at once, "fast" stalls before "slow" does, yet "slow" comes first: it is the one
    that says so. "long" would wait 8 s for its reply: its server is stopped as soon as a check
    before it stalled (its client sees the connection end, it does not time out), and it is
    not checked, as when the checks ran one after the other."""
    checks = [
        ("passes", '{ send = "hi" }, { receive = 1 }'),
        ("slow", '{ send = "hang" }, { receive = 1, timeout = 1.2 }'),
        ("fast", '{ send = "hang" }, { receive = 1, timeout = 0.3 }'),
        ("long", '{ send = "hang" }, { receive = 1, timeout = 8 }'),
    ]
    course = course_of(tmp_path, "per-check", checks)
    report, plays = checked(tmp_path, lab, course, HANGS_ON, monkeypatch)
    passes, slow, fast, long = report.results
    assert passes.passed
    assert slow.message.endswith(f"; {STALLED}")
    assert slow.transcript is not None and slow.transcript.timed_out == (STALLED,)
    for later in (fast, long):
        assert not later.passed and later.transcript is None
        assert later.message == "not checked: the server had stopped responding in check 'slow'"
    stopped = plays["long"].transcript
    assert stopped is not None and not stopped.timed_out  # ended by the stop, not its 8 s wait
