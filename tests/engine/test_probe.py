"""`wsquiz probe` through the real CLI: the transcript, its JSON, and unusable input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support import APPS, ROOT
from wsquiz.cli import app

runner = CliRunner()


def flat(text: str) -> str:
    """Text as shown, with panel borders, wrapping and all whitespace taken out."""
    return "".join(c for c in text if c not in "│╭╮╰╯─" and not c.isspace())


def probe(*args: str) -> Any:
    return runner.invoke(app, ["probe", *args])


def probe_json(*args: str) -> dict[str, Any]:
    result = probe(*args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_human_view_shows_both_sides() -> None:
    result = probe(str(APPS / "echo_once.py"), "--send", "hi")
    assert result.exit_code == 0
    out = result.stdout
    assert "probe echo_once.py /ws" in out
    assert "connect /ws" in out and "101 accepted" in out
    assert "> hi" in out
    assert "< Message received: hi" in out
    assert "closed 1006 abnormal" in out


def test_human_view_shows_the_server_error() -> None:
    result = probe(str(APPS / "receive_after_close.py"), "-s", "a")
    assert result.exit_code == 0
    out = " ".join(result.stdout.split())
    assert "raised starlette.websockets.WebSocketDisconnected at line 11" in out
    assert "closed 1000 normal (server closed)" in out


def test_human_view_shows_a_rejected_handshake() -> None:
    result = probe(str(APPS / "accept_no_await.py"), "-s", "a")
    assert result.exit_code == 0
    assert "rejected: HTTP 500" in result.stdout
    assert "'WebSocket.accept' was never awaited" in " ".join(result.stdout.split())


def test_json_has_every_documented_field() -> None:
    data = probe_json(str(APPS / "count_three.py"), "-s", "1", "-s", "2", "-s", "3")
    assert data["app"] == str(APPS / "count_three.py")
    assert data["handshake"] == {"accepted": True, "status": 101, "subprotocol": None, "body": ""}
    assert data["received"] == ["Messages received: 3"]
    assert data["close"]["code"] == 1006
    assert data["close"]["by"] == "abnormal"
    assert isinstance(data["close"]["at_ms"], float)
    assert data["server_errors"] == []
    assert data["warnings"] == [] and data["timed_out"] == []
    assert isinstance(data["logs"], list)
    assert data["exit_status"] is None and data["output_truncated"] is False
    (client,) = data["clients"]
    assert client["name"] == "client" and client["path"] == "/ws"
    assert client["sent"] == ["1", "2", "3"]
    assert client["received"] == ["Messages received: 3"]
    assert client["truncated"] is False
    assert [(f["direction"], f["kind"], f["data"]) for f in data["frames"]] == [
        ("sent", "text", "1"),
        ("sent", "text", "2"),
        ("sent", "text", "3"),
        ("received", "text", "Messages received: 3"),
    ]
    times = [f["at_ms"] for f in data["frames"]]
    assert times == sorted(times)
    assert data["elapsed_ms"] > 0


def test_json_server_errors_name_the_qualified_class() -> None:
    data = probe_json(str(APPS / "receive_after_close.py"), "-s", "a")
    (error,) = data["server_errors"]
    assert error["type"] == "starlette.websockets.WebSocketDisconnected"
    assert "RuntimeError" in error["bases"]
    assert error["message"] == 'WebSocket is not connected. Need to call "accept" first.'
    assert error["file"] == str(APPS / "receive_after_close.py") and error["line"] == 11
    assert data["close"]["code"] == 1000


def test_json_rejection_status() -> None:
    data = probe_json(str(APPS / "accept_no_parens.py"))
    assert data["handshake"]["accepted"] is False
    assert data["handshake"]["status"] == 500
    assert data["close"] == {"code": None}
    assert [e["type"] for e in data["server_errors"]] == ["TypeError"]


def test_path_option_and_query(tmp_path: Path) -> None:
    path = tmp_path / "q.py"
    path.write_text(
        "from fastapi import FastAPI, WebSocket\napp = FastAPI()\n"
        "@app.websocket('/items/{item}')\n"
        "async def ws(websocket: WebSocket, item: str, q: str = ''):\n"
        "    await websocket.accept()\n"
        "    await websocket.send_text(f'{item} {q}')\n"
        "    await websocket.close()\n"
    )
    data = probe_json(str(path), "--path", "/items/7?q=x")
    assert data["received"] == ["7 x"]
    assert data["close"]["code"] == 1000
    assert probe_json(str(path), "--path", "/other")["handshake"]["status"] == 403


LOAD_ERRORS = {
    "syntax": ("from fastapi import FastAPI\napp = FastAPI(\n", ":2: SyntaxError"),
    "import": ("import no_such_module_wsq\n", ":1: ModuleNotFoundError"),
    "no-app": ("x = 1\n", ": no attribute 'app'"),
    "not-asgi": ("app = 'hello'\n", ": 'app' is a str, not an ASGI app"),
    "not-asgi-int": ("app = 42\n", ": 'app' is an int, not an ASGI app"),
}


@pytest.mark.parametrize("case", list(LOAD_ERRORS))
def test_load_errors_exit_2_naming_file_and_line(tmp_path: Path, case: str) -> None:
    source, expected = LOAD_ERRORS[case]
    path = tmp_path / "bad.py"
    path.write_text(source)
    result = probe(str(path))
    assert result.exit_code == 2
    err = flat(result.stderr)
    assert flat(f"{path}{expected}") in err
    assert "fix:" in err
    assert "wsquiz/" not in result.output  # no frame of wsquiz's own code
    data = json.loads(probe(str(path), "--json").stdout)
    assert data["load_error"]["path"] == str(path)
    assert flat(data["load_error"]["problem"]) in err


def test_attr_form(tmp_path: Path) -> None:
    result = probe(f"{APPS / 'echo_once.py'}:nope")
    assert result.exit_code == 2
    assert flat("no attribute 'nope'") in flat(result.stderr)
    assert "echo_once.py:app" in flat(result.stderr)  # the fix names what the file does define
    assert probe_json(f"{APPS / 'echo_once.py'}:app", "-s", "x")["received"] == [
        "Message received: x"
    ]


def test_an_example_by_name_and_a_path_no_route_matches() -> None:
    data = probe_json("chat_room", "--path", "/chat/r1?x=1", "--send", "hi")
    assert data["received"] == ["[r1] hi"]
    assert data["routes"] == ["/chat/{room}"]
    rejected = probe("echo_once", "--path", "/nope")
    assert rejected.exit_code == 0, rejected.output
    assert "rejected: HTTP 403" in rejected.stdout
    assert "no WebSocket route matches /nope: the app serves /ws" in rejected.stdout
    accepted_elsewhere = probe("accept_no_parens")  # rejected, though /ws is its route
    assert "no WebSocket route matches" not in accepted_elsewhere.stdout


def test_subprotocols_and_headers_offered_in_the_handshake() -> None:
    data = probe_json("subprotocols", "--subprotocol", "chat", "--subprotocol", "wsquiz.v1")
    assert data["clients"][0]["offered"]["subprotocols"] == ["chat", "wsquiz.v1"]
    assert data["received"] == ["you offered ['chat', 'wsquiz.v1'], we speak None"]
    data = probe_json("team_headers", "--header", "X-Team: blue", "-H", "Cookie: session=s1")
    assert data["clients"][0]["offered"]["headers"] == {"X-Team": "blue", "Cookie": "session=s1"}
    assert data["received"] == ["team blue, room None", "session s1"]
    bad = probe("echo_once", "--header", "no colon here")
    assert bad.exit_code == 2 and "not 'Name: value'" in bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no/such/app.py"], "no such file"),
        (["."], "is a folder"),
        ([str(APPS / "echo_once.py"), "--timeout", "0"], "--timeout"),
    ],
)
def test_unusable_input_exits_2(args: list[str], message: str) -> None:
    result = probe(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_an_app_that_never_starts_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "slow.py"
    path.write_text("import os\nos._exit(0)\n")
    result = probe(str(path))
    assert result.exit_code == 2
    assert "ended before it served" in result.stderr
    assert "Traceback" not in result.output


def test_help_imports_neither_fastapi_nor_uvicorn() -> None:
    code = (
        "import atexit, sys\n"
        "heavy = ('fastapi', 'uvicorn', 'starlette', 'websockets')\n"
        "atexit.register(lambda: sys.stderr.write("
        "'HEAVY=' + ','.join(m for m in heavy if m in sys.modules) + '\\n'))\n"
        "from wsquiz.cli import main\n"
        "sys.argv = ['wsquiz', '--help']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "probe" in done.stdout
    assert "HEAVY=\n" in done.stderr


def test_docs_describe_every_field() -> None:
    """docs/transcript.md names every key that `--json` prints."""
    doc = (ROOT / "docs" / "transcript.md").read_text()
    data = probe_json(str(APPS / "receive_after_close.py"), "-s", "a")
    keys = set(data) | set(data["handshake"]) | set(data["close"]) | set(data["clients"][0])
    keys |= set(data["frames"][0]) | set(data["server_errors"][0])
    keys |= set(data["clients"][0]["offered"])
    left_open = probe_json(str(APPS / "echo_loop.py"), "-s", "a", "--timeout", "0.2")
    keys |= set(left_open["clients"][0]["close_sent"])
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert missing == []
