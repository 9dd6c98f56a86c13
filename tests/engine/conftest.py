"""The independent observer: `python -m uvicorn` in a subprocess, the real `websockets` client,
and uvicorn's own log, so that what wsquiz observes is compared with what really happens."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

STARTUP_S = 15.0


@dataclass
class Witnessed:
    """What an outside client saw and what uvicorn printed."""

    started: bool
    status: int | None = None  # 101, or the HTTP status of a refused handshake
    received: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    closed_by_server: bool = False
    log: str = ""
    exit_code: int | None = None

    def lines(self) -> list[str]:
        return self.log.splitlines()

    def app_output(self) -> list[str]:
        """The app's own printed lines: everything uvicorn itself did not say."""
        return [line for line in self.lines() if not _UVICORN.match(line)]

    def app_lines(self, file_name: str) -> list[int]:
        """The line numbers of `file_name`'s frames in the printed tracebacks."""
        pattern = re.compile(rf'File "[^"]*{re.escape(file_name)}", line (\d+)')
        return [int(m.group(1)) for m in pattern.finditer(self.log)]


_UVICORN = re.compile(
    r"^(INFO|WARNING|ERROR|DEBUG):|^Traceback|^  |^\S+(Error|Exception|Group)\b|^\S+: |^\s*\||"
    r"^\s*\+[-+]|^During handling|^The above exception|^$"
)

Witness = Callable[..., Witnessed]


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _wait_serving(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with connect(f"ws://127.0.0.1:{port}/__wsquiz_witness_ping", open_timeout=1):
                return True
        except InvalidStatus:
            return True  # uvicorn answered over HTTP: it serves
        except Exception:  # not yet answering (the inherited socket queues connections)
            time.sleep(0.05)
    return False


def witness_run(
    folder: Path,
    target: str,
    path: str = "/ws",
    sends: tuple[str, ...] = (),
    *,
    args: tuple[str, ...] = (),
    timeout: float = 1.5,
    settle: float = 0.3,
    max_frames: int = 100_000,
) -> Witnessed:
    """`cd folder && python -m uvicorn target` on an inherited free socket; one client
    connects to `path`, sends each text, receives until closed (or `timeout`), then
    uvicorn is stopped with Ctrl-C after `settle` seconds."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "uvicorn", target, "--fd", str(sock.fileno()), *args]
    process = subprocess.Popen(
        command,
        cwd=folder,
        env=env,
        pass_fds=(sock.fileno(),),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    sock.close()
    seen = Witnessed(started=False)
    try:
        seen.started = _wait_serving(port, process)
        if seen.started:
            _talk(seen, port, path, sends, timeout, max_frames)
            time.sleep(settle)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        seen.exit_code = process.returncode
        seen.log = out.decode("utf-8", "replace")
    return seen


def _talk(
    seen: Witnessed, port: int, path: str, sends: tuple[str, ...], timeout: float, cap: int
) -> None:
    try:
        conn = connect(f"ws://127.0.0.1:{port}{path}", open_timeout=5, max_size=None)
    except InvalidStatus as exc:
        seen.status = exc.response.status_code
        return
    seen.status = 101
    with conn:
        for text in sends:
            try:
                conn.send(text)
            except ConnectionClosed:
                break
        try:
            while len(seen.received) < cap:
                message = conn.recv(timeout=timeout)
                seen.received.append(message if isinstance(message, str) else repr(message))
        except ConnectionClosed:
            pass
        except TimeoutError:
            return
        rcvd = conn.protocol.close_rcvd
        seen.close_code = rcvd.code if rcvd is not None else 1006
        seen.close_reason = rcvd.reason if rcvd is not None else ""
        seen.closed_by_server = rcvd is not None and bool(conn.protocol.close_rcvd_then_sent)


@pytest.fixture
def witness() -> Witness:
    """Run an app under a real `python -m uvicorn` and a real client: see `witness_run`."""
    return witness_run
