"""Hosting a classroom: uvicorn in a thread of its own, the session to open or resume, and
the export of a session's results."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
import time
from pathlib import Path
from typing import Any

from wsquiz.classroom.material import Material
from wsquiz.classroom.protocol import MAX_MESSAGE
from wsquiz.classroom.room import Classroom, Feedback
from wsquiz.classroom.store import ClassroomStore, ClassSession
from wsquiz.errors import UsageError

HOST_FIX = (
    "pass --host 127.0.0.1 (this machine only), --host 0.0.0.0 (the classroom network too), "
    "or an address of this machine"
)


def check_address(host: str, port: int) -> int:
    """The socket family to listen on `host:port`; a UsageError when either cannot be used."""
    if not 0 <= port <= 65535:
        raise UsageError(
            f"--port {port} is not a port: a port is 0 to 65535",
            fix="choose a --port from 1024 to 65535 (8765 by default), or 0 for a free one",
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, socket.gaierror) else "not a host name"
        raise UsageError(f"cannot listen on --host {host!r}: {why}", fix=HOST_FIX) from None
    return family


def check_options(feedback: str, time_limit: float | None) -> Feedback:
    """The host's --feedback and --time, checked before a session is opened."""
    if feedback not in ("reveal", "instant"):
        raise UsageError(
            f"--feedback {feedback!r} is not a choice",
            fix="pass --feedback reveal (right or wrong at the reveal) or --feedback instant",
        )
    if time_limit is not None and not 5 <= time_limit <= 3600:
        raise UsageError(
            f"--time {time_limit:g} is out of range", fix="give 5 to 3600 seconds, e.g. --time 30"
        )
    return "instant" if feedback == "instant" else "reveal"


def listening(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port`; OSError when it cannot be had (the port is taken...)."""
    sock = socket.socket(check_address(host, port), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def bind(host: str, port: int) -> socket.socket:
    try:
        return listening(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            fix = f"{host} is no address of this machine: {HOST_FIX}"
        elif exc.errno == errno.EACCES:
            fix = "ports below 1024 need privileges: choose a --port from 1024 to 65535"
        else:
            fix = "choose another --port (0 picks a free one), or stop what uses it"
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc})", fix=fix
        ) from None


def public_address(host: str) -> str:
    """The address students type: the host's LAN address when it listens on all interfaces."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
        return str(probe.getsockname()[0])
    return socket.gethostname()


GOING_AWAY = "the host stopped; it resumes the session when it is back"

DEFAULT_PORT = 8765


class Host:
    """Serve a classroom under uvicorn in a thread of its own; the caller keeps its thread."""

    def __init__(
        self,
        room: Classroom,
        host: str = "127.0.0.1",
        port: int = 0,
        sock: socket.socket | None = None,  # already listening (on `host`)
    ) -> None:
        self.room = room
        self.host = host
        self._sock = sock or bind(host, port)
        self.port: int = self._sock.getsockname()[1]
        shown = public_address(host)
        shown = f"[{shown}]" if ":" in shown else shown
        self.url = f"http://{shown}:{self.port}"
        self.local_url = f"http://{'[::1]' if ':' in host else '127.0.0.1'}:{self.port}"
        room.join_url = self.url
        room.store.set_port(room.session.id, self.port)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._failed: BaseException | None = None

    def start(self, timeout: float = 10.0) -> Host:
        import uvicorn

        from wsquiz.classroom.limits import (
            capped_http,
            connection_cap,
            quiet_running_out,
            raise_fd_limit,
        )

        fds = raise_fd_limit()
        self.room.max_connections = connection_cap(fds)

        config = uvicorn.Config(
            self.room.app(),
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            ws_max_size=MAX_MESSAGE,
            http=capped_http(fds),
            # No per-message deflate: it would compress every broadcast once per student; on a
            # classroom network the same bytes go to every socket as they are.
            ws_per_message_deflate=False,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        quiet_running_out()  # after the config: uvicorn sets up its loggers there
        self._thread = threading.Thread(target=self._run, name="wsquiz-classroom", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._failed is not None or not self._thread.is_alive():
                raise UsageError(f"the classroom server did not start: {self._failed}")
            if time.monotonic() > deadline:
                raise UsageError(f"the classroom server did not start within {timeout:g}s")
            time.sleep(0.005)
        self.call(self.room.opened())
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:  # reported by start()
            self._failed = exc
        finally:
            loop.close()

    def call(self, coro: Any, timeout: float | None = 10.0) -> Any:
        """Run a coroutine on the server's loop (the classroom's state lives there)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None and self._thread.is_alive():
            # Students and boards hear "going away" (1001) and rejoin when the host is back;
            # left open, uvicorn would wait out its graceful timeout and log an error.
            with contextlib.suppress(Exception):
                self.call(self.room.manager.close_all(1001, GOING_AWAY), timeout=3)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> Host:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(room: Classroom, host: str, port: int | None) -> tuple[Host, str | None]:
    """The Host of this session, and why its students must rejoin elsewhere (None: they need not).

    A resumed session listens where it served before, where its students' terminals are
    trying to rejoin, unless another --port is asked for or that port cannot be had now.
    """
    before = room.session.port
    wanted = DEFAULT_PORT if port is None else port
    if before is None:
        return Host(room, host, wanted), None
    if port in (None, 0, before):
        try:
            return Host(room, host, sock=listening(host, before)), None
        except OSError as exc:
            why = (
                f"port {before}, where this session served before, cannot be used now "
                f"({exc.strerror or exc})"
            )
    else:
        why = f"this session served on port {before} before, and --port {port} was asked for"
    return Host(room, host, wanted), why


def open_classroom(
    material: Material,
    store: ClassroomStore,
    *,
    new: bool = False,
    feedback: Feedback = "reveal",
    show_code: bool = False,
    time_limit: float | None = None,
) -> tuple[Classroom, bool]:
    """The session to host: the open one for this material (a restart resumes it), or a new one."""
    session = None if new else store.open_session(material.mode, material.name, material.content)
    resumed = session is not None
    if session is None:
        session = store.create_session(material.mode, material.name, material.content)
    room = Classroom(
        material, store, session, feedback=feedback, show_code=show_code, time_limit=time_limit
    )
    return room, resumed


def load_material(
    content: str | None, quiz: str | None, exercise: str | None, lab: Any
) -> Material:
    from wsquiz._support.paths import content_root
    from wsquiz.classroom.material import ExerciseMaterial, QuizMaterial

    if (quiz is None) == (exercise is None):
        raise UsageError(
            "a class works on one quiz or one exercise",
            fix="pass --quiz NAME or --exercise NAME (wsquiz quiz --list, wsquiz exercise list)",
        )
    root = content_root(content)
    if quiz is not None:
        return QuizMaterial(root, quiz, lab)
    assert exercise is not None
    return ExerciseMaterial(root, exercise, lab)


def export_command(session_id: str, db: Path | None) -> str:
    """The command that exports this very session (from the same store)."""
    import shlex

    words = ["wsquiz", "classroom", "export", "--session", session_id]
    if db is not None:
        words += ["--db", str(db.expanduser().resolve())]
    return shlex.join(words)


def export_session(
    *, session_id: str | None, db: Path | None, fmt: str, out: Path | None
) -> tuple[ClassSession, list[Any], list[Path]]:
    """The session's results in the formats of `wsquiz grade` (written to `out`, or returned)."""
    from wsquiz.grading import exports

    store = ClassroomStore(db)
    try:
        session = store.session(session_id) if session_id else store.latest_session()
        if session is None:
            raise UsageError(
                f"no classroom session {session_id!r} in {store.path}"
                if session_id
                else f"no classroom session in {store.path} yet",
                fix="host one with `wsquiz classroom host`, or pass --db/--session",
            )
        material = load_material(
            session.content,
            session.target if session.mode == "quiz" else None,
            session.target if session.mode == "exercise" else None,
            None,
        )
        room = Classroom(material, store, session)
        results = room.results()
        written = (
            exports.write(
                results, fmt, out, kind=session.mode, name=session.target, session=session.id
            )
            if out is not None
            else []
        )
        if out is None and fmt == "gradescope":
            raise UsageError("--format gradescope needs --out", fix="add --out DIR")
        return session, results, written
    finally:
        store.close()
