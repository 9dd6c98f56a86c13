"""`wsquiz run`: an interactive client in a real terminal, and the same driven through a pipe."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest
from typer.testing import CliRunner

from tests.support import ROOT
from wsquiz.cli import app
from wsquiz.course.examples import app_or_example
from wsquiz.engine.repl import default_path, parse_line
from wsquiz.errors import UsageError

APPS = ROOT / "quizzes" / "apps"
WSQUIZ = [sys.executable, "-m", "wsquiz"]
runner = CliRunner()


def run(*args: str, lines: str = "") -> Any:
    return runner.invoke(app, ["run", *args], input=lines)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry))
    return found


@pytest.fixture
def echo_app(tmp_path: Path) -> Path:
    """The echo loop under a path of its own, so the test can find its own processes."""
    target = tmp_path / "my_echo.py"
    shutil.copyfile(APPS / "echo_loop.py", target)
    return target


def spawn(*args: str) -> pexpect.spawn:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100"}
    return pexpect.spawn(
        WSQUIZ[0],
        [*WSQUIZ[1:], "run", *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 100),
    )


def gone(port: int, marker: str) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not listening(port) and not processes_with(marker):
            return True
        time.sleep(0.05)
    return False


# ---- a real terminal -----------------------------------------------------------------------


def test_terminal_send_echo_close_and_ctrl_d(echo_app: Path) -> None:
    child = spawn(str(echo_app))
    seen = io.StringIO()
    child.logfile_read = seen
    child.expect(r"at ws://127\.0\.0\.1:(\d+)")
    port = int(child.match.group(1))
    child.expect(r"connected to /ws \(101\)")
    child.expect("/quit")  # the help line
    help_lines = child.before.split("(101)", 1)[-1].strip().splitlines()
    assert help_lines and all(len(line) <= 100 for line in help_lines)  # wrapped at words
    words = " ".join(help_lines).split()
    assert all(c in words for c in ("/close", "/json", "/bytes", "/text", "/connect"))
    child.expect("> ")
    child.sendline("hello")
    child.expect("< Echo: hello")
    child.sendline("/close 1000 bye")
    child.expect(re.escape("closed 1000 normal 'bye' (client closed)"))
    child.sendline("again")
    child.expect("not connected: /connect")
    child.sendline("/connect")
    child.expect(r"connected to /ws \(101\)")
    child.sendline('/json {"n": 1}')
    child.expect(re.escape('< Echo: {"n": 1}'))
    assert listening(port)
    # Ctrl-D only once readline has the terminal again (echo off): one typed while the
    # previous line is still being handled reaches the next read as a NUL, not as the end.
    assert child.waitnoecho(timeout=30)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert gone(port, str(echo_app))
    # the server's own log line, which may come just before or just after the close
    assert "server: Client disconnected" in seen.getvalue()


def test_terminal_ctrl_c_stops_the_server(echo_app: Path) -> None:
    child = spawn(str(echo_app))
    child.expect(r"at ws://127\.0\.0\.1:(\d+)")
    port = int(child.match.group(1))
    child.expect("> ")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert gone(port, str(echo_app))


def test_terminal_quit_and_a_bad_command(echo_app: Path) -> None:
    child = spawn(str(echo_app))
    child.expect(r"at ws://127\.0\.0\.1:(\d+)")
    port = int(child.match.group(1))
    child.expect("> ")
    child.sendline("/close abc")
    child.expect("not a close code")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert gone(port, str(echo_app))


# ---- a pipe --------------------------------------------------------------------------------


def test_piped_lines_are_sent_through_a_real_pipe(echo_app: Path) -> None:
    done = subprocess.run(
        f"printf 'hi\\nthere\\n' | {' '.join(WSQUIZ)} run {echo_app}",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "> hi" in out and "> there" in out
    assert out.index("< Echo: hi") < out.index("< Echo: there")
    assert "closed 1001 going away" in out  # Ctrl-D's equivalent: wsquiz closed, server stopped
    port = int(re.search(r"127\.0\.0\.1:(\d+)", out).group(1))  # type: ignore[union-attr]
    assert gone(port, str(echo_app))


def test_piped_commands() -> None:
    result = run(str(APPS / "echo_loop.py"), lines='one\n/json {"a": [1]}\n/close 4000 done\n')
    assert result.exit_code == 0
    out = result.stdout
    assert "< Echo: one" in out
    assert '> {"a": [1]}' in out and '< Echo: {"a": [1]}' in out
    # piped lines wait for their replies, so the output reads as a conversation
    assert out.index("< Echo: one") < out.index('> {"a": [1]}') < out.index("closed 4000")
    assert "closed 4000 'done' (client closed)" in out
    assert "server: Client disconnected" in out


def test_quit_stops_reading() -> None:
    result = run(str(APPS / "echo_loop.py"), lines="one\n/quit\ntwo\n")
    assert result.exit_code == 0
    assert "> one" in result.stdout
    assert "two" not in result.stdout


def test_an_example_by_name_and_its_close() -> None:
    result = run("echo_once", lines="hi\n")
    assert result.exit_code == 0
    assert "serving echo_once.py" in result.stdout
    assert "< Message received: hi" in result.stdout
    assert "closed 1006 abnormal" in result.stdout


def test_the_server_error_as_it_happens() -> None:
    result = run("receive_after_close", lines="hi\n")
    out = result.stdout
    assert "server raised starlette.websockets.WebSocketDisconnected at line 11" in out
    assert "closed 1000 normal (server closed)" in out


def test_handshake_rejection_shows_the_status() -> None:
    result = run("accept_no_parens", lines="hi\n")
    assert result.exit_code == 0
    assert "server raised TypeError at line 8" in result.stdout
    assert "rejected: HTTP 500" in result.stdout
    assert "not connected" in result.stdout


def test_warning_shown_for_a_missing_await() -> None:
    result = run("accept_no_await", lines="")
    assert "server warning: RuntimeWarning: coroutine 'WebSocket.accept' was never awaited" in (
        result.stdout
    )
    assert "rejected: HTTP 500" in result.stdout


def test_bytes_to_a_text_endpoint() -> None:
    result = run("echo_loop", lines="/bytes raw\n")
    assert "> <3 bytes> raw" in result.stdout
    assert "server raised KeyError" in result.stdout


def test_path_option_and_a_route_with_parameters() -> None:
    unchosen = run("chat_room", lines="hi\n")
    assert "routes: /chat/{room}" in unchosen.stdout
    assert "/connect PATH" in unchosen.stdout
    chosen = run("chat_room", "--path", "/chat/r1", lines="hello\n")
    assert "connected to /chat/r1" in chosen.stdout
    assert "< [r1] hello" in chosen.stdout
    later = run("chat_room", lines="/connect /chat/r2\nhey\n")
    assert "< [r2] hey" in later.stdout
    wrong = run("echo_loop", "--path", "/nope", lines="")
    assert "rejected: HTTP 403" in wrong.stdout
    assert "no WebSocket route matches it (the app serves /ws)" in wrong.stdout
    assert '"WebSocket /nope" 403' not in wrong.stdout  # uvicorn's access line: said already


def test_a_bare_connect_goes_back_to_the_last_path_that_was_accepted() -> None:
    result = run("chat_room", lines="/connect /chat/r1\n/close\n/connect /nope\n/connect\nhi\n")
    assert "rejected: HTTP 403 (/nope: no WebSocket route matches it" in result.stdout
    assert result.stdout.count("connected to /chat/r1 (101)") == 2
    assert "< [r1] hi" in result.stdout
    first = run("echo_loop", lines="/close\n/connect /nope\n/connect\nhi\n")
    assert first.stdout.count("connected to /ws (101)") == 2
    assert "< Echo: hi" in first.stdout


def test_subprotocols_and_headers_are_offered_at_every_connect() -> None:
    result = run(
        "subprotocols", "--subprotocol", "chat.v1", "--subprotocol", "chat.v2", lines="hi\n"
    )
    assert "connected to /ws (101, subprotocol chat.v2)" in result.stdout
    assert "< you offered ['chat.v1', 'chat.v2'], we speak chat.v2" in result.stdout
    told = run("team_headers", "-H", "X-Team: red", lines="hi\n")
    assert "< team red, room None" in told.stdout
    # `hi` may be sent before the close, or not: when not, the close is told first
    if "not sent" in told.stdout:
        assert told.stdout.index("closed 1000") < told.stdout.index("not sent: the connection")
    assert run("echo_loop", "-H", "nocolon").exit_code == 2


def test_load_error_exits_2() -> None:
    result = run("accept_sync_def")
    assert result.exit_code == 2
    flat = "".join(result.stderr.split())
    assert "accept_sync_def.py:8:SyntaxError" in flat
    assert "Traceback" not in result.stdout


def test_unknown_example_exits_2() -> None:
    result = run("no_such_example_at_all")
    assert result.exit_code == 2
    assert "'no_such_example_at_all' is neither a file nor the name of an example" in (
        result.stderr
    )
    assert "site-packages" not in result.stderr and str(ROOT) not in result.stderr
    close = run("chat_rom")
    assert close.exit_code == 2 and "did you mean 'chat_room'?" in close.stderr


# ---- the core, without a terminal ----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "action", "payload", "code"),
    [
        ("hello", "text", "hello", 1000),
        ("//close", "text", "/close", 1000),
        ("/text /quit", "text", "/quit", 1000),
        ("/bytes ab", "bytes", "ab", 1000),
        ('/json {"a": 1}', "json", '{"a": 1}', 1000),
        ("/close", "close", "", 1000),
        ("/close 4001 going home", "close", "going home", 4001),
        ("/connect /chat/r1", "connect", "/chat/r1", 1000),
        ("/quit", "quit", "", 1000),
    ],
)
def test_parse_line(line: str, action: str, payload: str, code: int) -> None:
    command = parse_line(line)
    assert (command.action, command.payload, command.code) == (action, payload, code)


@pytest.mark.parametrize("line", ["/close 1006", "/close 999", "/close x", "/json {", "/nope"])
def test_parse_line_refuses(line: str) -> None:
    with pytest.raises(UsageError):
        parse_line(line)


def test_default_path() -> None:
    assert default_path(()) == "/ws"
    assert default_path(("/ws", "/chat/{room}")) == "/ws"
    assert default_path(("/live",)) == "/live"
    assert default_path(("/chat/{room}",)) is None


def test_resolve_app(tmp_path: Path) -> None:
    assert app_or_example("echo_once", ROOT).path == APPS / "echo_once.py"
    assert app_or_example(str(APPS / "echo_once.py") + ":app", ROOT).attr == "app"
    with pytest.raises(UsageError):
        app_or_example("nothing_like_it", ROOT)


def test_a_server_that_dies_says_so(tmp_path: Path) -> None:
    crash = tmp_path / "crash.py"
    crash.write_text(
        "import os\nfrom fastapi import FastAPI, WebSocket\napp = FastAPI()\n"
        "@app.websocket('/ws')\nasync def ws(websocket: WebSocket):\n"
        "    await websocket.accept()\n    await websocket.receive_text()\n    os._exit(7)\n"
    )
    result = run(str(crash), lines="boom\nagain\n/connect\n")
    assert result.exit_code == 0
    out = result.stdout
    assert "closed 1006 abnormal" in out
    assert "server: the server process exited with status 7" in out
    assert out.count("the server has stopped") == 2
