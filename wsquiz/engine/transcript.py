"""The observation: everything that happened between clients and server, from both sides."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Direction = Literal["sent", "received"]
FrameKind = Literal["text", "bytes"]
ClosedBy = Literal["client", "server", "abnormal"]
CloseCause = Literal["step", "end", "limit"]


@dataclass(frozen=True)
class Handshake:
    accepted: bool
    status: int
    subprotocol: str | None = None
    body: str = ""


@dataclass(frozen=True)
class Frame:
    client: str
    direction: Direction
    kind: FrameKind
    data: str | bytes
    at_ms: float

    @property
    def text(self) -> str:
        """The frame as text (binary frames shown as UTF-8 where they decode)."""
        if isinstance(self.data, str):
            return self.data
        return self.data.decode("utf-8", "backslashreplace")

    def to_dict(self) -> dict[str, Any]:
        data = self.data
        if isinstance(data, bytes):
            data = base64.b64encode(data).decode()
        return {
            "client": self.client,
            "direction": self.direction,
            "kind": self.kind,
            "data": data,
            "at_ms": round(self.at_ms, 3),
        }


@dataclass(frozen=True)
class Close:
    code: int
    reason: str
    by: ClosedBy
    at_ms: float


def _close_dict(close: Close) -> dict[str, Any]:
    return {**asdict(close), "at_ms": round(close.at_ms, 3)}


@dataclass(frozen=True)
class CloseSent:
    """A close frame the client sent first, of its own accord, at `at_ms`: because a step said
    so, because the scenario ended with the connection open, or because it stopped reading a
    server that sent too much. How the close then ended is the record's `Close`."""

    code: int
    reason: str
    at_ms: float
    cause: CloseCause = "step"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at_ms": round(self.at_ms, 3)}


@dataclass(frozen=True)
class Offer:
    """What the scenario had the client ask for in its handshake request: the subprotocols, in
    the order offered, and the headers it set (not those the WebSocket library always sends)."""

    subprotocols: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"subprotocols": list(self.subprotocols), "headers": dict(self.headers)}


@dataclass(frozen=True)
class ServerError:
    """An exception raised by the endpoint, as the server saw it."""

    type: str
    message: str
    bases: tuple[str, ...] = ()
    file: str | None = None
    line: int | None = None
    traceback: str = ""
    # what this exception was raised from (`cause`) or while handling (`context`), nearest
    # first; each with `relation` set
    chain: tuple[ServerError, ...] = ()
    exceptions: tuple[ServerError, ...] = ()  # an exception group's sub-exceptions
    origin: str = "endpoint"  # or "background task", "lifespan startup", "lifespan shutdown"
    relation: str | None = None  # in a chain: "cause" or "context"

    @property
    def name(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    def is_a(self, name: str) -> bool:
        """True when this error is `name` or a subclass of it (by short or qualified name)."""
        wanted = name.strip().lower()
        names = (self.type, *self.bases)
        return any(wanted in (n.lower(), n.rsplit(".", 1)[-1].lower()) for n in names)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "bases": list(self.bases),
            "file": self.file,
            "line": self.line,
            "traceback": self.traceback,
            "chain": [e.to_dict() for e in self.chain],
            "exceptions": [e.to_dict() for e in self.exceptions],
            "origin": self.origin,
            "relation": self.relation,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerError:
        return cls(
            type=str(data["type"]),
            message=str(data["message"]),
            bases=tuple(str(b) for b in data.get("bases", ())),
            file=data.get("file"),
            line=data.get("line"),
            traceback=str(data.get("traceback", "")),
            chain=tuple(cls.from_dict(e) for e in data.get("chain", ())[:8]),
            exceptions=tuple(cls.from_dict(e) for e in data.get("exceptions", ())[:8]),
            origin=str(data.get("origin", "endpoint")),
            relation=data.get("relation"),
        )


@dataclass(frozen=True)
class ServerSide:
    """What the server process reported while the scenario ran, and as it stopped."""

    errors: tuple[ServerError, ...] = ()
    warnings: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()
    output_truncated: bool = False
    exit_status: str | None = None


@dataclass(frozen=True)
class StoppedReading:
    """The client stopped keeping what the server sent past its cap (`MAX_FRAMES` frames or
    `MAX_BYTES` bytes, or one frame over the size limit): frames after `after_frames` were
    read and dropped (`dropped` of them) until the connection closed, or until the client
    closed it itself because the flood did not end."""

    after_frames: int
    at_ms: float
    dropped: int = 0
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "at_ms": round(self.at_ms, 3)}


@dataclass(frozen=True)
class ClientRecord:
    name: str
    path: str
    handshake: Handshake
    close: Close | None
    truncated: bool = False  # frames past the client's cap were not recorded
    connect_at_ms: float = 0.0  # when the client started its handshake
    offer: Offer = field(default_factory=Offer)
    close_sent: CloseSent | None = None
    stopped_reading: StoppedReading | None = None

    def to_dict(self, frames: tuple[Frame, ...]) -> dict[str, Any]:
        mine = [f for f in frames if f.client == self.name]
        return {
            "name": self.name,
            "path": self.path,
            "handshake": asdict(self.handshake),
            "sent": [f.text for f in mine if f.direction == "sent"],
            "received": [f.text for f in mine if f.direction == "received"],
            "close": _close_dict(self.close) if self.close else None,
            "truncated": self.truncated,
            "connect_at_ms": round(self.connect_at_ms, 3),
            "offered": self.offer.to_dict(),
            "close_sent": self.close_sent.to_dict() if self.close_sent else None,
            "stopped_reading": self.stopped_reading.to_dict() if self.stopped_reading else None,
        }


@dataclass(frozen=True)
class Transcript:
    app: str
    clients: tuple[ClientRecord, ...]
    frames: tuple[Frame, ...]
    server: ServerSide = field(default_factory=ServerSide)
    timed_out: tuple[str, ...] = ()
    elapsed_ms: float = 0.0
    routes: tuple[str, ...] = ()  # the app's WebSocket routes, as declared ("/chat/{room}")
    failures: tuple[str, ...] = ()  # what went wrong that was not a timeout, in words

    def client(self, name: str | None = None) -> ClientRecord:
        if name is None:
            return self.clients[0]
        return next(c for c in self.clients if c.name == name)

    def received(self, name: str | None = None) -> list[str]:
        who = self.client(name).name
        return [f.text for f in self.frames if f.client == who and f.direction == "received"]

    @property
    def errors(self) -> tuple[ServerError, ...]:
        return self.server.errors

    def to_dict(self) -> dict[str, Any]:
        first = self.clients[0] if self.clients else None
        return {
            "app": self.app,
            "handshake": asdict(first.handshake) if first else None,
            "received": self.received() if first else [],
            "close": _close_dict(first.close) if first and first.close else {"code": None},
            "clients": [c.to_dict(self.frames) for c in self.clients],
            "frames": [f.to_dict() for f in self.frames],
            "server_errors": [e.to_dict() for e in self.server.errors],
            "warnings": list(self.server.warnings),
            "logs": list(self.server.logs),
            "output_truncated": self.server.output_truncated,
            "exit_status": self.server.exit_status,
            "timed_out": list(self.timed_out),
            "elapsed_ms": round(self.elapsed_ms, 3),
            "routes": list(self.routes),
            "failures": list(self.failures),
        }
