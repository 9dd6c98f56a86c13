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
            if future is not None and not future.done():
                if message.get("pid"):
                    future.set_result(int(message["pid"]))
                else:
                    future.set_exception(LabError(f"the sandbox could not start: {message}"))
        elif "exited" in message:
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
    audit.prepare()


def main(fd: int, grader: int) -> None:  # pragma: no cover - runs in the zygote
    from wsquiz.engine.sandbox import _sys

    _sys.prctl(_sys.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != grader:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is the grader's
    sock = socket.socket(fileno=fd)
    preload()
    from wsquiz.engine.sandbox.child import keeper_main

    gc.collect()
    gc.freeze()  # what every fork shares is never touched (so never copied) by its collector
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sock.send(b'{"ready": true}')
    live: list[int] = []
    unremoved: list[int] = []  # keepers whose cgroups still hold a process being torn down
    while True:
        wait = 0.02 if unremoved else None
        readable, _, _ = select.select([sock.fileno(), wake_r], [], [], wait)
        if wake_r in readable:
            os.read(wake_r, 4096)
        reaped = _reap(sock)
        live = [pid for pid in live if pid not in reaped]
        unremoved = [pid for pid in unremoved + reaped if not _uncgroup(pid)]
        if sock.fileno() not in readable:
            continue
        data, ancillary, _, _ = sock.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(16))
        if not data:
            _end(live + unremoved)  # the grader is gone (or done): its sandboxes end with it
        fds: list[int] = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received = _fd_array([])
                received.frombytes(payload[: len(payload) // received.itemsize * received.itemsize])
                fds += list(received)
        request = json.loads(data)
        try:
            listener = socket.socket(fileno=fds[0])
            pid = os.fork()
        except (OSError, IndexError) as exc:
            sock.send(json.dumps({"id": request.get("id"), "error": str(exc)}).encode())
            continue
        if pid == 0:
            os.close(wake_r)
            os.close(wake_w)
            keeper_main(request, listener, fds[1], fds[2])
        listener.close()
        for number in fds[1:]:
            os.close(number)
        live.append(pid)
        sock.send(json.dumps({"id": request["id"], "pid": pid}).encode())


def _reap(sock: socket.socket) -> list[int]:  # pragma: no cover
    """Reap every keeper that ended, tell the grader; their pids."""
    reaped = []
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if not pid:
            break
        sock.send(json.dumps({"exited": pid}).encode())
        reaped.append(pid)
    return reaped


def _end(keepers: list[int]) -> None:  # pragma: no cover
    """Kill every keeper still running (and all below it), reap them, remove their cgroups."""
    for pid in keepers:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, 0):
            pass
    for _ in range(50):
        keepers = [pid for pid in keepers if not _uncgroup(pid)]
        if not keepers:
            break
        select.select([], [], [], 0.02)
    os._exit(0)


def _uncgroup(pid: int) -> bool:  # pragma: no cover
    from wsquiz.engine.sandbox import cgroup

    return cgroup.remove(cgroup.cgroup_name(pid))
