"""A host with few file descriptors, flooded (issue 15): it refuses what it cannot take, says so
once instead of a traceback per connection, and the teacher and the class go on."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.classroom.helpers import WAIT, run

WSQUIZ = (sys.executable, "-m", "wsquiz")
LIMIT = 320  # descriptors for the whole host process: the caps keep 200 of them for its work


def lines_of(stream: object, into: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        into.put(line)


def until(lines: queue.Queue[str], pattern: str, seen: list[str]) -> re.Match[str]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"never printed {pattern!r}:\n{''.join(seen)}")


def test_a_flooded_host_with_few_descriptors_refuses_new_and_logs_once(tmp_path: Path) -> None:
    def few_descriptors() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

    env = {**os.environ, "WSQUIZ_HOME": str(tmp_path), "COLUMNS": "200", "NO_COLOR": "1"}
    command = [*WSQUIZ, "classroom", "host", "--quiz", "basics", "--plain", "--port", "0"]
    command += ["--db", str(tmp_path / "c.db")]
    host = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=few_descriptors,
    )
    out: queue.Queue[str] = queue.Queue()
    err: queue.Queue[str] = queue.Queue()
    for stream, into in ((host.stdout, out), (host.stderr, err)):
        threading.Thread(target=lines_of, args=(stream, into), daemon=True).start()
    seen: list[str] = []
    flood: list[socket.socket] = []
    try:
        found = until(out, r"join (http://127\.0\.0\.1:(\d+)) --code (\w{6})", seen)
        port, code = int(found.group(2)), found.group(3)
        until(out, "no question yet", seen)

        async def handshakes() -> tuple[int, int]:
            """WebSocket connections that never join (held 10 s), past the host's cap; while
            they are held, the teacher's board still works (its descriptors were kept)."""
            opened, refused = [], 0
            for _ in range(LIMIT - 200 + 20):
                try:
                    opened.append(await connect(f"ws://127.0.0.1:{port}/ws/student"))
                except InvalidStatus as exc:
                    assert exc.response.status_code == 503
                    refused += 1
            assert host.stdin is not None
            host.stdin.write("n\n")
            host.stdin.flush()
            await asyncio.to_thread(until, out, "question 1 pushed", seen)
            for ws in opened:
                await ws.close()
            return len(opened), refused

        opened, refused = run(handshakes())
        assert refused >= 20 and opened <= LIMIT - 250
        # then raw sockets, more than the process has descriptors: accept() runs out
        for _ in range(LIMIT + 50):
            sock = socket.socket()
            sock.connect(("127.0.0.1", port))
            flood.append(sock)
        time.sleep(1.5)
        assert host.stdin is not None
        host.stdin.write("n\n")  # while they are held, the teacher's board goes on
        host.stdin.flush()
        until(out, "question 2 pushed", seen)
        for sock in flood:
            sock.close()
        flood.clear()
        time.sleep(1.5)

        async def joins() -> None:
            ws = await connect(f"ws://127.0.0.1:{port}/ws/student", open_timeout=WAIT)
            await ws.send(json.dumps({"type": "join", "code": code, "name": "ada"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "welcome"
            await ws.close()

        run(joins())
        host.stdin.write("e\nq\n")
        host.stdin.flush()
        host.wait(WAIT)
    finally:
        for sock in flood:
            sock.close()
        if host.poll() is None:
            host.kill()
            host.wait()
    errors = []
    while not err.empty():
        errors.append(err.get())
    text = "".join(errors)
    assert text.count("ran out of file descriptors") <= 1, text
    assert "Traceback" not in text, text[-3000:]
