"""Server-side observation: the endpoint's exceptions, warnings and log lines.

Several apps may be served by one process (the in-process lab), so output is routed by a
context variable to the recorder of the app whose handler produced it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import logging
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from wsquiz.engine.transcript import ServerError, ServerSide
from wsquiz.errors import AppLoadError

Sink = Callable[[str, Any], None]
ASGIApp = Callable[..., Any]

MAX_OUTPUT = 64 * 1024
# Whatever a server sends (a sandbox may send anything), the observer keeps at most this much.
MAX_ITEMS = 200
MAX_RECORDED = 4 * MAX_OUTPUT
_current: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "wsquiz_recorder", default=None
)
# Set only while the app's own code runs (a handler, its lifespan): the tasks started there are
# the app's; those of the server and of wsquiz's client, whatever recorder is current, are not.
_in_app: contextvars.ContextVar[bool] = contextvars.ContextVar("wsquiz_in_app", default=False)


def qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


STR_FAILED = "<exception str() failed>"
MAX_CHAIN = 8  # causes/contexts kept per exception, and sub-exceptions per group
MAX_DEPTH = 3  # groups within groups


def _message(exc: BaseException) -> str:
    try:
        message = str(exc)
    except Exception:
        return STR_FAILED
    if not message and exc.args:
        message = repr(exc.args)
    if not message and isinstance(getattr(exc, "code", None), int):
        # WebSocketDisconnect(code=1006) has no args: say what its str() says when it has
        message = repr((exc.code, getattr(exc, "reason", "")))  # type: ignore[attr-defined]
    return message


def _last_line(exc: BaseException) -> str:
    try:
        return "".join(traceback.format_exception_only(type(exc), exc))
    except Exception:
        return f"{qualified_name(type(exc))}: {STR_FAILED}\n"


def _own_frames(exc: BaseException, root: str | None) -> list[traceback.FrameSummary]:
    from wsquiz.engine.appfile import is_own_file

    if not root:
        return []
    return [f for f in traceback.extract_tb(exc.__traceback__) if is_own_file(f.filename, root)]


def _block(exc: BaseException, own: list[traceback.FrameSummary]) -> str:
    from wsquiz._support.paths import course_path

    lines: list[str] = []
    if own:
        lines.append("Traceback (most recent call last):\n")
        lines += (
            text.replace(f'File "{f.filename}"', f'File "{course_path(f.filename)}"', 1)
            for f, text in zip(own, traceback.format_list(own), strict=True)
        )
    lines.append(_last_line(exc))
    return "".join(lines)


def _chain(exc: BaseException) -> list[tuple[str, BaseException]]:
    """The exceptions `exc` was raised from or while handling, nearest first."""
    found: list[tuple[str, BaseException]] = []
    seen = {id(exc)}
    current: BaseException | None = exc
    while current is not None and len(found) < MAX_CHAIN:
        if current.__cause__ is not None:
            relation, current = "cause", current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            relation, current = "context", current.__context__
        else:
            break
        if id(current) in seen:
            break
        seen.add(id(current))
        found.append((relation, current))
    return found


def _is_group(exc: BaseException) -> bool:
    """An ExceptionGroup (Python 3.11+, or the `exceptiongroup` backport anyio uses)."""
    return any(c.__name__ == "BaseExceptionGroup" for c in type(exc).__mro__)


def describe_exception(
    exc: BaseException,
    app_root: str | None,
    origin: str = "endpoint",
    _depth: int = 0,
    _linked: bool = False,
) -> ServerError:
    """A ServerError as uvicorn's log tells it, trimmed to the app's own frames (any module
    in the app's folder): the exception, the chain it was raised from or while handling, and
    a group's sub-exceptions, each with its message and the app's line."""
    own = _own_frames(exc, app_root)
    links = [] if _linked else _chain(exc)
    chain = [
        replace(describe_exception(linked, app_root, origin, _depth, True), relation=relation)
        for relation, linked in links
    ]
    subs: list[ServerError] = []
    grouped = getattr(exc, "exceptions", None) if _is_group(exc) else None
    if isinstance(grouped, tuple) and _depth < MAX_DEPTH:
        subs = [
            describe_exception(sub, app_root, origin, _depth + 1)
            for sub in grouped[:MAX_CHAIN]
            if isinstance(sub, BaseException)
        ]
    where: tuple[str | None, int | None] = (None, None)
    if own:
        where = (own[-1].filename, own[-1].lineno)
    else:  # raised by the framework while handling the app's own exception: the app's line
        for linked_error in (*chain, *subs):
            if linked_error.line is not None:
                where = (linked_error.file, linked_error.line)
                break
    # the exception's own frames and last line; what it was raised from and a group's parts
    # are in `chain` and `exceptions`, each with its own
    text = _block(exc, own)
    bases = tuple(qualified_name(c) for c in type(exc).__mro__[1:] if c is not object)
    return ServerError(
        type=qualified_name(type(exc)),
        message=_message(exc),
        bases=bases,
        file=where[0],
        line=where[1],
        traceback=text,
        chain=tuple(chain),
        exceptions=tuple(subs),
        origin=origin,
    )


class Recorder:
    """Collects what one served app reports; tells when its handlers are all done.

    Background tasks the app starts count as work too (see `watch_loop`), so `settle` also
    waits, a short while, for what the app does just after the last close.
    """

    def __init__(
        self, app_file: str | None, sink: Sink | None = None, app_root: str | None = None
    ) -> None:
        self.app_file = app_file
        self.app_root = app_root or (str(Path(app_file).parent) if app_file else None)
        self._sink = sink
        self.errors: list[ServerError] = []
        self.warnings: list[str] = []
        self.logs: list[str] = []
        self.output_size = 0
        self.recorded_size = 0
        self.truncated = False
        self.active = 0
        self.background = 0
        self.startup_error: ServerError | None = None
        self._partial: dict[str, str] = {}
        self._idle: asyncio.Event | None = None
        self._quiet: asyncio.Event | None = None
        self.listener: Sink | None = None  # told of each event as it is recorded (`wsquiz run`)

    def emit(self, kind: str, value: Any) -> None:
        if self._sink is not None:
            self._sink(kind, value)
        else:
            self.record(kind, value)

    def record(self, kind: str, value: Any) -> None:
        """Take one event, in-process or as relayed from a child process."""
        if kind in ("error", "warning", "log"):
            if kind == "error":
                value = value if isinstance(value, ServerError) else ServerError.from_dict(value)
                size = len(value.message) + len(value.traceback)
            else:
                value = str(value)
                size = len(value)
            self.recorded_size += size
            items = len(self.errors) + len(self.warnings)
            if self.recorded_size > MAX_RECORDED or (kind != "log" and items >= MAX_ITEMS):
                if not self.truncated:
                    self.truncated = True
                    self._tell("truncated", True)
                return
            if isinstance(value, ServerError):
                self.errors.append(value)
            elif kind == "warning":
                self.warnings.append(value)
            else:
                self.logs.append(value)
        elif kind == "truncated":
            self.truncated = True
        elif kind == "begin":
            self.active += 1
            self._idle_event().clear()
        elif kind == "end":
            self.active = max(0, self.active - 1)
            if self.active == 0:
                self._idle_event().set()
        elif kind == "task_begin":
            self.background += 1
            self._quiet_event().clear()
        elif kind == "task_end":
            self.background = max(0, self.background - 1)
            if self.background == 0:
                self._quiet_event().set()
        self._tell(kind, value)

    def _tell(self, kind: str, value: Any) -> None:
        if self.listener is not None:
            self.listener(kind, value)

    def _idle_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            if self.active == 0:
                self._idle.set()
        return self._idle

    def _quiet_event(self) -> asyncio.Event:
        if self._quiet is None:
            self._quiet = asyncio.Event()
            if self.background == 0:
                self._quiet.set()
        return self._quiet

    async def settle(self, timeout: float, window: float = 0.0) -> bool:
        """Wait until no handler runs (at most `timeout`), then up to `window` more for the
        app's background tasks to end. False when a handler still runs after `timeout`."""
        try:
            await asyncio.wait_for(self._idle_event().wait(), timeout)
        except asyncio.TimeoutError:
            return False
        if window > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._quiet_event().wait(), window)
        await asyncio.sleep(0)
        return True

    def output(self, text: str, stream: str = "stdout") -> None:
        """Printed text, kept as the terminal shows it: one log line per line, whatever the
        writes were (`print("a", 1)` writes three times), blank lines included."""
        if self.truncated or not text:
            return
        self.output_size += len(text)
        if self.output_size > MAX_OUTPUT:
            self.truncated = True
            self.emit("truncated", True)
            return
        *lines, rest = (self._partial.pop(stream, "") + text).split("\n")
        if rest:
            self._partial[stream] = rest
        for line in lines:
            self.emit("log", line.rstrip("\r"))

    def flush(self) -> None:
        """A line printed without its newline yet: shown as it stands."""
        for stream in list(self._partial):
            self.emit("log", self._partial.pop(stream))

    def snapshot(self, exit_status: str | None = None) -> ServerSide:
        self.flush()
        return ServerSide(
            errors=tuple(self.errors),
            warnings=tuple(self.warnings),
            logs=tuple(self.logs),
            output_truncated=self.truncated,
            exit_status=exit_status,
        )

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The app, reporting each handler's start, end and uncaught exception."""

        async def recorded(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") == "lifespan":
                await self._lifespan(app, scope, receive, send)
                return
            if scope.get("type") not in ("websocket", "http"):
                await app(scope, receive, send)
                return
            _current.set(self)
            _in_app.set(True)
            ensure_hooks()
            self.emit("begin", None)
            try:
                await app(scope, receive, send)
            except BaseException as exc:
                self.emit("error", describe_exception(exc, self.app_root))
                # Free the finished frames' locals now, while this handler is still the one
                # reporting: an unawaited coroutine left in one warns here, not whenever a log
                # handler that kept the traceback lets go of it.
                traceback.clear_frames(exc.__traceback__)
                raise
            finally:
                self._end_with_task()

        return recorded

    async def _lifespan(self, app: ASGIApp, scope: Any, receive: Any, send: Any) -> None:
        """The app's startup and shutdown: what escapes them is the app's error, at its line."""
        phase = ["startup"]

        async def receiving() -> Any:
            message = await receive()
            if message.get("type") == "lifespan.shutdown":
                phase[0] = "shutdown"
            return message

        _current.set(self)
        _in_app.set(True)
        try:
            await app(scope, receiving, send)
        except BaseException as exc:
            error = describe_exception(exc, self.app_root, origin=f"lifespan {phase[0]}")
            own = error.line is not None
            # An app without lifespan support fails at once on the scope: uvicorn's "auto"
            # says so quietly; only an error from the app's own code is the app's error.
            if own or phase[0] == "shutdown":
                if phase[0] == "startup":
                    self.startup_error = error
                self.emit("error", error)
            raise

    def _end_with_task(self) -> None:
        """Report "end" once the server is done with the handler's task, not as the app returns:
        the server still reports on it (uvicorn logs the uncaught exception, the rejected
        handshake), and a sandbox's parent that reads "end" must have read those too."""
        task = asyncio.current_task()
        if task is None:
            self._ended()
        else:
            task.add_done_callback(lambda _: self._ended())

    def _ended(self) -> None:
        self.flush()
        self.emit("end", None)


class _AppTask(asyncio.Task):  # type: ignore[type-arg]
    """A task the app started (from a handler or its lifespan): counted as the app's work."""

    wsquiz_recorder: Recorder | None = None


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    recorder = _current.get()
    if recorder is None or not _in_app.get():
        return asyncio.Task(coro, loop=loop, **kwargs)
    task = _AppTask(coro, loop=loop, **kwargs)
    task.wsquiz_recorder = recorder
    recorder.emit("task_begin", None)

    def ended(_: object) -> None:
        # Next tick: a task whose exception nobody retrieved is reported as it is freed,
        # just after its callbacks ran; its end must come after that report.
        loop.call_soon(recorder.emit, "task_end", None)

    task.add_done_callback(ended)
    return task


def _on_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's own reports (`Task exception was never retrieved`): the app's errors too."""
    task = context.get("future") or context.get("task")
    recorder = getattr(task, "wsquiz_recorder", None) or _current.get()
    exc = context.get("exception")
    if recorder is None:
        loop.default_exception_handler(context)
        return
    token = _current.set(recorder)
    try:
        if isinstance(exc, BaseException):
            recorder.emit("error", describe_exception(exc, recorder.app_root, "background task"))
        loop.default_exception_handler(context)  # the log line, as uvicorn's terminal has it
    finally:
        _current.reset(token)


def startup_failed(spec: Any, error: ServerError | None) -> AppLoadError:
    """uvicorn's "Application startup failed. Exiting.", blamed on what the app raised."""
    from wsquiz._support.paths import course_path

    shown = course_path(error.file) if error and error.file else course_path(spec.path)
    if error is None:
        return AppLoadError(
            shown,
            "the app's startup (lifespan) failed; uvicorn exits before serving",
            fix="see the server's log; the startup must complete before anything is served",
        )
    return AppLoadError(
        shown,
        f"the app's startup (lifespan) failed: {error.type}: {error.message}",
        line=error.line,
        fix="correct the startup code at that line; uvicorn exits before serving",
        detail=error.traceback,
    )


def watch_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Count the tasks apps start on `loop` and report the errors asyncio reports."""
    if loop.get_task_factory() is None:
        loop.set_task_factory(_task_factory)  # type: ignore[arg-type]
    loop.set_exception_handler(_on_loop_exception)


class _RoutedStream(io.TextIOBase):
    """Stands in for stdout/stderr: writes from a handler go to its recorder."""

    def __init__(self, fallback: TextIO, name: str = "stdout") -> None:
        self._fallback = fallback
        self._broken = False
        self._name = name

    def write(self, text: str) -> int:
        recorder = _current.get()
        if recorder is not None:
            recorder.output(text, self._name)
        elif not self._broken:
            try:
                return self._fallback.write(text)
            except BrokenPipeError:
                # said once (the CLI then exits quietly); later writes, as at exit, are dropped
                self._broken = True
                raise
        return len(text)

    def flush(self) -> None:
        if _current.get() is None and not self._broken:
            try:
                self._fallback.flush()
            except BrokenPipeError:
                self._broken = True
                raise

    def fileno(self) -> int:
        # Rich, on a broken pipe, points the real descriptor at /dev/null through this
        return self._fallback.fileno()

    def isatty(self) -> bool:
        return self._fallback.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._fallback, "encoding", "utf-8")


class _RoutedLogs(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        recorder = _current.get()
        if recorder is None:
            return
        try:
            text = record.getMessage()
        except Exception:  # a handler's own bad format string must not break capture
            text = str(record.msg)
        # a message's own last newline is not a line more (logging adds none after it either)
        text = text[:-1] if text.endswith("\n") else text
        recorder.output(f"{record.levelname}: {text}\n", "log")


_installed = False
_passthrough = True
_ALWAYS = ("always", None, RuntimeWarning, None, 0)
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi")


def _showwarning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    recorder = _current.get()
    if recorder is None:
        if _passthrough:
            warnings._showwarning_orig(  # type: ignore[attr-defined]
                message, category, filename, lineno, file, line
            )
        return
    recorder.emit("warning", f"{category.__name__}: {message}")


def install_hooks(*, passthrough: bool = True) -> None:
    """Route prints, log records and warnings of served apps to their recorders.

    With `passthrough` False (a sandbox process) output outside any handler is dropped too.
    """
    global _installed, _passthrough
    _passthrough = passthrough
    if not _installed:
        _installed = True
        handler = _RoutedLogs(level=logging.INFO)
        for name in (*_SERVER_LOGGERS, ""):
            logger = logging.getLogger(name)
            if name:
                logger.propagate = False
                logger.setLevel(logging.INFO)
            logger.addHandler(handler)
    if not passthrough:
        sys.stdout = _RoutedStream(io.StringIO())  # type: ignore[assignment]
        sys.stderr = _RoutedStream(io.StringIO(), "stderr")  # type: ignore[assignment]
    ensure_hooks()


def ensure_hooks() -> None:
    """Put the hooks back where something (a test runner's capture, `catch_warnings`)

    swapped them out since: called as each handler starts, so it is cheap when all is in place.
    """
    if warnings.showwarning is not _showwarning:
        warnings.showwarning = _showwarning
    if not warnings.filters or warnings.filters[0] != _ALWAYS:
        warnings.filterwarnings("always", category=RuntimeWarning)
    if not isinstance(sys.stdout, _RoutedStream):
        sys.stdout = _RoutedStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, _RoutedStream):
        sys.stderr = _RoutedStream(sys.stderr, "stderr")  # type: ignore[assignment]
    for name in _SERVER_LOGGERS:
        # A level is process-wide: another server started here since (uvicorn's `log_level`,
        # as the classroom host sets it) must not hide the INFO lines of the apps observed.
        logger = logging.getLogger(name)
        if logger.level != logging.INFO:
            logger.setLevel(logging.INFO)


def activate(recorder: Recorder) -> contextvars.Token[Recorder | None]:
    return _current.set(recorder)
