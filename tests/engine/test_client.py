"""The client's account of a close: who closed, from the frames that really went each way."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console

from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.client import Player
from wsquiz.engine.lab import Lab
from wsquiz.engine.scenario import Scenario
from wsquiz.engine.transcript import Transcript
from wsquiz.ui.transcript import transcript_view

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

RETURNS_AFTER_ECHO = """\
from fastapi import FastAPI, WebSocket

app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    data = await websocket.receive_text()
    await websocket.send_text(data)
"""


def shown(transcript: Transcript) -> str:
    console = Console(width=100, no_color=True, file=io.StringIO())
    console.print(transcript_view(transcript, title="t"))
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_a_handler_returning_while_the_client_closes_is_a_drop_not_a_timeout(
    lab: Lab, tmp_path: Path
) -> None:
    """The handler ends (uvicorn drops the TCP connection) just as the client sends its close
    frame: whatever wins the race, the transcript never says the client closed a connection that
    dropped, nor that a close timeout elapsed (it did not)."""
    app = tmp_path / "app.py"
    app.write_text(RETURNS_AFTER_ECHO)
    scenario = Scenario.from_steps([{"connect": "/ws"}, {"send": "hi"}, {"receive": 1}], timeout=5)
    for isolated in (False, True, False, True, False, True):
        seen = lab.observe(AppSpec.parse(app), scenario, isolated=isolated)
        close = seen.client().close
        assert close is not None
        assert (close.code, close.by) in ((1006, "abnormal"), (1000, "client"))
        assert seen.timed_out == ()
        text = shown(seen)
        assert "client closed)" not in text or "1000 normal" in text
        assert "timeout" not in text


# A server written by hand, to decide exactly what happens to the client's close frame.


async def _handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + GUID.encode()).digest())
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    await writer.drain()


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    mask = await reader.readexactly(4)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(await reader.readexactly(length)))
    return head[0] & 0x0F, payload


Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _play(on_close: Answer, steps: list[dict[str, object]]) -> Player:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _handshake(reader, writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                opcode, payload = await _read_frame(reader)
                if opcode == 8:
                    await on_close(reader, writer)
                    return
                writer.write(b"\x81" + bytes([len(payload)]) + payload)  # echo, unmasked
                await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        player = Player(Scenario.from_steps(steps, timeout=5), port)
        await player.play()
        return player
    finally:
        server.close()


async def _drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x88\x02\x03\xe8")  # close 1000
    await writer.drain()
    writer.close()


async def _ignore(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)  # neither answer the close frame nor drop the connection


STEPS: list[dict[str, object]] = [{"connect": "/ws"}, {"send": "hi"}, {"receive": 1}]


def test_a_close_frame_the_server_drops_is_abnormal_with_no_timeout() -> None:
    for _ in range(3):
        player = asyncio.run(_play(_drop, [*STEPS, {"close": 1000}]))
        close = player.records()[0].close
        assert close is not None
        assert (close.code, close.by) == (1006, "abnormal")
        assert player.timed_out == []


def test_a_close_frame_the_server_answers_is_closed_by_the_client() -> None:
    player = asyncio.run(_play(_answer, [*STEPS, {"close": 1000}]))
    close = player.records()[0].close
    assert close is not None and (close.code, close.by) == (1000, "client")
    assert player.timed_out == []


def test_a_close_frame_left_unanswered_is_a_real_timeout() -> None:
    player = asyncio.run(_play(_ignore, [*STEPS, {"close": 1000}]))
    close = player.records()[0].close
    assert close is not None and (close.code, close.by) == (1006, "abnormal")
    assert len(player.timed_out) == 1
    assert "did not answer the close frame within 1s" in player.timed_out[0]


def test_the_clients_own_close_is_recorded_when_sent_and_the_end_when_answered() -> None:
    player = asyncio.run(_play(_answer, [*STEPS, {"close": 4000, "reason": "bye"}]))
    (record,) = player.records()
    sent, close = record.close_sent, record.close
    assert sent is not None and close is not None
    assert (sent.code, sent.reason, sent.cause) == (4000, "bye", "step")
    hi = next(f for f in player.frames if f.direction == "received")
    assert record.connect_at_ms < hi.at_ms < sent.at_ms <= close.at_ms


def test_a_server_close_the_client_only_answers_is_not_the_clients_close() -> None:
    """The server's close frame has come in (the TCP connection not yet closed) when the
    scenario ends and the client closes what it thinks is open: the close was the server's,
    and the client sent no close frame of its own first."""

    async def play() -> Player:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _handshake(reader, writer)
            writer.write(b"\x88\x02\x03\xe9")  # close 1001, then hold the connection a while
            await writer.drain()
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                await _read_frame(reader)  # the client's answer
                await asyncio.sleep(0.3)
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            player = Player(Scenario.from_steps([{"connect": "/ws"}, {"sleep": 0.1}]), port)
            await player.play()
            return player
        finally:
            server.close()

    (record,) = asyncio.run(play()).records()
    assert record.close is not None and (record.close.code, record.close.by) == (1001, "server")
    assert record.close_sent is None
