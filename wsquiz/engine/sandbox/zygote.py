"""The zygote: a fresh Python that has imported the server stack and nothing of the class.

The grader starts it (an `exec`, not a fork of itself, so no memory of the grader is in it:
no submissions, no results, no gradebook) with a clean environment; it imports FastAPI,
uvicorn and wsquiz's recorder, then forks one keeper per sandbox on request. A request is one
datagram on a Unix socket: JSON, with the listening socket, the report pipe and the control
pipe passed as file descriptors. The zygote answers with the keeper's pid and, once it has
reaped it, says so. It ends when the grader closes its socket, or dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wsquiz.errors import LabError

BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from wsquiz.engine.sandbox.zygote import main; main(int(sys.argv[2]), int(sys.argv[3]))"
)
ENV_ALLOWLIST = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PATH")
MAX_MESSAGE = 65536


class Zygote:
    """The grader's handle on its zygote (one per event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        package_parent = str(Path(__file__).resolve().parents[3])
        env = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
        self.process = subprocess.Popen(
            [sys.executable, "-c", BOOT, package_parent, str(theirs.fileno()), str(os.getpid())],
            pass_fds=(theirs.fileno(),),
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        theirs.close()
        self._sock.setblocking(False)
        self.ready: asyncio.Future[None] = loop.create_future()
        self._ids = itertools.count(1)
        self._spawned: dict[int, asyncio.Future[int]] = {}
        self._exited: dict[int, asyncio.Future[None]] = {}
        self.dead = False
        self.spares: set[int] = set()  # servers-to-be it forked ahead of need
        loop.add_reader(self._sock.fileno(), self._on_message)

    def _on_message(self) -> None:
        try:
            data = self._sock.recv(MAX_MESSAGE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost()
            return
        message = json.loads(data)
        if "ready" in message and not self.ready.done():
            self.ready.set_result(None)
        elif "id" in message:
            future = self._spawned.pop(message["id"], None)
            self.spares.discard(int(message.get("pid") or 0))
            if future is not None and not future.done():
                if message.get("pid"):
                    future.set_result(int(message["pid"]))
                else:
                    future.set_exception(LabError(f"the sandbox could not start: {message}"))
        elif "spare" in message:
            self.spares.add(int(message["spare"]))
        elif "exited" in message:
            self.spares.discard(int(message["exited"]))
            self.exited(int(message["exited"]))
            done = self._exited[int(message["exited"])]
            if not done.done():
                done.set_result(None)

    def _lost(self) -> None:
        self.dead = True
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self._sock.fileno())
        error = LabError(
            "the sandbox's zygote process ended", fix="see that Python can import fastapi"
        )
        if not self.ready.done():
            self.ready.set_exception(error)
        for future in self._spawned.values():
            if not future.done():
                future.set_exception(error)
        for done in self._exited.values():
            if not done.done():
                done.set_result(None)

    async def spawn(self, request: dict[str, Any], fds: list[int]) -> int:
        """Start a keeper for `request`; its pid."""
        await self.ready
        number = next(self._ids)
        future: asyncio.Future[int] = self.loop.create_future()
        self._spawned[number] = future
        data = json.dumps({**request, "id": number}).encode()
        self._sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(_fd_array(fds)))])
        pid = await future
        self.exited(pid)
        return pid

    def exited(self, pid: int) -> asyncio.Future[None]:
        """Done once the zygote has reaped that keeper."""
        if pid not in self._exited:
            self._exited[pid] = self.loop.create_future()
        return self._exited[pid]

    def forget(self, pid: int) -> None:
        self._exited.pop(pid, None)

    def close(self) -> None:
        """Ask it to end (it kills what it still runs), and reap it."""
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self._sock.fileno())
        self._sock.close()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(OSError, ValueError):
            self._sock.close()
        self.process.wait()


def _fd_array(fds: list[int]) -> Any:
    import array

    return array.array("i", fds)


# ---- the zygote process --------------------------------------------------------------------


def preload() -> None:
    """Everything a server needs, imported once (what each fork then finds ready)."""
    import wsquiz._support.paths
    import wsquiz.engine.appfile
    import wsquiz.engine.capture
    import wsquiz.engine.sandbox.child  # noqa: F401
    from wsquiz.engine import capture
    from wsquiz.engine.sandbox import audit, cgroup, confine
    from wsquiz.engine.serving import prewarm_serving

    with contextlib.suppress(Exception):  # a machine that cannot serve says so at the first app
        asyncio.run(prewarm_serving())
    if os.geteuid() == 0:
        cgroup.sweep()
    capture.install_hooks(passthrough=False)
    confine.PYTHON_PATHS = confine.python_paths()
    confine.CARRIED = confine.carried_paths(*confine.PYTHON_PATHS)
    audit.prepare()


def main(fd: int, grader: int) -> None:  # pragma: no cover - runs in the zygote
    from wsquiz.engine.sandbox import _sys

    _sys.prctl(_sys.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != grader:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is the grader's
    sock = socket.socket(fileno=fd)
    preload()
    own_pids = _own_pid_namespace()

    gc.collect()
    gc.freeze()  # what every fork shares is never touched (so never copied) by its collector
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sock.send(b'{"ready": true}')
    kept: dict[int, Sandbox] = {}  # servers this process keeps (pid: sandbox)
    keepers: list[int] = []  # sandboxes kept by a keeper of their own
    spares: list[Spare] = []  # servers-to-be, forked ahead of need
    unremoved: list[str] = []  # cgroups that still held a process being torn down
    while True:
        while own_pids >= 0 and sum(s.channel.fileno() >= 0 for s in spares) < SPARES:
            try:
                spares.append(Spare(own_pids, (wake_r, wake_w)))
            except OSError:
                break  # a sandbox is then forked when asked for, and says why it cannot be
            sock.send(json.dumps({"spare": spares[-1].pid}).encode())
        now = time.monotonic()
        deadlines = [box.kill_at - now for box in kept.values() if box.kill_at is not None]
        wait = min([*deadlines, 0.02] if unremoved else deadlines, default=None)
        watched = [sock.fileno(), wake_r, *(box.ctl_r for box in kept.values() if box.ctl_r >= 0)]
        readable, _, _ = select.select(watched, [], [], max(wait, 0) if wait is not None else None)
        if wake_r in readable:
            os.read(wake_r, 4096)
        for pid, status in _reap():
            sock.send(json.dumps({"exited": pid}).encode())
            if pid in kept:
                box = kept.pop(pid)
                box.ended(status)
                unremoved += box.cgroups
            elif pid in keepers:
                keepers.remove(pid)
                unremoved.append(_cgroup_name(pid))
            for spare in [spare for spare in spares if spare.pid == pid]:
                spares.remove(spare)
                spare.close()
                unremoved.append(spare.name)
        now = time.monotonic()
        for box in kept.values():
            if box.ctl_r in readable:
                box.on_control()
            if box.kill_at is not None and now >= box.kill_at:
                box.kill()
        unremoved = [name for name in unremoved if not _uncgroup(name)]
        if sock.fileno() not in readable:
            continue
        data, ancillary, _, _ = sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(16))
        if not data:
            # the grader is gone (or done): its sandboxes end with it
            _end(
                [*kept, *keepers, *(spare.pid for spare in spares)],
                [*unremoved, *(n for b in kept.values() for n in b.cgroups)]
                + [spare.name for spare in spares],
            )
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received = _fd_array([])
                received.frombytes(payload[: len(payload) // received.itemsize * received.itemsize])
                fds += list(received)
        request = json.loads(data)
        try:
            if len(fds) != 3:
                raise OSError("a sandbox needs three file descriptors")
            box = _start(request, fds, own_pids, (wake_r, wake_w), spares)
        except OSError as exc:
            for number in fds:
                with contextlib.suppress(OSError):
                    os.close(number)
            sock.send(json.dumps({"id": request.get("id"), "error": str(exc)}).encode())
            continue
        if box.keeper:
            keepers.append(box.pid)
        else:
            kept[box.pid] = box
        sock.send(json.dumps({"id": request["id"], "pid": box.pid}).encode())


def _own_pid_namespace() -> int:  # pragma: no cover
    """This process's PID namespace, to come back to after making one for a server; -1 where
    it cannot make one (not root: a keeper makes the sandbox's, in a user namespace)."""
    if os.geteuid() != 0:
        return -1
    try:
        return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1


class Sandbox:  # pragma: no cover - runs in the zygote
    """A server the zygote keeps: it stops it when asked (STOP on the control pipe: SIGTERM,
    then SIGKILL after STOP_BOUND), kills it when the grader closes that pipe (or dies), and
    reports how it ended when it ended by itself. The server is PID 1 of its PID namespace:
    when it ends, the kernel has ended everything it started."""

    def __init__(
        self, pid: int, ctl_r: int, events_w: int, limits: dict[str, Any], cgroups: list[str]
    ) -> None:
        self.pid = pid
        self.ctl_r = ctl_r
        self.events_w = events_w
        self.limits = limits
        self.cgroups = cgroups
        self.kill_at: float | None = None
        self.asked = False  # stopped or killed on the grader's word: no ending of its own
        self.keeper = False

    def on_control(self) -> None:
        from wsquiz.engine.sandbox.child import STOP, STOP_BOUND

        try:
            word = os.read(self.ctl_r, 1)
        except OSError:
            word = b""
        os.close(self.ctl_r)
        self.ctl_r = -1
        self.asked = True
        if word == STOP:
            self._signal(signal.SIGTERM)  # uvicorn's shutdown runs, the lifespan's included
            self.kill_at = time.monotonic() + STOP_BOUND
        else:
            self.kill()

    def kill(self) -> None:
        self.kill_at = None
        self._signal(signal.SIGKILL)

    def _signal(self, number: int) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.pid, number)

    def ended(self, status: int) -> None:
        from wsquiz.engine.sandbox.child import describe_exit

        if not self.asked:
            line = json.dumps(["exit", describe_exit(status, self.limits)]) + "\n"
            with contextlib.suppress(OSError):
                os.write(self.events_w, line.encode())
        for number in (self.events_w, self.ctl_r):
            if number >= 0:
                with contextlib.suppress(OSError):
                    os.close(number)


_numbers = itertools.count(1)
SPARES = 2  # servers-to-be kept ready: one for each of two sandboxes started at once


class Spare:  # pragma: no cover - runs in the zygote
    """A server-to-be (`child.spare_main`), forked into a new PID namespace with cgroups of
    its own (their limits set once it is given a request), and the channel its request goes
    down."""

    def __init__(self, own_pids: int, wake: tuple[int, int]) -> None:
        from wsquiz.engine.sandbox import _sys
        from wsquiz.engine.sandbox.cgroup import Cgroups, sandbox_cgroup_name
        from wsquiz.engine.sandbox.child import spare_main

        self.name = sandbox_cgroup_name(os.getpid(), next(_numbers))
        self.cgroups: Cgroups | None = None
        with contextlib.suppress(OSError):
            self.cgroups = Cgroups(self.name)
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            _sys.unshare(_sys.CLONE_NEWPID)  # for the next child only: it is PID 1 in there
            try:
                self.pid = os.fork()
            except OSError:
                _sys.setns(own_pids, _sys.CLONE_NEWPID)
                raise
            if self.pid == 0:
                self.channel.close()
                _close(*wake)
                spare_main(theirs, self.cgroups)
            _sys.setns(own_pids, _sys.CLONE_NEWPID)  # the next child is this namespace's again
        except OSError:
            self.close()
            _uncgroup(self.name)
            raise
        finally:
            theirs.close()

    def give(self, request: dict[str, Any], fds: list[int]) -> Sandbox:
        """Hand it its request: it serves from now on (limits first, then the request)."""
        limits = request["limits"]
        if self.cgroups is not None:
            self.cgroups.limit(limits["memory_mb"] << 20, limits["processes"])
        socket.send_fds(self.channel, [json.dumps(request).encode()], fds)
        self.close()
        names = [self.name] if self.cgroups is not None else []
        return Sandbox(self.pid, fds[2], fds[1], limits, names)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.close()


def _start(
    request: dict[str, Any],
    fds: list[int],
    own_pids: int,
    wake: tuple[int, int],
    spares: list[Spare],
) -> Sandbox:  # pragma: no cover - runs in the zygote
    """Start the sandbox: a spare given the request (as root), else a keeper forked for it."""
    from wsquiz.engine.sandbox.child import keeper_main

    if own_pids < 0:
        pid = os.fork()
        if pid == 0:
            _close(*wake)
            keeper_main(request, socket.socket(fileno=fds[0]), fds[1], fds[2])
        _close(*fds)
        box = Sandbox(pid, -1, -1, request["limits"], [])
        box.keeper = True
        return box
    ready = [spare for spare in spares if spare.channel.fileno() >= 0]
    spare = ready[0] if ready else Spare(own_pids, wake)
    with contextlib.suppress(ValueError):
        spares.remove(spare)
    try:
        box = spare.give(request, fds)
    except OSError:
        # It died meanwhile: kept among the spares until reaped (its cgroups go then), and
        # another is forked now.
        with contextlib.suppress(OSError):
            os.kill(spare.pid, signal.SIGKILL)
        spare.close()
        spares.append(spare)
        box = Spare(own_pids, wake).give(request, fds)
    os.close(fds[0])  # the listener is the server's now
    return box


def _close(*fds: int) -> None:  # pragma: no cover
    for number in fds:
        with contextlib.suppress(OSError):
            os.close(number)


def _reap() -> list[tuple[int, int]]:  # pragma: no cover
    """Every child that ended: (pid, wait status)."""
    reaped = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if not pid:
            break
        reaped.append((pid, status))
    return reaped


def _end(pids: list[int], cgroups: list[str]) -> None:  # pragma: no cover
    """Kill every sandbox still running (and all below it), reap them, remove their cgroups."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, 0):
            pass
    names = cgroups + [_cgroup_name(pid) for pid in pids]
    for _ in range(50):
        names = [name for name in names if not _uncgroup(name)]
        if not names:
            break
        select.select([], [], [], 0.02)
    os._exit(0)


def _cgroup_name(keeper: int) -> str:  # pragma: no cover
    from wsquiz.engine.sandbox import cgroup

    return cgroup.cgroup_name(keeper)


def _uncgroup(name: str) -> bool:  # pragma: no cover
    from wsquiz.engine.sandbox import cgroup

    return cgroup.remove(name)
