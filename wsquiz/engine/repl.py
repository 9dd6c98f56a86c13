"""`wsquiz run`: one app served in a sandbox, one client driven line by line, as wscat does.

The core has no UI: it turns input lines into actions and reports everything that happens, on
both sides, as `Event`s to a callback (called on the lab's thread). The CLI renders them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import Lab
from wsquiz.engine.serving import Limits, Served
from wsquiz.engine.transcript import Close, ServerError
from wsquiz.errors import UsageError

EventKind = Literal[
    "serving",  # the server is up: text = its address, data = its WebSocket routes
    "connected",  # handshake accepted: status 101, text = subprotocol or ""
    "rejected",  # handshake refused: status = HTTP status (0: no answer), text = why
    "sent",
    "received",  # data = str (text frame) or bytes (binary frame)
    "closed",  # close = how
    "error",  # error = what the endpoint raised
    "warning",
    "log",
    "exited",  # the server process ended: text = how
    "problem",  # a line that could not be acted on: text = why
    "truncated",  # the server produced more output than is kept
]

# The server of an interactive session lives as long as the learner wants it.
RUN_LIMITS = Limits(wall_s=24 * 3600, cpu_s=600, startup_s=10.0)
CONNECT_TIMEOUT = 5.0
HELP = (
    "type a line and press Enter to send it as a text frame; "
    "/close [CODE [REASON]]  /json VALUE  /bytes TEXT  /text TEXT  /connect [PATH]  /quit"
)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    text: str = ""
    data: str | bytes | tuple[str, ...] | None = None
    status: int | None = None
    close: Close | None = None
    error: ServerError | None = None


@dataclass(frozen=True)
class Command:
    """One input line, understood."""

    action: Literal["text", "bytes", "json", "close", "connect", "quit", "help"]
    payload: str = ""
    code: int = 1000


def parse_line(line: str) -> Command:
    """A plain line is a text message; a line starting with `/` is a command."""
    if not line.startswith("/") or line.startswith("//"):
        return Command("text", line[1:] if line.startswith("//") else line)
    name, _, rest = line[1:].partition(" ")
    name = name.lower()
    if name in ("quit", "exit", "q"):
        return Command("quit")
    if name in ("help", "?"):
        return Command("help")
    if name == "text":
        return Command("text", rest)
    if name == "bytes":
        return Command("bytes", rest)
    if name == "json":
        try:
            json.loads(rest)
        except ValueError as exc:
            raise UsageError(
                f"/json needs a JSON value: {exc}", fix='for example /json {"type": "hello"}'
            ) from None
        return Command("json", rest)
    if name == "close":
        code_text, _, reason = rest.strip().partition(" ")
        if not code_text:
            return Command("close", "", 1000)
        if not code_text.isdigit() or not _sendable(int(code_text)):
            raise UsageError(
                f"/close: {code_text!r} is not a close code a client may send",
                fix="use 1000 (normal), 1001 (going away), 1008 or 3000-4999: /close 1000 bye",
            )
        if len(reason.encode()) > 123:
            raise UsageError("/close: the reason is longer than 123 bytes", fix="shorten it")
        return Command("close", reason, int(code_text))
    if name == "connect":
        return Command("connect", rest.strip())
    raise UsageError(f"unknown command /{name}", fix=HELP)


def _sendable(code: int) -> bool:
    """Close codes a client may put in a close frame (RFC 6455 section 7.4)."""
    return code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011) or 3000 <= code <= 4999


def route_of(path: str, routes: tuple[str, ...]) -> str | None:
    """The app's WebSocket route that `path` (with its query) would reach, if any."""
    bare = path.split("?", 1)[0]
    for route in routes:
        pattern = re.sub(r"\\{[^}]*\\}", "[^/]+", re.escape(route))
        if re.fullmatch(pattern, bare):
            return route
    return None


def default_path(routes: tuple[str, ...]) -> str | None:
    """The path to connect to when none is given: /ws, or the app's only plain route."""
    if not routes or "/ws" in routes:
        return "/ws"
    plain = [r for r in routes if "{" not in r]
    return plain[0] if len(plain) == 1 and len(routes) == 1 else None


class RunSession:
    """A served app and one client connection (reopened with /connect)."""

    def __init__(
        self,
        lab: Lab,
        spec: AppSpec,
        on_event: Callable[[Event], None],
        *,
        path: str | None = None,
        limits: Limits = RUN_LIMITS,
        subprotocols: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        self.lab = lab
        self.spec = spec
        self.path = path
        self.subprotocols = subprotocols  # offered at every connect, in order
        self.headers = dict(headers or {})
        self.limits = limits
        self._on_event = on_event
        self.served: Served | None = None
        self._conn: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._last_event = time.monotonic()

    # ---- called from the CLI's thread --------------------------------------------------

    def start(self) -> None:
        """Serve the app (raises AppLoadError, LabError) and connect the client."""
        self.lab.call(self._start())

    def handle(self, line: str) -> bool:
        """Act on one input line; False once the user asked to quit."""
        try:
            command = parse_line(line)
        except UsageError as exc:
            self._emit(Event("problem", str(exc)))
            return True
        if command.action == "quit":
            return False
        if command.action == "help":
            self._emit(Event("problem", HELP))
            return True
        self.lab.call(self._act(command))
        return True

    def linger(self, quiet_s: float, max_s: float = 30.0) -> None:
        """After the last input line: wait for what is still coming (replies, the close,
        the server's errors) until `quiet_s` pass with nothing new."""
        self.lab.call(self._linger(quiet_s, max_s))

    def stop(self) -> None:
        self.lab.call(self._stop())

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._reader is not None and not self._reader.done()

    # ---- on the lab's loop ---------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._last_event = time.monotonic()
        self._on_event(event)

    async def _start(self) -> None:
        from wsquiz.engine.lab import serve

        served = await serve(self.spec, isolated=True, limits=self.limits)
        self.served = served
        served.recorder.listener = self._on_server
        self._emit(Event("serving", f"ws://127.0.0.1:{served.port}", data=served.routes))
        path = self.path or default_path(served.routes)
        if path is None:
            listing = ", ".join(served.routes)
            self._emit(
                Event(
                    "problem",
                    f"the app serves WebSockets at {listing}: choose one with "
                    "/connect PATH (for example with a room or id filled in)",
                )
            )
            return
        await self._connect(path)

    def _on_server(self, kind: str, value: Any) -> None:
        if kind == "error":
            self._emit(Event("error", value.type, error=value))
        elif kind in ("warning", "log"):
            self._emit(Event(kind, str(value)))  # type: ignore[arg-type]
        elif kind == "truncated":
            self._emit(Event("truncated", "the server printed more than is kept; the rest is cut"))
        elif kind == "exit":
            self._emit(Event("exited", str(value or "the server process ended")))

    async def _connect(self, path: str) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        from wsquiz.engine.client import CLOSE_TIMEOUT, MAX_FRAME_SIZE

        assert self.served is not None
        if self.connected:
            self._emit(Event("problem", "already connected: /close first"))
            return
        path = path if path.startswith("/") else "/" + path
        uri = f"ws://127.0.0.1:{self.served.port}{path}"
        try:
            conn = await connect(
                uri,
                open_timeout=CONNECT_TIMEOUT,
                ping_interval=None,
                close_timeout=CLOSE_TIMEOUT,
                max_size=MAX_FRAME_SIZE,
                compression=None,
                proxy=None,  # the server is on loopback: never through a proxy
                subprotocols=list(self.subprotocols) or None,  # type: ignore[arg-type]
                additional_headers=self.headers or None,
            )
        except InvalidStatus as exc:
            body = (exc.response.body or b"").decode("utf-8", "replace").strip()[:200]
            status = exc.response.status_code
            why = f"{path}: {body}" if body else path
            routes = self.served.routes
            if routes and route_of(path, routes) is None:
                why += f": no WebSocket route matches it (the app serves {', '.join(routes)})"
            self._emit(Event("rejected", why, status=status))
            return
        except (asyncio.TimeoutError, TimeoutError):
            why = f"{path}: the server did not answer the handshake within {CONNECT_TIMEOUT:g}s"
            self._emit(Event("rejected", why, status=0))
            return
        except (InvalidHandshake, OSError) as exc:
            self._emit(Event("rejected", f"{path}: {type(exc).__name__}: {exc}", status=0))
            return
        self._conn = conn
        self.path = path  # a bare /connect goes back here, never to a rejected path
        self._emit(Event("connected", conn.subprotocol or "", data=path, status=101))
        self._reader = asyncio.create_task(self._read(conn))

    async def _read(self, conn: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        from wsquiz.engine.client import describe_close

        started = time.perf_counter()
        try:
            async for message in conn:
                self._emit(Event("received", data=message))
        except ConnectionClosed:
            pass
        finally:
            at = (time.perf_counter() - started) * 1000
            self._emit(Event("closed", close=describe_close(conn, at)))

    async def _act(self, command: Command) -> None:
        from websockets.exceptions import ConnectionClosed

        gone = self.served.exit_status() if self.served is not None else None
        if gone is not None:
            self._emit(Event("problem", f"the server has stopped ({gone}): run it again"))
            return
        if command.action == "connect":
            routes = self.served.routes if self.served is not None else ()
            await self._connect(command.payload or self.path or default_path(routes) or "/ws")
            return
        if not self.connected:
            self._emit(Event("problem", "not connected: /connect [PATH] opens a new connection"))
            return
        if command.action == "close":
            with contextlib.suppress(ConnectionClosed):
                await self._conn.close(command.code, command.payload)
            if self._reader is not None:
                await asyncio.wait([self._reader], timeout=2)
            return
        payload: str | bytes = (
            command.payload.encode() if command.action == "bytes" else command.payload
        )
        try:
            await self._conn.send(payload)
        except ConnectionClosed:
            if self._reader is not None:  # how it closed comes first, then what was not sent
                await asyncio.wait([self._reader], timeout=2)
            self._emit(Event("problem", "not sent: the connection is closed"))
            return
        self._emit(Event("sent", command.action, data=payload))

    async def _linger(self, quiet_s: float, max_s: float) -> None:
        deadline = time.monotonic() + max_s
        while time.monotonic() < deadline:
            busy = self.served is not None and self.served.recorder.active > 0
            if not self.connected and not busy:
                await asyncio.sleep(0.05)  # the last server events, just behind the close
                return
            if time.monotonic() - self._last_event > quiet_s:
                return
            await asyncio.sleep(0.02)

    async def _stop(self) -> None:
        if self._conn is not None and self.connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(1001, "wsquiz run ended"), 2)
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
        if self.served is not None:
            self.served.recorder.listener = None
            await self.served.stop()
