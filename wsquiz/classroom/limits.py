"""The host's file descriptors: as many as the system lets a process have, a cap on open
WebSocket connections that keeps some back for the host's own work (the store, the sandboxed
checks, the teacher), and one log line, not thousands, when they run out anyway.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

RESERVED_FDS = 200  # kept for the store, the lab's servers and sandboxes, the teacher
MIN_CONNECTIONS = 64
RUN_OUT = ("Too many open files", "out of system resource", "EMFILE")
FD_ADVICE = (
    "the host ran out of file descriptors: new connections are refused until some close "
    "(raise the limit with `ulimit -n 4096` before hosting)"
)


def raise_fd_limit(wanted: int = 65536) -> int:
    """The soft limit on open files raised toward the hard one; the limit now in force."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return int(soft) if soft != resource.RLIM_INFINITY else wanted


def connection_cap(fd_limit: int) -> int:
    """How many WebSocket connections the host takes at once with `fd_limit` descriptors (below
    the cap on all connections: a WebSocket past it is told why, with HTTP 503)."""
    return max(MIN_CONNECTIONS, fd_limit - RESERVED_FDS - 50)


def capped_http(fd_limit: int) -> type[Any]:
    """uvicorn's HTTP protocol, closing at once any connection past the cap on all of them.

    A socket that connects and says nothing holds a descriptor until uvicorn's keep-alive timeout;
    a flood of them would take the last descriptors the host needs for its own work (the store,
    a sandboxed check, the teacher's next push). Past the cap the connection is aborted as it is
    accepted, so its descriptor comes straight back.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    cap = max(MIN_CONNECTIONS, fd_limit - RESERVED_FDS)

    class Capped(H11Protocol):  # type: ignore[misc]
        refused = False

        def connection_made(self, transport: Any) -> None:
            if len(self.connections) >= cap:
                self.refused = True
                transport.abort()
                return
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if not self.refused:
                super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.refused:
                super().connection_lost(exc)

    return Capped


class RunOutOnce(logging.Filter):
    """Lets one record about running out of descriptors through per minute, said plainly (the
    loop would log a traceback for every refused accept)."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self.every = every
        self.said: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {record.exc_info[1]}"
        if not any(mark in text for mark in RUN_OUT):
            return True
        now = time.monotonic()
        if self.said is not None and now - self.said < self.every:
            return False
        self.said = now
        record.msg, record.args, record.exc_info, record.exc_text = FD_ADVICE, (), None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_running_out() -> RunOutOnce:
    """Install the filter on the loggers that report refused accepts and failed sockets."""
    once = RunOutOnce()
    for name in ("asyncio", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RunOutOnce) for f in logger.filters):
            logger.addFilter(once)
    return once
