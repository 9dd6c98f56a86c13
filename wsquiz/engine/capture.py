"""Server-side observation: the endpoint's exceptions, warnings and log lines.

Several apps may be served by one process (the in-process lab), so output is routed by a
context variable to the recorder of the app whose handler produced it.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from wsquiz.engine.transcript import ServerError, ServerSide

Sink = Callable[[str, Any], None]
ASGIApp = Callable[..., Any]

MAX_OUTPUT = 64 * 1024
# Whatever a server sends (a sandbox may send anything), the observer keeps at most this much.
MAX_ITEMS = 200
MAX_RECORDED = 4 * MAX_OUTPUT
_current: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "wsquiz_recorder", default=None
)


def qualified_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def describe_exception(exc: BaseException, app_file: str | None) -> ServerError:
    """A ServerError with the traceback trimmed to the app's own frames and the exception's
    last line: none of the framework's frames (a bundled app's file named as in the course)."""
    from wsquiz._support.paths import course_path

    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if app_file and _same_file(f.filename, app_file)]
    where = own[-1] if own else None
    lines: list[str] = []
    if own:
        lines.append("Traceback (most recent call last):\n")
        lines += (
            text.replace(f'File "{f.filename}"', f'File "{course_path(f.filename)}"', 1)
            for f, text in zip(own, traceback.format_list(own), strict=True)
        )
    lines += traceback.format_exception_only(type(exc), exc)
    message = str(exc)
    if not message and exc.args:
        message = repr(exc.args)
    if not message and isinstance(getattr(exc, "code", None), int):
        # WebSocketDisconnect(code=1006) has no args: say what its str() says when it has
        message = repr((exc.code, getattr(exc, "reason", "")))  # type: ignore[attr-defined]
    bases = tuple(qualified_name(c) for c in type(exc).__mro__[1:] if c is not object)
    return ServerError(
        type=qualified_name(type(exc)),
        message=message,
        bases=bases,
        file=where.filename if own and where else None,
        line=where.lineno if own and where else None,
        traceback="".join(lines),
    )


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b


class Recorder:
    """Collects what one served app reports; tells when its handlers are all done."""

    def __init__(self, app_file: str | None, sink: Sink | None = None) -> None:
        self.app_file = app_file
        self._sink = sink
        self.errors: list[ServerError] = []
        self.warnings: list[str] = []
        self.logs: list[str] = []
        self.output_size = 0
        self.recorded_size = 0
        self.truncated = False
        self.active = 0
        self._idle: asyncio.Event | None = None
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

    async def settle(self, timeout: float) -> bool:
        """Wait until no handler runs. False when one is still running after `timeout`."""
        try:
            await asyncio.wait_for(self._idle_event().wait(), timeout)
        except asyncio.TimeoutError:
            return False
        await asyncio.sleep(0)
        return True

    def output(self, text: str) -> None:
        if self.truncated or not text:
            return
        self.output_size += len(text)
        if self.output_size > MAX_OUTPUT:
            self.truncated = True
            self.emit("truncated", True)
            return
        for line in text.splitlines():
            if line.strip():
                self.emit("log", line)

    def snapshot(self, exit_status: str | None = None) -> ServerSide:
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
            if scope.get("type") not in ("websocket", "http"):
                await app(scope, receive, send)
                return
            _current.set(self)
            ensure_hooks()
            self.emit("begin", None)
            try:
                await app(scope, receive, send)
            except BaseException as exc:
                self.emit("error", describe_exception(exc, self.app_file))
                # Free the finished frames' locals now, while this handler is still the one
                # reporting: an unawaited coroutine left in one warns here, not whenever a log
                # handler that kept the traceback lets go of it.
                traceback.clear_frames(exc.__traceback__)
                raise
            finally:
                self._end_with_task()

        return recorded

    def _end_with_task(self) -> None:
        """Report "end" once the server is done with the handler's task, not as the app returns:
        the server still reports on it (uvicorn logs the uncaught exception, the rejected
        handshake), and a sandbox's parent that reads "end" must have read those too."""
        task = asyncio.current_task()
        if task is None:
            self.emit("end", None)
        else:
            task.add_done_callback(lambda _: self.emit("end", None))


class _RoutedStream(io.TextIOBase):
    """Stands in for stdout/stderr: writes from a handler go to its recorder."""

    def __init__(self, fallback: TextIO) -> None:
        self._fallback = fallback
        self._broken = False

    def write(self, text: str) -> int:
        recorder = _current.get()
        if recorder is not None:
            recorder.output(text)
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
        recorder.output(f"{record.levelname}: {text}")


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
        sys.stderr = _RoutedStream(io.StringIO())  # type: ignore[assignment]
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
        sys.stderr = _RoutedStream(sys.stderr)  # type: ignore[assignment]
    for name in _SERVER_LOGGERS:
        # A level is process-wide: another server started here since (uvicorn's `log_level`,
        # as the classroom host sets it) must not hide the INFO lines of the apps observed.
        logger = logging.getLogger(name)
        if logger.level != logging.INFO:
            logger.setLevel(logging.INFO)


def activate(recorder: Recorder) -> contextvars.Token[Recorder | None]:
    return _current.set(recorder)


def exc_info_of(
    exc: BaseException,
) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    return type(exc), exc, exc.__traceback__
