"""Play a scenario with the real `websockets` client and record every frame and close."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field, replace

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from wsquiz.engine.scenario import Scenario, Step
from wsquiz.engine.transcript import (
    ClientRecord,
    Close,
    CloseCause,
    ClosedBy,
    CloseSent,
    Frame,
    FrameKind,
    Handshake,
    Offer,
    StoppedReading,
)
from wsquiz.errors import ObservationError

# A server that floods must not eat the memory of the process observing it: past these caps a
# client stops reading (the server then blocks on its own sends) and says it truncated.
MAX_FRAMES = 1000
MAX_BYTES = 1024 * 1024
MAX_FRAME_SIZE = 1024 * 1024
CLOSE_TIMEOUT = 1.0
TRUNCATED_REASON = f"wsquiz stops reading after {MAX_FRAMES} frames or {MAX_BYTES} bytes"
# Past the cap the client reads on and drops, to see how the server ends: at most this long,
# then it closes (1009) a flood that does not end.
DRAIN_S = 0.5
CLIENT_FIX = (
    "wsquiz needs websockets >= 17.4 for its client: pip install -U 'websockets>=17.4' "
    "(python -c 'import websockets; print(websockets.__version__)' shows the one installed)"
)


def describe_close(conn: ClientConnection, at_ms: float) -> Close:
    """How a closed connection ended, from the close frames that really went each way.

    Whoever sent the first close frame closed; when no close frame came back the connection
    dropped (1006, abnormal), even if the client had started closing: the frames decide.
    """
    rcvd, sent = conn.protocol.close_rcvd, conn.protocol.close_sent
    # Our own 1009 (too much to keep), not an echo of a server that closed with 1009 itself.
    if sent is not None and sent.code == 1009 and not conn.protocol.close_rcvd_then_sent:
        return Close(1009, sent.reason, "client", at_ms)
    if rcvd is None:
        return Close(1006, "", "abnormal", at_ms)
    by: ClosedBy = (
        "client" if sent is not None and not conn.protocol.close_rcvd_then_sent else ("server")
    )
    return Close(rcvd.code, rcvd.reason, by, at_ms)


def close_timed_out(conn: ClientConnection) -> bool:
    """True when the client gave up waiting for the server's answer to its close frame."""
    return isinstance(conn.connection_exc, TimeoutError)


@dataclass
class _Client:
    name: str
    path: str
    handshake: Handshake
    connect_at_ms: float = 0.0
    offer: Offer = field(default_factory=Offer)
    conn: ClientConnection | None = None
    inbox: asyncio.Queue[Frame | None] = field(default_factory=asyncio.Queue)
    close: Close | None = None
    close_sent: CloseSent | None = None
    reader: asyncio.Task[None] | None = None
    kept_frames: int = 0
    kept_bytes: int = 0
    truncated: bool = False
    stopped: StoppedReading | None = None
    dropped: int = 0
    broken: BaseException | None = None  # the client itself failed (not the server)
    closer: asyncio.Task[None] | None = None


class Player:
    """Runs one scenario against a server on 127.0.0.1:port."""

    def __init__(self, scenario: Scenario, port: int) -> None:
        self.scenario = scenario
        self.port = port
        self.frames: list[Frame] = []
        self.clients: dict[str, _Client] = {}
        self.timed_out: list[str] = []
        self.failures: list[str] = []
        self._t0 = time.perf_counter()

    def _now(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    async def play(self) -> None:
        """Play every step. Raises ObservationError when the client itself cannot run."""
        self._t0 = time.perf_counter()
        try:
            try:
                for index, step in enumerate(self.scenario.steps, 1):
                    await self._step(index, step)
            finally:
                await self._finish()
        except (TypeError, AttributeError, ImportError, NameError, AssertionError) as exc:
            raise _client_broken(exc) from exc
        broken = next((c.broken for c in self.clients.values() if c.broken), None)
        if broken is not None:
            raise _client_broken(broken) from broken

    def records(self) -> tuple[ClientRecord, ...]:
        return tuple(
            ClientRecord(
                name=c.name,
                path=c.path,
                handshake=c.handshake,
                close=c.close,
                truncated=c.truncated,
                connect_at_ms=c.connect_at_ms,
                offer=c.offer,
                # The server's close frame came first: the client's close only answered it.
                close_sent=None if c.close is not None and c.close.by == "server" else c.close_sent,
                stopped_reading=replace(c.stopped, dropped=c.dropped) if c.stopped else None,
            )
            for c in self.clients.values()
        )

    def _timeout(self, step: Step) -> float:
        return step.timeout if step.timeout is not None else self.scenario.timeout

    async def _step(self, index: int, step: Step) -> None:
        if step.sleep is not None:
            await asyncio.sleep(step.sleep)
            return
        if step.connect is not None:
            await self._connect(step)
            return
        client = self.clients[step.client]
        if client.conn is None:
            return  # the handshake was rejected: nothing more this client can do
        action = step.action
        if action in ("send", "send_bytes", "send_json"):
            await self._send(client, step)
        elif action == "receive":
            assert step.receive is not None
            for _ in range(step.receive):
                if not await self._receive_one(client, self._timeout(step), f"step {index}"):
                    break
        elif action == "receive_all":
            await self._wait_closed(client, self._timeout(step), f"step {index}", note=False)
        elif action == "close":
            await self._close(client, step.close or 1000, step.reason, "step")
        elif action == "expect_close":
            await self._wait_closed(client, self._timeout(step), f"step {index}", note=True)

    async def _connect(self, step: Step) -> None:
        assert step.connect is not None
        path = step.connect if step.connect.startswith("/") else "/" + step.connect
        uri = f"ws://127.0.0.1:{self.port}{path}"
        offer = Offer(tuple(step.subprotocols), tuple(step.headers.items()))
        at = self._now()
        try:
            conn = await connect(
                uri,
                additional_headers=step.headers or None,
                subprotocols=[s for s in step.subprotocols] or None,  # type: ignore[misc]
                open_timeout=self._timeout(step),
                ping_interval=None,
                close_timeout=CLOSE_TIMEOUT,
                max_size=MAX_FRAME_SIZE,
                compression=None,
                proxy=None,  # loopback: never a proxy (and no scan of the environment for one)
            )
        except InvalidStatus as exc:
            body = (exc.response.body or b"").decode("utf-8", "replace")[:500]
            status = exc.response.status_code
            handshake = Handshake(False, status, None, body)
            self.clients[step.client] = _Client(step.client, path, handshake, at, offer)
            return
        except (asyncio.TimeoutError, TimeoutError):
            waited = self._timeout(step)
            problem = f"the server did not answer the handshake within {waited:g}s"
            self._rejected(step, path, problem, at, offer)
            return
        except (InvalidHandshake, OSError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
            self._rejected(step, path, problem, at, offer, timeout=False)
            return
        handshake = Handshake(True, 101, conn.subprotocol)
        client = _Client(step.client, path, handshake, at, offer, conn)
        client.reader = asyncio.create_task(self._read(client))
        self.clients[step.client] = client

    def _rejected(
        self, step: Step, path: str, problem: str, at: float, offer: Offer, timeout: bool = True
    ) -> None:
        """No usable handshake answer (no HTTP status, or one the client refused): say why,
        as a timeout only when it was one."""
        handshake = Handshake(False, 0, None, problem)
        self.clients[step.client] = _Client(step.client, path, handshake, at, offer)
        (self.timed_out if timeout else self.failures).append(f"connect {step.client}: {problem}")

    async def _read(self, client: _Client) -> None:
        assert client.conn is not None
        try:
            async for message in client.conn:
                if client.stopped is not None:
                    client.dropped += 1  # read to see how the server ends, not kept
                    continue
                kind: FrameKind = "text" if isinstance(message, str) else "bytes"
                frame = Frame(client.name, "received", kind, message, self._now())
                client.kept_frames += 1
                client.kept_bytes += len(message)
                if client.kept_frames > MAX_FRAMES or client.kept_bytes > MAX_BYTES:
                    self._stop_reading(client)
                    client.dropped += 1
                    continue
                self.frames.append(frame)
                client.inbox.put_nowait(frame)
        except ConnectionClosed:
            pass
        except Exception as exc:  # the client library itself failed: no observation
            client.broken = exc
        finally:
            self._record_close(client)
            client.inbox.put_nowait(None)

    def _stop_reading(self, client: _Client) -> None:
        """Past the cap: keep nothing more, read on (so the server's own close is seen, and a
        flood never stalls it); close with 1009 a flood still going after DRAIN_S."""
        client.truncated = True
        client.stopped = StoppedReading(client.kept_frames - 1, self._now(), why=TRUNCATED_REASON)
        client.inbox.put_nowait(None)  # later receive steps see the stream as over
        loop = asyncio.get_running_loop()
        loop.call_later(DRAIN_S, self._close_flood, client)

    def _close_flood(self, client: _Client) -> None:
        if client.close is not None or client.close_sent is not None or client.conn is None:
            return
        self._closing(client, 1009, TRUNCATED_REASON, "limit")
        client.closer = asyncio.ensure_future(_quiet_close(client.conn, 1009, TRUNCATED_REASON))

    def _record_close(self, client: _Client) -> None:
        if client.close is not None or client.conn is None:
            return
        client.close = describe_close(client.conn, self._now())
        if client.close.code == 1009 and client.close.by == "client" and client.stopped is None:
            client.truncated = True  # one frame over MAX_FRAME_SIZE: the library refused it
            why = "a frame over 1 MiB"
            client.stopped = StoppedReading(client.kept_frames, self._now(), why=why)

    async def _send(self, client: _Client, step: Step) -> None:
        assert client.conn is not None
        payload = step.payload()
        kind: FrameKind = "text" if isinstance(payload, str) else "bytes"
        try:
            await client.conn.send(payload)
        except ConnectionClosed:
            return
        self.frames.append(Frame(client.name, "sent", kind, payload, self._now()))

    async def _receive_one(self, client: _Client, timeout: float, where: str) -> bool:
        try:
            frame = await asyncio.wait_for(client.inbox.get(), timeout)
        except asyncio.TimeoutError:
            self.timed_out.append(f"{where}: {client.name} waited {timeout:g}s for a message")
            return False
        if frame is None:
            client.inbox.put_nowait(None)  # keep reporting "closed" to later receives
            return False
        return True

    async def _wait_closed(self, client: _Client, timeout: float, where: str, note: bool) -> None:
        if client.reader is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(client.reader), timeout)
        except asyncio.TimeoutError:
            if client.truncated:
                return  # the client itself is closing: it stopped reading a flood
            if note:
                self.timed_out.append(f"{where}: {client.name} waited {timeout:g}s for the close")
            else:
                self.timed_out.append(
                    f"{where}: {client.name} waited {timeout:g}s; the server did not close"
                )

    def _closing(self, client: _Client, code: int, reason: str, cause: CloseCause) -> None:
        """The client starts a close: noted now, when its close frame goes out."""
        client.close_sent = CloseSent(code, reason, self._now(), cause)

    async def _close(self, client: _Client, code: int, reason: str, cause: CloseCause) -> None:
        assert client.conn is not None
        if client.close is not None:
            return
        self._closing(client, code, reason, cause)
        with contextlib.suppress(ConnectionClosed):
            await client.conn.close(code, reason)
        if client.reader is not None:
            await asyncio.wait([client.reader], timeout=CLOSE_TIMEOUT)
        if client.close is None:
            client.close = Close(code, reason, "client", self._now())
        if client.closer is not None:
            await asyncio.wait([client.closer], timeout=CLOSE_TIMEOUT)
        if close_timed_out(client.conn):
            self.timed_out.append(
                f"{client.name}: the server did not answer the close frame "
                f"within {CLOSE_TIMEOUT:g}s, so the connection was dropped"
            )

    async def _finish(self) -> None:
        """Close what the scenario left open (recorded as closed by the client, 1000)."""
        for client in self.clients.values():
            if client.conn is not None and client.close is None and client.stopped is not None:
                # a flood being drained: its end (the server's close, or ours) comes first
                await asyncio.wait([client.reader] if client.reader else [], timeout=DRAIN_S * 2)
            if client.conn is not None and client.close is None:
                await self._close(client, 1000, "", "end")
            if client.reader is not None and not client.reader.done():
                client.reader.cancel()
            if client.closer is not None and not client.closer.done():
                client.closer.cancel()


async def _quiet_close(conn: ClientConnection, code: int, reason: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await conn.close(code, reason)


def _client_broken(exc: BaseException) -> ObservationError:
    import websockets

    version = getattr(websockets, "__version__", "?")
    return ObservationError(
        f"the WebSocket client could not run ({type(exc).__name__}: {exc}; "
        f"websockets {version} is installed): nothing was observed",
        fix=CLIENT_FIX,
    )
