"""The bundled catalogue of exercises, and plausible wrong answers that its checks must catch.

That every starter fails and every solution passes is proven for each exercise in
test_exercises.py; here each wrong answer is a small edit of a reference solution, checked live.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from wsquiz.course.exercises import Exercise, find_exercise, load_exercises
from wsquiz.engine.appfile import AppSpec
from wsquiz.learn.checking import run_checks

BUNDLED = load_exercises(ROOT)


def variant(tmp_path: Path, name: str, old: str, new: str) -> tuple[Exercise, AppSpec]:
    """The exercise and its reference solution with `old` replaced by `new`."""
    exercise = find_exercise(name, ROOT)
    source = exercise.solution.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{exercise.solution} no longer holds {old!r}"
    path = tmp_path / f"{name}.py"
    path.write_text(source.replace(old, new), encoding="utf-8")
    return exercise, AppSpec.parse(path)


def checked(tmp_path: Path, lab: Any, name: str, old: str, new: str) -> dict[str, Any]:
    exercise, spec = variant(tmp_path, name, old, new)
    report = run_checks(exercise, spec, lab)
    assert report.error is None, report.error
    assert not report.passed
    return {r.name: r for r in report.results}


def test_catalogue_has_at_least_twelve_exercises_with_unique_names() -> None:
    names = [e.name for e in BUNDLED]
    assert len(names) >= 12
    assert len(set(names)) == len(names)
    assert names[:3] == ["echo-loop", "count-messages", "chat-room"]


@pytest.mark.parametrize("exercise", BUNDLED, ids=[e.name for e in BUNDLED])
def test_each_exercise_is_complete(exercise: Exercise) -> None:
    assert exercise.title and exercise.statement
    assert exercise.hint, f"{exercise.name} has no hint"
    assert len(exercise.checks) >= 2, f"{exercise.name} needs at least two checks"
    assert all(c.points > 0 and c.description for c in exercise.checks)
    assert "TODO" in exercise.starter.read_text(encoding="utf-8")
    assert "TODO" not in exercise.solution.read_text(encoding="utf-8")


def test_reversing_characters_is_not_reversing_bytes(tmp_path: Path, lab: Any) -> None:
    checks = checked(
        tmp_path,
        lab,
        "bytes-echo",
        "await websocket.send_bytes(data[::-1])",
        "await websocket.send_bytes(data.decode()[::-1].encode())",
    )
    assert checks["reverse-one"].passed and checks["reverse-every-frame"].passed
    wrong = checks["bytes-not-characters"]
    assert not wrong.passed and wrong.points == 0
    assert "olléh" in wrong.message


def test_uncaught_bad_json_crashes_the_handler(tmp_path: Path, lab: Any) -> None:
    checks = checked(
        tmp_path,
        lab,
        "json-api",
        "            except ValueError:",
        "            except KeyError:",
    )
    assert checks["add"].passed and checks["bad-request"].passed
    crashed = checks["not-json"]
    assert not crashed.passed
    assert "the server raised JSONDecodeError" in crashed.message


def test_a_close_without_its_reason_fails(tmp_path: Path, lab: Any) -> None:
    checks = checked(
        tmp_path,
        lab,
        "close-codes",
        'code=status.WS_1000_NORMAL_CLOSURE, reason="bye"',
        "code=status.WS_1000_NORMAL_CLOSURE",
    )
    quit_check = checks["quit-closes-normally"]
    assert not quit_check.passed
    assert "closed with 1000 and reason '', expected reason 'bye'" in quit_check.message
    assert checks["forbidden-word"].passed


def test_closing_after_accept_is_not_refusing(tmp_path: Path, lab: Any) -> None:
    checks = checked(
        tmp_path,
        lab,
        "reject-before-accept",
        "    if room not in ROOMS:\n",
        "    if room not in ROOMS:\n        await websocket.accept()\n",
    )
    refused = checks["unknown-room-refused"]
    assert not refused.passed
    assert "accepted, the reference rejected with HTTP 403" in refused.message
    assert checks["lobby"].passed


def test_accepting_without_choosing_the_subprotocol_fails(tmp_path: Path, lab: Any) -> None:
    checks = checked(
        tmp_path,
        lab,
        "subprotocol-auth",
        "await websocket.accept(subprotocol=PROTOCOL)",
        "await websocket.accept()",
    )
    chosen = checks["chooses-wsquiz-v1"]
    assert not chosen.passed
    assert "the reference accepted with subprotocol 'wsquiz.v1'" in chosen.message
    assert checks["other-protocol-refused"].passed


def test_a_user_never_forgotten_breaks_the_innocent_sender(tmp_path: Path, lab: Any) -> None:
    checks = checked(
        tmp_path,
        lab,
        "direct-messages",
        "        self.users.pop(name, None)",
        "        pass",
    )
    gone = checks["gone-is-forgotten"]
    assert not gone.passed
    assert "alice received nothing" in gone.message
    assert "bob is not here" in gone.message
    assert checks["message-delivered"].passed and checks["name-taken"].passed


def test_a_ticker_that_blocks_the_event_loop_serves_one_client_after_the_other(
    tmp_path: Path, lab: Any
) -> None:
    """time.sleep() instead of asyncio.sleep(): each client alone gets the same ticks and close,
    but the second is served only once the first is done."""
    checks = checked(
        tmp_path,
        lab,
        "push-ticker",
        "await asyncio.sleep(0.05)",
        "__import__('time').sleep(0.1)",
    )
    assert checks["three-ticks"].passed and checks["closes-after-the-ticks"].passed
    together = checks["each-client-its-own"]
    assert not together.passed and together.points == 0
    assert together.message.startswith("second waited for first")
    assert "something blocks the event loop (a time.sleep()" in together.message
    assert together.expected == "first and second served at the same time"
    assert together.observed.startswith("second served after first (")
