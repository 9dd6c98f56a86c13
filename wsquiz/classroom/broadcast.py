"""Broadcasting to a class: a peer per socket, rooms of peers, and a broadcast that serialises a
message once and never waits on a socket.

A send that the socket takes at once (the usual case: the kernel's buffer has room) is done
right there, without a task: a broadcast to 1,000 students is 1,000 writes, not 1,000 task
wake-ups. Only a send that has to wait (a slow reader, the transport paused) goes on in a task
of its own, with the messages after it queued in a bounded outbox; a peer whose outbox
overflows, or whose send has waited longer than its timeout, is dropped (and may rejoin).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Coroutine, Generator
from typing import Any

from starlette.websockets import WebSocket

from wsquiz.classroom.protocol import CLOSE_POLICY

SEND_TIMEOUT = 2.0  # a send to one peer that waits longer drops that peer
OUTBOX = 256  # messages queued behind a waiting send; more drops the peer


class _Resumed:
    """The rest of a coroutine that was started by hand and stopped at `pending`: awaited in a
    task, it goes on exactly where it stopped (as an eagerly started task would)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro = coro
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, None]:
        value = self.pending
        while True:
            try:
                sent = yield value
            except BaseException as exc:  # a cancel: handed on to the coroutine
                try:
                    value = self.coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = self.coro.send(sent)
                except StopIteration:
                    return


class Peer:
    """One connected socket: sends at once when the socket takes them, else in order later."""

    def __init__(
        self, ws: WebSocket, *, timeout: float = SEND_TIMEOUT, outbox: int = OUTBOX
    ) -> None:
        self.ws = ws
        self.timeout = timeout
        self.limit = outbox
        self.outbox: deque[str] = deque()
        self.gone = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self.room = ""
        self.writer: asyncio.Task[None] | None = None  # only while a send waits
        self.sending_since: float | None = None

    def push(self, text: str) -> bool:
        if self.gone.is_set():
            return False
        if self.writer is not None:
            if len(self.outbox) >= self.limit:
                self.drop(CLOSE_POLICY, "too slow: messages piled up unread")
                return False
            self.outbox.append(text)
            return True
        return self._send_now(text)

    def _send_now(self, text: str) -> bool:
        coro = self.ws.send_text(text)
        try:
            pending = coro.send(None)
        except StopIteration:
            return True
        except Exception:  # the socket is gone: the handler sees it as a disconnect
            self.drop(1006, "")
            return False
        self.sending_since = asyncio.get_running_loop().time()
        self.writer = asyncio.create_task(self._finish(coro, pending))
        return True

    async def _finish(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        clock = asyncio.get_running_loop().time
        try:
            await _Resumed(coro, pending)
            while self.outbox and not self.gone.is_set():
                self.sending_since = clock()
                await self.ws.send_text(self.outbox.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:
            self.drop(1006, "")
        finally:
            self.sending_since = None
            self.writer = None

    def drop(self, code: int, reason: str) -> None:
        if not self.gone.is_set():
            self.close_code, self.close_reason = code, reason
            self.gone.set()

    def overdue(self, now: float) -> bool:
        return self.sending_since is not None and now - self.sending_since > self.timeout

    async def stop(self) -> None:
        # A cancel can be lost when it lands just as a send completes (asyncio before 3.12):
        # hence a cancel repeated until the writer is really done.
        self.outbox.clear()
        writer = self.writer
        while writer is not None and not writer.done():
            writer.cancel()
            await asyncio.wait({writer}, timeout=0.5)


class ConnectionManager:
    """Rooms of peers. `broadcast` serialises once and never waits on a socket."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[int, Peer]] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._tick = 0.25

    def add(self, room: str, peer: Peer) -> None:
        peer.room = room
        self.rooms.setdefault(room, {})[id(peer)] = peer
        self._tick = min(self._tick, peer.timeout / 4)
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        """Drop every peer whose send has been waiting longer than its timeout."""
        loop = asyncio.get_running_loop()
        while self.rooms:
            await asyncio.sleep(self._tick)
            now = loop.time()
            for members in list(self.rooms.values()):
                for peer in list(members.values()):
                    if peer.overdue(now) and not peer.gone.is_set():
                        peer.drop(CLOSE_POLICY, f"too slow: a send took over {peer.timeout:g}s")
                        if peer.writer is not None:
                            peer.writer.cancel()

    async def remove(self, peer: Peer) -> None:
        members = self.rooms.get(peer.room)
        if members is not None:
            members.pop(id(peer), None)
            if not members:
                del self.rooms[peer.room]
        await peer.stop()

    def count(self, room: str) -> int:
        return len(self.rooms.get(room, {}))

    def peers(self, room: str) -> list[Peer]:
        return list(self.rooms.get(room, {}).values())

    async def close_all(self, code: int, reason: str, wait: float = 1.0) -> None:
        """Every peer told to go with `code`, waiting a little for their handlers to close."""
        for members in list(self.rooms.values()):
            for peer in list(members.values()):
                peer.drop(code, reason)
        clock = asyncio.get_running_loop().time
        deadline = clock() + wait
        while self.rooms and clock() < deadline:
            await asyncio.sleep(0.01)
        # The host is stopping: its loop ends next, and a watchdog left pending there would be
        # destroyed with a warning (a peer still being closed keeps `rooms` non-empty).
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and not watchdog.done():
            watchdog.cancel()
            await asyncio.wait({watchdog}, timeout=0.5)

    def broadcast(self, room: str, message: dict[str, Any] | str) -> int:
        text = message if isinstance(message, str) else json.dumps(message)
        delivered = 0
        for peer in list(self.rooms.get(room, {}).values()):  # a copy: peers may leave meanwhile
            delivered += peer.push(text)
        return delivered

    async def broadcast_sequential(self, room: str, message: dict[str, Any] | str) -> int:
        """The naive way (one await per socket, in turn): kept only as the benchmark's baseline."""
        text = message if isinstance(message, str) else json.dumps(message)
        for peer in list(self.rooms.get(room, {}).values()):
            await peer.ws.send_text(text)
        return self.count(room)
