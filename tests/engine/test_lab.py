"""Every seed example served by a real uvicorn, in-process and sandboxed: both observe the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from tests.support import APPS
from wsquiz.engine.appfile import AppSpec, load_app
from wsquiz.engine.lab import Lab
from wsquiz.engine.scenario import Scenario
from wsquiz.engine.serving import Limits
from wsquiz.engine.transcript import Transcript
from wsquiz.errors import AppLoadError

PATHS = pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "isolated"])


def observe(lab: Lab, name: str, steps: list[dict[str, Any]], isolated: bool) -> Transcript:
    scenario = Scenario.from_steps(steps, timeout=5.0)
    return lab.observe(AppSpec.parse(APPS / f"{name}.py"), scenario, isolated=isolated)


def sends(*texts: str) -> list[dict[str, Any]]:
    return [{"connect": "/ws"}, *({"send": t} for t in texts), {"receive_all": True}]


@PATHS
def test_echo_replies_then_the_connection_drops(lab: Lab, isolated: bool) -> None:
    seen = observe(lab, "echo_once", sends("hi"), isolated)
    assert seen.client().handshake.accepted
    assert seen.client().handshake.status == 101
    assert seen.received() == ["Message received: hi"]
    close = seen.client().close
    assert close is not None and close.code == 1006 and close.by == "abnormal"
    assert seen.errors == ()
    assert [f.direction for f in seen.frames] == ["sent", "received"]
    assert seen.frames[0].at_ms <= seen.frames[1].at_ms


@PATHS
def test_count_is_three_after_three_messages(lab: Lab, isolated: bool) -> None:
    seen = observe(lab, "count_three", sends("a", "b", "c"), isolated)
    assert seen.received() == ["Messages received: 3"]


@PATHS
def test_count_client_leaving_early_raises_disconnect_in_server(lab: Lab, isolated: bool) -> None:
    steps: list[dict[str, Any]] = [
        {"connect": "/ws"},
        {"send": "a"},
        {"send": "b"},
        {"close": 1000},
    ]
    seen = observe(lab, "count_three", steps, isolated)
    assert seen.received() == []
    assert [e.type for e in seen.errors] == ["starlette.websockets.WebSocketDisconnect"]
    assert seen.errors[0].message == "(1000, '')"


@PATHS
def test_receive_after_close_shows_the_real_runtime_error(lab: Lab, isolated: bool) -> None:
    seen = observe(lab, "receive_after_close", sends("a"), isolated)
    assert len(seen.errors) == 1
    error = seen.errors[0]
    assert error.is_a("RuntimeError")
    assert error.type != "RuntimeError"  # a subclass, named with its module
    # What FACTS.md saw with starlette 1.10; the product itself never stores it.
    assert error.type == "starlette.websockets.WebSocketDisconnected"
    assert error.message == 'WebSocket is not connected. Need to call "accept" first.'
    assert error.file == str(APPS / "receive_after_close.py")
    assert error.line == 11
    assert "receive_after_close.py" in error.traceback
    close = seen.client().close
    assert close is not None and (close.code, close.by) == (1000, "server")


@PATHS
def test_accept_without_await_is_rejected_with_500_and_warns(lab: Lab, isolated: bool) -> None:
    seen = observe(lab, "accept_no_await", sends("a"), isolated)
    assert not seen.client().handshake.accepted
    assert seen.client().handshake.status == 500
    assert [w.split("'")[1] for w in seen.server.warnings] == [
        "WebSocket.accept",
        "WebSocket.receive_text",
    ]
    assert all(w.startswith("RuntimeWarning: coroutine ") for w in seen.server.warnings)
    assert all(w.endswith(" was never awaited") for w in seen.server.warnings)
    assert [e.name for e in seen.errors] == ["RuntimeError"]
    assert "websocket.accept" in seen.errors[0].message
    assert seen.frames == ()


@PATHS
def test_accept_without_parentheses_is_a_type_error(lab: Lab, isolated: bool) -> None:
    seen = observe(lab, "accept_no_parens", sends("a"), isolated)
    assert seen.client().handshake.status == 500
    assert [e.type for e in seen.errors] == ["TypeError"]
    assert "can't be used in 'await' expression" in seen.errors[0].message
    assert seen.errors[0].line == 8


@PATHS
def test_sync_def_with_await_does_not_load(lab: Lab, isolated: bool) -> None:
    with pytest.raises(AppLoadError) as caught:
        observe(lab, "accept_sync_def", sends("a"), isolated)
    error = caught.value
    assert error.path == "quizzes/apps/accept_sync_def.py"  # as the course names it
    assert error.line == 8
    assert error.problem.startswith("SyntaxError: 'await' outside")
    assert "accept_sync_def.py:8: SyntaxError" in error.message


@PATHS
def test_correct_accept_replies(lab: Lab, isolated: bool) -> None:
    seen = observe(lab, "accept_correct", sends("a"), isolated)
    assert seen.received() == ["Received: a"]
    assert seen.errors == ()


@PATHS
def test_echo_loop_ends_cleanly_when_the_client_leaves(lab: Lab, isolated: bool) -> None:
    steps: list[dict[str, Any]] = [
        {"connect": "/ws"},
        {"send": "one"},
        {"receive": 1},
        {"send": "two"},
        {"receive": 1},
        {"close": 1000, "reason": "bye"},
    ]
    seen = observe(lab, "echo_loop", steps, isolated)
    assert seen.received() == ["Echo: one", "Echo: two"]
    assert seen.errors == ()  # WebSocketDisconnect was raised and handled in the endpoint
    assert "Client disconnected" in seen.server.logs
    close = seen.client().close
    assert close is not None and (close.code, close.reason, close.by) == (1000, "bye", "client")


@PATHS
def test_chat_room_broadcasts_and_announces_who_left(lab: Lab, isolated: bool) -> None:
    steps: list[dict[str, Any]] = [
        {"connect": "/chat/r1", "client": "alice"},
        {"connect": "/chat/r1", "client": "bob"},
        {"send": "hello", "client": "alice"},
        {"receive": 1, "client": "alice"},
        {"receive": 1, "client": "bob"},
        {"close": 1000, "client": "bob"},
        {"receive": 1, "client": "alice"},
    ]
    seen = observe(lab, "chat_room", steps, isolated)
    assert seen.received("alice") == ["[r1] hello", "A user left r1"]
    assert seen.received("bob") == ["[r1] hello"]
    assert seen.errors == ()
    assert [c.name for c in seen.clients] == ["alice", "bob"]


@PATHS
def test_handshake_rejected_for_an_unknown_path(lab: Lab, isolated: bool) -> None:
    seen = observe(lab, "echo_once", [{"connect": "/nope"}, {"send": "x"}], isolated)
    assert seen.client().handshake.status == 403
    assert not seen.client().handshake.accepted


@PATHS
def test_text_bytes_and_json_frames(lab: Lab, isolated: bool, tmp_path: Path) -> None:
    app = tmp_path / "kinds.py"
    app.write_text(
        "from fastapi import FastAPI, WebSocket\n"
        "app = FastAPI()\n"
        "@app.websocket('/ws')\n"
        "async def ws(websocket: WebSocket, name: str = 'x'):\n"
        "    await websocket.accept(subprotocol=websocket.scope['subprotocols'][0])\n"
        "    await websocket.send_text(name + ' ' + websocket.headers['x-token'])\n"
        "    await websocket.send_bytes(await websocket.receive_bytes())\n"
        "    data = await websocket.receive_json()\n"
        "    await websocket.send_json({'got': data['n'] + 1})\n"
        "    await websocket.close(4000, 'done')\n"
    )
    steps: list[dict[str, Any]] = [
        {"connect": "/ws?name=ann", "headers": {"X-Token": "t1"}, "subprotocols": ["chat"]},
        {"receive": 1},
        {"send_bytes": "raw"},
        {"receive": 1},
        {"send_json": {"n": 1}},
        {"expect_close": True},
    ]
    seen = lab.observe(AppSpec.parse(app), Scenario.from_steps(steps), isolated=isolated)
    assert seen.client().handshake.subprotocol == "chat"
    received = [(f.kind, f.data) for f in seen.frames if f.direction == "received"]
    assert received == [("text", "ann t1"), ("bytes", b"raw"), ("text", '{"got":2}')]
    close = seen.client().close
    assert close is not None and (close.code, close.reason, close.by) == (4000, "done", "server")


def test_every_launch_is_a_fresh_module(lab: Lab) -> None:
    spec = AppSpec.parse(APPS / "chat_room.py")
    steps: list[dict[str, Any]] = [
        {"connect": "/chat/r1", "client": "a"},
        {"send": "x", "client": "a"},
        {"receive": 1, "client": "a"},
    ]
    for _ in range(2):  # a leaked manager would still hold the first run's socket
        seen = lab.observe(spec, Scenario.from_steps(steps))
        assert seen.received("a") == ["[r1] x"]
        assert seen.errors == ()
    first, _ = load_app(spec)
    second, _ = load_app(spec)
    assert first is not second


def test_two_servers_at_once_report_apart(lab: Lab) -> None:
    one = lab.serve(AppSpec.parse(APPS / "echo_loop.py"))
    two = lab.serve(AppSpec.parse(APPS / "receive_after_close.py"), isolated=True)
    try:
        assert one.port != two.port
        from wsquiz.engine.lab import play_against

        seen_two = lab.call(play_against(two, Scenario.probe("/ws", ["a"], 5)))
        seen_one = lab.call(play_against(one, Scenario.probe("/ws", ["a"], 1.0)))
    finally:
        lab.call(one.stop())
        lab.call(two.stop())
    assert seen_one.received() == ["Echo: a"]
    assert seen_one.errors == ()
    assert [e.name for e in seen_two.errors] == ["WebSocketDisconnected"]


def test_limits_have_sane_defaults() -> None:
    limits = Limits()
    assert limits.wall_s > limits.startup_s > 0
    assert limits.memory_mb >= 128


SEED_SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "echo_once": sends("hi"),
    "count_three": sends("a", "b", "c"),
    "receive_after_close": sends("a"),
    "accept_no_await": sends("a"),
    "accept_no_parens": sends("a"),
    "accept_correct": sends("a"),
    "echo_loop": [{"connect": "/ws"}, {"send": "a"}, {"receive": 1}, {"close": 1001}],
    "chat_room": [
        {"connect": "/chat/r1", "client": "alice"},
        {"connect": "/chat/r1", "client": "bob"},
        {"send": "hello", "client": "alice"},
        {"receive": 1, "client": "alice"},
        {"receive": 1, "client": "bob"},
        {"close": 1000, "client": "bob"},
        {"receive": 1, "client": "alice"},
    ],
}


def essence(seen: Transcript) -> dict[str, Any]:
    """A transcript without what differs from run to run (times, ports)."""
    data = seen.to_dict()
    for record in data["clients"]:
        record.pop("connect_at_ms", None)
        for close in (record["close"], record.get("close_sent")):
            if close:
                close.pop("at_ms")
    return {
        "clients": data["clients"],
        "frames": [(f["client"], f["direction"], f["kind"], f["data"]) for f in data["frames"]],
        "errors": [
            (e["type"], e["message"], e["bases"], e["file"], e["line"])
            for e in data["server_errors"]
        ],
        "warnings": data["warnings"],
        "logs": [line for line in data["logs"] if "127.0.0.1:" not in line],
        "timed_out": data["timed_out"],
    }


@pytest.mark.parametrize("name", list(SEED_SCENARIOS))
def test_both_paths_observe_the_same(lab: Lab, name: str) -> None:
    inside = observe(lab, name, SEED_SCENARIOS[name], isolated=False)
    sandboxed = observe(lab, name, SEED_SCENARIOS[name], isolated=True)
    assert essence(inside) == essence(sandboxed)


def test_an_exception_without_args_still_shows_its_code(lab: Lab, tmp_path: Path) -> None:
    app = tmp_path / "raises.py"
    app.write_text(
        "from fastapi import FastAPI, WebSocket, WebSocketDisconnect\n"
        "app = FastAPI()\n"
        "@app.websocket('/ws')\n"
        "async def ws(websocket: WebSocket):\n"
        "    await websocket.accept()\n"
        "    raise WebSocketDisconnect(code=4001, reason='gone')\n"
    )
    seen = lab.observe(AppSpec.parse(app), Scenario.probe("/ws", [], 2.0))
    assert [(e.name, e.message, e.line) for e in seen.errors] == [
        ("WebSocketDisconnect", "(4001, 'gone')", 6)
    ]


def test_a_handler_ends_after_all_the_server_says_about_it(lab: Lab) -> None:
    """A sandbox's parent stops waiting at a handler's "end": what the server reports on the
    handler after the app returns (uvicorn logs the uncaught exception) must come before it,
    or an observation may miss it."""
    from wsquiz.engine.lab import play_against

    served = lab.serve(AppSpec.parse(APPS / "accept_no_await.py"))
    told: list[str] = []
    served.recorder.listener = lambda kind, value: told.append(value if kind == "log" else kind)
    try:
        lab.call(play_against(served, Scenario.probe("/ws", ["a"], 5.0)))
    finally:
        lab.call(served.stop())
    handler = told[told.index("begin") : told.index("end") + 1]
    assert "ERROR: Exception in ASGI application" in handler


@PATHS
def test_another_servers_log_level_does_not_hide_the_apps_log_lines(
    lab: Lab, isolated: bool
) -> None:
    """uvicorn's `log_level` sets a process-wide level (the classroom host asks for "warning"):
    an app observed in the same process afterwards still reports its INFO lines."""
    import logging

    import uvicorn

    quiet = logging.getLogger("uvicorn.error")
    before = quiet.level
    try:
        uvicorn.Config(cast(Any, APPS / "echo_once.py"), log_config=None, log_level="warning")
        assert quiet.level == logging.WARNING
        seen = observe(lab, "accept_no_await", sends("a"), isolated)
    finally:
        quiet.setLevel(before)
    assert "INFO: connection rejected (500 Internal Server Error)" in seen.server.logs
