"""Serve untrusted code in a child process with limits; leave nothing behind.

Process tree, forked from the warm lab process (fastapi and uvicorn already imported):

    lab ── keeper (own session, subreaper; in a new PID namespace when root)
              └── server (PID 1 of that namespace): limits, no privileges, empty env

The keeper outlives the server only to kill whatever the server left: when the server ends,
or the lab closes the keeper's control pipe (or dies), the keeper kills every process below
it and exits. A parent-death signal ties each level to the one above, so `kill -9` of the
lab still takes everything down. The server reports over a pipe, one JSON object a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from wsquiz.engine.appfile import AppSpec, load_app
from wsquiz.engine.capture import (
    Recorder,
    activate,
    install_hooks,
    startup_failed,
    watch_loop,
)
from wsquiz.engine.serving import (
    Limits,
    Served,
    listening_socket,
    stop_server,
    uvicorn_config,
    websocket_routes,
)
from wsquiz.errors import AppLoadError, LabError

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
_CAP_V3 = 0x20080522
_CAP_READ = 1 << 2  # CAP_DAC_READ_SEARCH
CLONE_NEWPID = 0x20000000
NOBODY = 65534
SANDBOX_UIDS = 100_000  # + the keeper's pid: one user per sandbox (see _own_uid)
ENV_ALLOWLIST = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")

STOP_GRACE = 2.0
GRACEFUL_STOP = 1.0  # a served app's own shutdown (uvicorn's Ctrl-C), before it is killed
SERVE_FAILED = 4
MAX_EVENT = 1024 * 1024

_libc = ctypes.CDLL(None, use_errno=True)
_running: set[Sandboxed] = set()
_fork_lock = threading.Lock()


def _prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


class Sandboxed(Served):
    def __init__(self, spec: AppSpec, limits: Limits) -> None:
        self.spec = spec
        self.limits = limits
        self.recorder = Recorder(str(spec.path), app_root=str(spec.app_dir))
        self._workdir = Path(tempfile.mkdtemp(prefix="wsquiz-sandbox-"))
        self._uid = NOBODY
        # The app's folder is copied (its sibling modules, packages, static files), and served
        # from the copy, in the copy's working directory: as uvicorn run in the app's folder.
        try:
            self.target = spec.copy_into(self._workdir / "app")
        except BaseException:
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise
        self.spec = spec
        self._keeper = 0
        self._ctl_w = -1
        self._events_r = -1
        self._buffer = b""
        self._ready: asyncio.Future[None] | None = None
        self._gone: asyncio.Event | None = None
        self._status: str | None = None
        self._wall: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self._ready = loop.create_future()
        self._gone = asyncio.Event()
        sock = listening_socket()
        self.port = sock.getsockname()[1]
        events_r, events_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        try:
            with _fork_lock:
                pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                _keeper_main(self, sock, events_w, ctl_r)
        finally:
            sock.close()
            os.close(events_w)
            os.close(ctl_r)
        self._keeper, self._ctl_w, self._events_r = pid, ctl_w, events_r
        _running.add(self)
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
        with contextlib.suppress(OSError):
            os.close(self._ctl_w)

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
            return value.replace(str(self.target.root), str(self.spec.root))
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
            elif kind == "exit":
                if self._status is None:
                    self._status = str(value)
            else:
                self.recorder.record(kind, value)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a malformed event: nothing a real server would send

    def _on_exit(self) -> None:
        loop = asyncio.get_running_loop()
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
        return self._status if self._gone is not None and self._gone.is_set() else None

    async def stop(self) -> None:
        if self._keeper == 0:
            return
        keeper, self._keeper = self._keeper, 0
        if self._wall is not None:
            self._wall.cancel()
        try:
            served = self._ready is not None and self._ready.done() and self._gone is not None
            if served and self.recorder.active == 0 and self._status is None:
                # a graceful stop first, so the app's lifespan shutdown is observed too (not for
                # a server still busy in a handler: it would only be waited for)
                with contextlib.suppress(OSError):
                    os.write(self._ctl_w, b"s")
                assert self._gone is not None
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._gone.wait(), GRACEFUL_STOP)
            with contextlib.suppress(OSError):
                os.close(self._ctl_w)
            await _reap(keeper, STOP_GRACE)
        except BaseException:
            # cancelled while stopping (a failure elsewhere ends the observation): the keeper
            # is still killed and reaped now, so no process outlives it, not even a zombie
            with contextlib.suppress(OSError):
                os.close(self._ctl_w)
            with contextlib.suppress(OSError):
                os.killpg(keeper, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(keeper, 0)
            if self.loop is not None:
                with contextlib.suppress(Exception):
                    self.loop.remove_reader(self._events_r)
            with contextlib.suppress(OSError):
                os.close(self._events_r)
            _running.discard(self)
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise
        if self._gone is not None and not self._gone.is_set():
            self._on_exit()
        with contextlib.suppress(OSError):
            os.close(self._events_r)
        _running.discard(self)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def kill(self) -> None:
        """Stop now, from any thread, without the event loop (the lab's last resort)."""
        keeper, self._keeper = self._keeper, 0
        if keeper:
            with contextlib.suppress(OSError):
                os.killpg(keeper, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(keeper, 0)
        _running.discard(self)
        shutil.rmtree(self._workdir, ignore_errors=True)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _reap(pid: int, grace: float) -> None:
    """Wait for the keeper (its pidfd on the loop); kill its session if it is late."""
    loop = asyncio.get_running_loop()
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = -1
    if pidfd >= 0:
        done = loop.create_future()
        loop.add_reader(pidfd, _settle, done)
        try:
            await asyncio.wait_for(done, grace)
        except asyncio.TimeoutError:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    else:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


async def stop_all(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Stop every sandbox started on `loop` (all of them when None)."""
    for sandboxed in list(_running):
        if loop is None or sandboxed.loop is loop:
            await sandboxed.stop()


def kill_all(loop: asyncio.AbstractEventLoop | None = None) -> None:
    for sandboxed in list(_running):
        if loop is None or sandboxed.loop is loop:
            sandboxed.kill()


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


# ---- in the child processes -------------------------------------------------------------


def _keeper_main(  # pragma: no cover
    sandboxed: Sandboxed, sock: Any, events_w: int, ctl_r: int
) -> None:
    code = 1
    try:
        parent = os.getppid()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # not the CLI's handler
            signal.signal(number, signal.SIG_DFL)
        _close_fds_except(sock.fileno(), events_w, ctl_r)
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        namespaced = False
        if os.geteuid() == 0:
            namespaced = _libc.unshare(CLONE_NEWPID) == 0
            sandboxed._uid = _own_uid()
            os.chown(sandboxed._workdir, sandboxed._uid, NOBODY)
            for folder, dirs, files in os.walk(sandboxed._workdir):
                for name in (*dirs, *files):
                    os.chown(os.path.join(folder, name), sandboxed._uid, NOBODY)
        server = os.fork()
        if server == 0:
            _server_main(sandboxed, sock, events_w, ctl_r)
        sock.close()
        pidfd = os.pidfd_open(server)
        ready, _, _ = select.select([ctl_r, pidfd], [], [])
        if ctl_r in ready and pidfd not in ready and os.read(ctl_r, 1) == b"s":
            # the lab asks for a graceful stop: the server shuts down and exits by itself
            with contextlib.suppress(OSError):
                os.kill(server, signal.SIGTERM)
            ready, _, _ = select.select([ctl_r, pidfd], [], [], GRACEFUL_STOP)
            ready = [fd for fd in ready if fd != ctl_r]
        if pidfd in ready:
            _, status = os.waitpid(server, 0)
            line = json.dumps(["exit", _describe_exit(status, sandboxed.limits)]) + "\n"
            with contextlib.suppress(OSError):
                os.write(events_w, line.encode())
        _kill_descendants(server, namespaced)
        code = 0
    finally:
        os._exit(code)


def _describe_exit(status: int, limits: Limits) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return f"the server used up its CPU time limit of {limits.cpu_s}s and was killed"
        name = signal.Signals(number).name if number in signal.valid_signals() else number
        return f"the server process was killed by signal {name}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    if code == SERVE_FAILED:
        return "the server process stopped: an exception (SystemExit?) escaped its event loop"
    return f"the server process exited with status {code} (os._exit or sys.exit in the app?)"


def _kill_descendants(server: int, namespaced: bool = False) -> None:  # pragma: no cover
    with contextlib.suppress(OSError):
        os.kill(server, signal.SIGKILL)
    if namespaced:
        # The server is PID 1 of its namespace: by the time it can be reaped the kernel has
        # killed and reaped everything else in there, so there is nothing to look for.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(server, 0)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        return
    me = os.getpid()
    for _ in range(50):
        orphans = _children_of(me)
        for pid in orphans:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        if not orphans:
            return


def _children_of(parent: int) -> list[int]:  # pragma: no cover
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _server_main(  # pragma: no cover
    sandboxed: Sandboxed, sock: Any, events_w: int, ctl_r: int
) -> None:
    status = 0
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _confine(sandboxed, sock.fileno(), events_w)
        # A change of user clears the parent-death signal: arm it again, then make sure the
        # lab did not die before it was armed (only the lab holds the control pipe's write end).
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if select.select([ctl_r], [], [], 0)[0]:
            os._exit(0)
        os.close(ctl_r)
        lock = threading.Lock()

        def send(kind: str, value: Any) -> None:
            if hasattr(value, "to_dict"):
                value = value.to_dict()
            line = json.dumps([kind, value], default=str).encode() + b"\n"
            if len(line) > MAX_EVENT:
                line = json.dumps(["truncated", True]).encode() + b"\n"
            with lock:
                try:
                    os.write(events_w, line)
                except OSError:
                    os._exit(0)

        target = sandboxed.target
        recorder = Recorder(str(target.path), sink=send, app_root=str(target.app_dir))
        install_hooks(passthrough=False)
        activate(recorder)
        try:
            loaded = load_app(target)
        except AppLoadError as exc:
            send("load_error", exc.to_dict())
            os._exit(3)
        for note in loaded.notes:
            send("log", note)
        asyncio.events._set_running_loop(None)
        routes = list(websocket_routes(loaded.app))
        try:
            asyncio.run(_serve_forever(recorder, loaded.app, sock, send, routes))
        except SystemExit:  # uvicorn's "Application startup failed. Exiting."
            send("load_error", startup_failed(target, recorder.startup_error).to_dict())
            os._exit(3)
    except BaseException:
        status = SERVE_FAILED
    finally:
        os._exit(status)


async def _serve_forever(  # pragma: no cover
    recorder: Recorder, app: Any, sock: Any, send: Any, routes: list[str]
) -> None:
    import uvicorn

    watch_loop(asyncio.get_running_loop())
    config = uvicorn_config(recorder.wrap(app))
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await server.startup(sockets=[sock])
    send("ready", routes)
    await stopping.wait()
    await stop_server(server, sock)
    recorder.flush()
    os._exit(0)


def _close_fds_except(*keep: int) -> None:  # pragma: no cover
    """Inherit nothing but what is named: other sandboxes' pipes would keep them alive."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    last = 2
    for fd in sorted(set(keep) - {0, 1, 2}):
        os.closerange(last + 1, fd)
        last = fd
    os.closerange(last + 1, 65536)


def _confine(sandboxed: Sandboxed, sock_fd: int, events_w: int) -> None:  # pragma: no cover
    limits = sandboxed.limits
    os.chdir(sandboxed.target.cwd)
    _scrub_environment(str(sandboxed._workdir))
    vsz = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    memory = vsz + limits.memory_mb * 1024 * 1024
    for which, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_FSIZE, 8 * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 256),
    ):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))
    with contextlib.suppress(ValueError, OSError):  # SIGXCPU at the limit, SIGKILL 1 s later
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    if os.geteuid() == 0:
        _become_nobody(sandboxed._uid)
        nproc = limits.processes
    else:
        nproc = len(_user_processes()) + limits.processes
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = [sandboxed.target.path.name]


def _own_uid() -> int:  # pragma: no cover
    """A user id no other sandbox has (derived from this keeper's pid), where the system has
    one to give; else `nobody`. Sandboxes sharing a user could signal (`kill(-1, 9)`) or
    rewrite each other: with one user each, a student's code can touch only its own.
    """
    uid = SANDBOX_UIDS + os.getpid()
    try:
        with open("/proc/self/uid_map") as handle:
            for line in handle:
                inside, _, count = (int(v) for v in line.split())
                if inside <= uid < inside + count:
                    return uid
    except (OSError, ValueError):
        pass
    return NOBODY


def _become_nobody(uid: int = NOBODY) -> None:  # pragma: no cover
    """Drop root for an unprivileged user, keeping only the right to read files.

    Python and its packages may live where that user cannot look (a home folder), so the
    server keeps CAP_DAC_READ_SEARCH to import them; it can write nothing not its own.
    """
    _prctl(PR_SET_KEEPCAPS, 1)
    os.setgroups([])
    os.setgid(NOBODY)
    try:
        os.setuid(uid)
    except OSError:
        os.setuid(NOBODY)
    header = (ctypes.c_uint32 * 2)(_CAP_V3, 0)
    data = (ctypes.c_uint32 * 6)(_CAP_READ, _CAP_READ, 0, 0, 0, 0)
    if _libc.capset(header, data) != 0:
        os._exit(5)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def _scrub_environment(home: str) -> None:  # pragma: no cover
    """Only allowlisted variables survive, and the original environment block is zeroed."""
    kept = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
    os.environ.clear()  # also empties posix.environ: os.environ keeps its data in that dict
    os.environ.update(kept, PATH="/usr/local/bin:/usr/bin:/bin", HOME=home, TMPDIR=home)
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[-1].split()
        start, end = int(fields[47]), int(fields[48])
        if 0 < start < end:
            ctypes.memset(start, 0, end - start)


def _user_processes() -> list[str]:  # pragma: no cover
    uid = os.getuid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(entry)
    return found
