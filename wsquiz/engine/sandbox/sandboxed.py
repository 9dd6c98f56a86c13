"""The grader's side of a sandbox: start it through the zygote, relay its reports, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import select
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from wsquiz.engine import stack
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.capture import Recorder
from wsquiz.engine.sandbox.child import MAX_EVENT, STOP
from wsquiz.engine.sandbox.confine import APP_DIR
from wsquiz.engine.sandbox.zygote import Zygote
from wsquiz.engine.serving import Limits, Served, listening_socket
from wsquiz.engine.transcript import ServerError
from wsquiz.errors import AppLoadError, LabError

STOP_GRACE = 2.0
MAX_ERRORS = 20
_running: set[Sandboxed] = set()
_zygotes: dict[asyncio.AbstractEventLoop, Zygote] = {}


def zygote_for(loop: asyncio.AbstractEventLoop) -> Zygote:
    zygote = _zygotes.get(loop)
    if zygote is None or zygote.dead:
        zygote = _zygotes[loop] = Zygote(loop)
    return zygote


def zygote_pids() -> set[int]:
    """The zygotes' own pids and their spares' (long-lived helpers of the grader, not
    sandboxes: a spare serves nothing until it is given a request, and is a sandbox then)."""
    return {
        pid
        for z in _zygotes.values()
        if z.process.poll() is None
        for pid in (z.process.pid, *z.spares)
    }


class Sandboxed(Served):
    def __init__(self, spec: AppSpec, limits: Limits) -> None:
        self.spec = spec
        self.limits = limits
        self.recorder = Recorder(str(spec.path), app_root=str(spec.app_dir))
        # Where the server finds its copy of the app: its private /tmp, or without a mount
        # namespace a folder of its own in the shared one (removed at the end).
        self._app_dir = APP_DIR
        self._fallback_dir = os.path.join(
            tempfile.gettempdir(), f"wsquiz-sandbox-{secrets.token_hex(8)}"
        )
        self.target = AppSpec(Path(self._app_dir, spec.path.name), spec.attr)
        self._keeper = 0
        self._zygote: Zygote | None = None
        self._ctl_w = -1
        self._events_r = -1
        self._buffer = b""
        self._ready: asyncio.Future[None] | None = None
        self._gone: asyncio.Event | None = None
        self._status: str | None = None
        self._tampered: str | None = None
        self._wall: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _request(self) -> dict[str, Any]:
        # The app's folder as uvicorn would serve it (its `root`: the folder on sys.path and
        # the working directory), copied whole unless the file is the whole app
        spec = self.spec
        folder = spec.root
        whole = not spec.alone and (
            self.limits.app_folder or _only_python_file(folder, spec.path) or _its_app(spec)
        )
        return {
            "app": str(spec.path),
            "root": str(folder),
            "relative": spec.path.relative_to(folder).as_posix() if whole else spec.path.name,
            "module": spec.module if whole else spec.path.stem,
            "app_dir": spec.app_dir.relative_to(folder).as_posix() if whole else ".",
            "cwd": spec.cwd.relative_to(folder).as_posix() if whole else ".",
            "factory": spec.factory,
            "attr": spec.attr,
            "whole": whole,
            "home": self._app_dir,
            "fallback_dir": self._fallback_dir,
            "limits": dataclasses.asdict(self.limits),
            "ws": stack.chosen(),  # uvicorn's WebSocket implementation (`--ws`)
        }

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self._ready = loop.create_future()
        self._gone = asyncio.Event()
        self._zygote = zygote_for(loop)
        sock = listening_socket()
        self.port = sock.getsockname()[1]
        events_r, events_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        self._ctl_w, self._events_r = ctl_w, events_r
        _running.add(self)
        try:
            self._keeper = await self._zygote.spawn(
                self._request(), [sock.fileno(), events_w, ctl_r]
            )
        except BaseException:
            os.close(events_r)
            os.close(ctl_w)
            _running.discard(self)
            raise
        finally:
            sock.close()
            os.close(events_w)
            os.close(ctl_r)
        os.set_blocking(events_r, False)
        loop.add_reader(events_r, self._on_events)
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self.limits.startup_s)
        except asyncio.TimeoutError:
            self._ready.cancel()
            await self.stop()
            raise LabError(
                f"{self.spec.path}: the app did not start serving within "
                f"{self.limits.startup_s:g}s (an endless loop or a long wait at import?)",
                fix="make the module finish importing quickly; do work inside the endpoint",
            ) from None
        except BaseException:
            await self.stop()
            raise
        # Import has its own limit (startup_s); the wall clock counts from serving on.
        self._wall = loop.call_later(self.limits.wall_s, self._over_time)

    def _over_time(self) -> None:
        """The wall-clock limit: the keeper kills the server and all it started."""
        if self._status is None:
            self._status = (
                f"the server was stopped at its wall-clock limit of {self.limits.wall_s:g}s"
            )
        self._close_control()

    def _close_control(self, last: bytes = b"") -> None:
        """Close the control pipe (the keeper then kills the server at once, unless `last`
        asks for a graceful stop); only once, so that a reused fd number is never closed."""
        ctl_w, self._ctl_w = self._ctl_w, -1
        if ctl_w < 0:
            return
        with contextlib.suppress(OSError):
            if last:
                os.write(ctl_w, last)
        with contextlib.suppress(OSError):
            os.close(ctl_w)

    def _drain(self) -> None:
        """Read what is left in the events pipe (all its writers are gone by now)."""
        for _ in range(1000):  # at most 64 MB: the child's output is bounded anyway
            if self._gone is None or self._gone.is_set() or self._events_r < 0:
                return
            try:
                waiting = select.select([self._events_r], [], [], 0)[0]
            except (OSError, ValueError):
                return
            if not waiting:
                return
            self._on_events()

    def _on_events(self) -> None:
        try:
            chunk = os.read(self._events_r, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._on_exit()
            return
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_EVENT:  # the child writes what it likes to its pipe
            self._buffer = b""
            self.recorder.record("truncated", True)
        for line in lines:
            try:
                kind, value = json.loads(line)
            except (ValueError, TypeError):
                continue
            self._on_event(kind, self._unsandboxed(value))

    def _unsandboxed(self, value: Any) -> Any:
        """Name the learner's own file in reports, not its copy in the sandbox."""
        if isinstance(value, str):
            folder = str(self.spec.root) + "/"
            for copy in (self._app_dir, self._fallback_dir):
                value = value.replace(f"{copy}/{self.spec.path.name}", str(self.spec.path))
                value = value.replace(copy + "/", folder)
            return value
        if isinstance(value, dict):
            return {k: self._unsandboxed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._unsandboxed(v) for v in value]
        return value

    def _on_event(self, kind: str, value: Any) -> None:
        assert self._ready is not None
        try:
            if kind == "ready":
                if isinstance(value, list):
                    self.routes = tuple(str(v) for v in value[:100])
                if not self._ready.done():
                    self._ready.set_result(None)
            elif kind == "load_error":
                if not self._ready.done():
                    self._ready.set_exception(_load_error(value))
            elif kind == "tamper":
                # What the server says can only lower its score: a claim of tampering is
                # believed, and ends the server at once.
                self._tampered = str(value)[:500]
                self._status = self._tampered
                self._close_control()
            elif kind == "exit":
                if self._status is None:
                    self._status = str(value)
            elif kind == "error":
                # An error is kept whatever the logs used of the recorder's budget: logs
                # written to the pipe by the student's own code must not crowd out its errors.
                before = len(self.recorder.errors)
                self.recorder.record(kind, value)
                if len(self.recorder.errors) == before and before < MAX_ERRORS:
                    self.recorder.errors.append(ServerError.from_dict(value))
            else:
                self.recorder.record(kind, value)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a malformed event: nothing a real server would send

    def _on_exit(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(self._events_r)
        if self._status is None:
            self._status = "the server process exited"
        for _ in range(self.recorder.active):
            self.recorder.record("end", None)
        self.recorder.record("exit", self._status)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(
                LabError(
                    f"{self.spec.path}: the app's process ended before it served ({self._status})",
                    fix="do not call sys.exit/os._exit or kill processes at import time",
                )
            )
        assert self._gone is not None
        self._gone.set()

    def exit_status(self) -> str | None:
        if self._tampered is not None:
            return self._tampered
        return self._status if self._gone is not None and self._gone.is_set() else None

    async def stop(self) -> None:
        if self._keeper == 0:
            return
        keeper, self._keeper = self._keeper, 0
        if self._wall is not None:
            self._wall.cancel()
        # Asked, the keeper lets the server run uvicorn's shutdown for STOP_BOUND at most
        self._close_control(STOP if self._status is None else b"")
        assert self._zygote is not None
        reaped = self._zygote.exited(keeper)
        try:
            await asyncio.wait_for(asyncio.shield(reaped), STOP_GRACE)
        except asyncio.TimeoutError:
            with contextlib.suppress(OSError):
                os.killpg(keeper, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(reaped), STOP_GRACE)
        self._zygote.forget(keeper)
        self._drain()  # what the server reported as it stopped, before the report closes
        if self._gone is not None and not self._gone.is_set():
            self._on_exit()
        with contextlib.suppress(OSError):
            os.close(self._events_r)
        _running.discard(self)
        self._remove_folder()

    def _remove_folder(self) -> None:
        shutil.rmtree(self._fallback_dir, ignore_errors=True)

    def kill(self) -> None:
        """Stop now, from any thread, without the event loop (the lab's last resort)."""
        keeper, self._keeper = self._keeper, 0
        if keeper:
            with contextlib.suppress(OSError):
                os.killpg(keeper, signal.SIGKILL)
        _running.discard(self)
        self._remove_folder()


def _its_app(spec: AppSpec) -> bool:
    """A folder of modules whose app this is (its main.py, or its only module with `app`)."""
    from wsquiz.engine.appfile import discover
    from wsquiz.errors import UsageError

    if spec.module != spec.path.stem or spec.app_dir != spec.path.parent:
        return True  # a package, or --app-dir: the folder is part of the app
    try:
        return discover(spec.path.parent).path == spec.path
    except UsageError:
        return False


def _only_python_file(folder: Path, main: Path) -> bool:
    """Whether the app is the one Python file of its folder (a student's folder of their own,
    not a class's shared folder of `<student>.py` files)."""
    try:
        return not any(p.suffix == ".py" and p != main for p in folder.iterdir())
    except OSError:
        return False


async def stop_all(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Stop every sandbox started on `loop` (all of them when None), then its zygote."""
    for sandboxed in list(_running):
        if loop is None or sandboxed.loop is loop:
            await sandboxed.stop()
    for key in [k for k in _zygotes if loop is None or k is loop]:
        zygote = _zygotes.pop(key)
        await asyncio.get_running_loop().run_in_executor(None, zygote.close)


def kill_all(loop: asyncio.AbstractEventLoop | None = None) -> None:
    for sandboxed in list(_running):
        if loop is None or sandboxed.loop is loop:
            sandboxed.kill()
    for key in [k for k in _zygotes if loop is None or k is loop]:
        _zygotes.pop(key).kill()


def _load_error(data: dict[str, Any]) -> AppLoadError:
    from wsquiz._support.paths import course_path

    path = str(data["path"])
    shown = course_path(path)  # the child saw a copy: name a bundled app as in the course here
    return AppLoadError(
        shown,
        data["problem"],
        line=data.get("line"),
        fix=data.get("fix", ""),
        detail=str(data.get("detail", "")).replace(f'File "{path}"', f'File "{shown}"'),
    )
