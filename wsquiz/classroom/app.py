"""The classroom's web app: FastAPI routes over the room.

Endpoints:
- `/ws/student`: the first message joins (`{"type": "join", "code", "name", "token"?}`); then
  answers (quiz) or checks (exercise). Identity is bound to the connection: a message never
  names its student.
- `/ws/board`: the read-only board feed for a projector (only what a projector may show), or
  with `?key=` the host key, the teacher's private feed.
- `/ws/teacher?key=HOST_KEY`: the private board feed plus the teacher's commands (no student
  limits: the teacher's controls never fail).
- `/board`: the projector page, `/`: how to join.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

# Imported at the top (not lazily) because FastAPI resolves the handlers' annotations here; only
# the classroom commands import this module.
from fastapi import FastAPI, WebSocket
from starlette.exceptions import WebSocketException

from wsquiz.classroom.broadcast import Peer
from wsquiz.classroom.protocol import (
    CLOSE_POLICY,
    CLOSE_TRY_LATER,
    Bucket,
    Invalid,
    error,
    receive_json,
    same,
)
from wsquiz.classroom.room import Classroom
from wsquiz.classroom.seats import Seat
from wsquiz.errors import WsquizError

JOIN_TIMEOUT = 10.0
STATIC = Path(__file__).resolve().parent / "static"


async def close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        short = reason.encode()[:123].decode("utf-8", "ignore")  # a close reason: <= 123 bytes
        await asyncio.wait_for(ws.close(code, short), 2)


def build_app(room: Classroom) -> FastAPI:
    from fastapi.responses import HTMLResponse, PlainTextResponse

    app = FastAPI(title="wsquiz classroom", docs_url=None, redoc_url=None, openapi_url=None)
    board_html = (STATIC / "board.html").read_text(encoding="utf-8")

    @app.get("/", response_class=PlainTextResponse)
    async def index() -> str:
        return (
            f"wsquiz classroom: {room.material.title}\n"
            f"join: wsquiz classroom join {room.join_url} --name YOUR_NAME\n"
            f"board: {room.join_url}/board\n"
        )

    @app.get("/board", response_class=HTMLResponse)
    async def board_page() -> str:
        return board_html

    @app.websocket("/ws/student")
    async def student(ws: WebSocket) -> None:
        async with _admitted(ws, room) as admitted:
            if admitted:
                await ws.accept()
                await _student(ws, room)

    @app.websocket("/ws/board")
    async def board(ws: WebSocket) -> None:
        async with _admitted(ws, room) as admitted:
            if admitted:
                await _board(ws)

    async def _board(ws: WebSocket) -> None:
        await ws.accept()
        key = ws.query_params.get("key")
        private = key is not None and same(key, room.session.host_key)
        if key is not None and not private:
            await close(ws, CLOSE_POLICY, "wrong board key")
            return
        if not private and not room.board_room():
            await close(ws, CLOSE_TRY_LATER, room.board_full_reason())
            return
        channel = room.channel("board-private" if private else "board")
        await _watch(ws, room, channel, private, commands=False)

    @app.websocket("/ws/teacher")
    async def teacher(ws: WebSocket) -> None:
        await ws.accept()
        key = ws.query_params.get("key") or ""
        if not same(key, room.session.host_key):
            await close(ws, CLOSE_POLICY, "wrong host key")
            return
        await _watch(ws, room, room.channel("teacher"), True, commands=True)

    return app


@contextlib.asynccontextmanager
async def _admitted(ws: WebSocket, room: Classroom) -> AsyncIterator[bool]:
    """Count the connection; past the host's cap, refuse it at the handshake (HTTP 503) so the
    host keeps descriptors for the class it has (the teacher's channel is never counted)."""
    if room.connections >= room.max_connections:
        from fastapi.responses import PlainTextResponse

        refusal = PlainTextResponse(
            "the classroom host is at its connection limit: try again in a minute\n", 503
        )
        with contextlib.suppress(Exception):
            await ws.send_denial_response(refusal)
        yield False
        return
    room.connections += 1
    try:
        yield True
    finally:
        room.connections -= 1


async def _student(ws: WebSocket, room: Classroom) -> None:
    bucket = Bucket()
    address = ws.client.host if ws.client else "?"
    try:
        hello = await asyncio.wait_for(receive_json(ws, bucket), JOIN_TIMEOUT)
        if hello is None:
            return
        seat, token, rejoined = await room.join(hello, address)
    except WsquizError as exc:  # the store could not record the seat
        await close(ws, 1011, exc.message)
        return
    except asyncio.TimeoutError:
        await close(ws, CLOSE_POLICY, f"join within {JOIN_TIMEOUT:g}s")
        return
    except Invalid as exc:
        await close(ws, CLOSE_POLICY, exc.reason)
        return
    except WebSocketException as exc:
        await close(ws, exc.code, exc.reason)
        return
    peer = Peer(ws)
    room.seated(seat, peer, token, rejoined)
    await _welcome_question(room, peer)
    try:
        code, reason = await _serve_peer(peer, ws, bucket, seat, room)
    finally:
        await room.manager.remove(peer)
        room.left(seat, peer)
    if code is not None:
        await close(ws, code, reason)


async def _welcome_question(room: Classroom, peer: Peer) -> None:
    question = room.question_message()
    if question is not None and question["revealed"] and question["key"] is None:
        # revealed before a host restart: the key is observed again, not left out
        with contextlib.suppress(Exception):
            question["key"] = await room.key(question["item"]["id"])
    if question is not None:
        peer.push(json.dumps(question))


async def _until_gone(
    peer: Peer, reading: asyncio.Task[tuple[int | None, str]]
) -> tuple[int | None, str]:
    """What ended a connection: its reader's close, or the peer dropped by the host."""
    gone = asyncio.create_task(peer.gone.wait())
    try:
        await asyncio.wait({reading, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if reading.done():
        return reading.result()
    reading.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await reading
    return (peer.close_code if peer.close_code != 1006 else None), peer.close_reason


async def _serve_peer(
    peer: Peer, ws: WebSocket, bucket: Bucket, seat: Seat, room: Classroom
) -> tuple[int | None, str]:
    """Read a student's messages until they leave, break a limit, or are dropped."""

    async def read() -> tuple[int | None, str]:
        while True:
            try:
                data = await receive_json(ws, bucket)
            except WebSocketException as exc:
                return exc.code, exc.reason
            except Invalid as exc:
                peer.push(json.dumps(error(exc.reason)))
                continue
            if data is None:
                return None, ""
            peer.push(json.dumps(await room.from_student(seat, data)))

    return await _until_gone(peer, asyncio.create_task(read()))


async def _watch(
    ws: WebSocket, room: Classroom, channel: str, private: bool, commands: bool
) -> None:
    """A board's feed; the teacher's also takes commands, with no rate limit (never closed for
    keys held down: a burst is handled one command after another)."""
    peer = Peer(ws)
    room.manager.add(channel, peer)
    peer.push(json.dumps(room.snapshot(private)))
    bucket = None if commands else Bucket()

    async def read() -> tuple[int | None, str]:
        while True:
            try:
                data = await asyncio.wait_for(receive_json(ws, bucket), room.idle_after(channel))
            except WebSocketException as exc:
                return exc.code, exc.reason
            except asyncio.TimeoutError:
                return 1000, "idle: reload the page to watch again"
            except Invalid as exc:
                if commands:
                    peer.push(json.dumps(error(exc.reason)))
                continue
            if data is None:
                return None, ""
            if commands:
                peer.push(json.dumps(await room.command(data)))

    try:
        code, reason = await _until_gone(peer, asyncio.create_task(read()))
    finally:
        await room.manager.remove(peer)
    if code is not None and code != 1006:
        await close(ws, code, reason)
