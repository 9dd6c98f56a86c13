"""The transcript never lies: a timeout only for a timeout, other failures named as what they
are, the frame cap as the client stopping (never as the server's doing)."""

from __future__ import annotations

import asyncio
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidMessage, NegotiationError
from websockets.sync.client import connect

from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.client import Player
from wsquiz.engine.lab import Lab
from wsquiz.engine.scenario import Scenario


def app_file(folder: Path, source: str, name: str = "app.py") -> AppSpec:
    path = folder / name
    path.write_text(textwrap.dedent(source).lstrip())
    return AppSpec.parse(path)


@pytest.fixture
def garbage_port() -> Iterator[int]:
    """A TCP server that answers any request with something that is not HTTP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_a_refused_handshake_answer_is_a_failure_not_a_timeout(garbage_port: int) -> None:
    with pytest.raises(InvalidMessage):  # what any websockets client makes of it
        connect(f"ws://127.0.0.1:{garbage_port}/ws", open_timeout=2)
    player = Player(Scenario.probe("/ws", [], 2.0), garbage_port)
    asyncio.run(player.play())
    assert player.timed_out == []
    [failure] = player.failures
    assert failure.startswith("connect client: InvalidMessage")
    [record] = player.records()
    assert record.handshake.status == 0 and "InvalidMessage" in record.handshake.body


def test_a_subprotocol_not_offered_is_a_negotiation_failure(tmp_path: Path, lab: Lab) -> None:
    spec = app_file(
        tmp_path,
        """
        from fastapi import FastAPI, WebSocket

        app = FastAPI()

        @app.websocket("/ws")
        async def endpoint(websocket: WebSocket):
            await websocket.accept(subprotocol="not-offered")
            await websocket.close()
        """,
    )
    served = lab.serve(spec)
    try:
        with pytest.raises(NegotiationError):
            connect(f"ws://127.0.0.1:{served.port}/ws", subprotocols=["chat"])  # type: ignore[list-item]
    finally:
        lab.call(served.stop())
    seen = lab.observe(spec, Scenario.probe("/ws", [], 1.0, subprotocols=["chat"]))
    assert seen.timed_out == ()
    assert len(seen.failures) == 1 and "NegotiationError" in seen.failures[0]
    assert seen.to_dict()["failures"] == list(seen.failures)


def test_an_endless_flood_is_closed_by_the_client_and_said_so(tmp_path: Path, lab: Lab) -> None:
    spec = app_file(
        tmp_path,
        """
        from fastapi import FastAPI, WebSocket

        app = FastAPI()

        @app.websocket("/ws")
        async def endpoint(websocket: WebSocket):
            await websocket.accept()
            while True:
                await websocket.send_text("x" * 10)
        """,
    )
    seen = lab.observe(spec, Scenario.probe("/ws", [], 3.0), isolated=True)
    record = seen.client()
    assert record.truncated and record.stopped_reading is not None
    assert record.stopped_reading.after_frames == 1000 and record.stopped_reading.dropped > 0
    assert len(seen.received()) == 1000
    assert record.close_sent is not None
    assert (record.close_sent.code, record.close_sent.cause) == (1009, "limit")
    assert record.close is not None and record.close.by == "client"
    assert seen.timed_out == ()  # the server answered the close: no "did not answer" here
