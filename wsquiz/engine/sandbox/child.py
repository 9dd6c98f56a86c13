"""The sandbox's processes, forked from the zygote.

As root (the grading machine), the zygote forks servers-to-be ahead of need (`spare_main`),
each straight into a new PID namespace and its own cgroups, and gives one a request when asked:

    zygote ── server (PID 1 of its PID namespace; own network, IPC, mount, UTS namespaces)

and keeps it (`zygote.Sandbox`): it stops or kills it when the grader asks or goes, and
reports how it ended. Without the privilege to do that, a keeper does it, one per sandbox:

    zygote ── keeper (own session, subreaper; root of a user namespace, where there is one)
                └── server

The keeper outlives the server only to kill whatever the server left and report how it ended:
when the server ends, or the grader closes the control pipe (or dies), the keeper kills every
process below it and exits. The server reports over a pipe, one JSON object a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from wsquiz.engine.sandbox import _sys, audit, confine, landlock
from wsquiz.engine.sandbox.cgroup import Cgroups, cgroup_name
from wsquiz.errors import AppLoadError

NOBODY = 65534
SANDBOX_UIDS = 100_000  # + the sandbox's pid: one user per sandbox (see _own_uid)
ENV_ALLOWLIST = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
SERVE_FAILED = 4
MAX_EVENT = 1024 * 1024
STOP = b"s"  # on the control pipe: stop gracefully (closing it kills at once)
STOP_BOUND = 1.0  # what a graceful stop may take, lifespan shutdown included
NAMESPACES = (
    _sys.CLONE_NEWPID | _sys.CLONE_NEWNET | _sys.CLONE_NEWIPC | _sys.CLONE_NEWNS | _sys.CLONE_NEWUTS
)


def _reset_signals() -> None:  # pragma: no cover
    signal.set_wakeup_fd(-1)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)


def spare_main(channel: socket.socket, cgroups: Cgroups | None) -> None:  # pragma: no cover
    """A server-to-be, forked by the zygote ahead of need as PID 1 of a new PID namespace (as
    root): it joins its cgroups and makes its namespaces, then waits for the request it will
    serve (the zygote sets the cgroups' limits before sending it). Moving a process between
    cgroups (v1) sleeps for an RCU grace period, milliseconds each: done here, ahead of time,
    it costs a sandbox's start nothing."""
    try:
        _reset_signals()
        _close_fds_except(channel.fileno())
        os.setsid()
        _sys.prctl(_sys.PR_SET_PDEATHSIG, signal.SIGKILL)
        if cgroups is not None:
            with contextlib.suppress(OSError):
                cgroups.join()
        # The /proc still mounted is the grader's: it names this process by its pid out there
        uid = _own_uid(int(os.readlink("/proc/self")))
        _sys.unshare(NAMESPACES & ~_sys.CLONE_NEWPID)
        data, fds, _, _ = socket.recv_fds(channel, 65536, 3)
        channel.close()
        if not data or len(fds) != 3:
            os._exit(0)  # the zygote ended, or gave up on this spare
        request = json.loads(data)
    except BaseException:
        os._exit(SERVE_FAILED)
    _server_main(request, socket.socket(fileno=fds[0]), fds[1], fds[2], uid, True, -1)


def keeper_main(
    request: dict[str, Any], sock: Any, events_w: int, ctl_r: int
) -> None:  # pragma: no cover
    code = 1
    try:
        parent = os.getppid()
        _reset_signals()
        _close_fds_except(sock.fileno(), events_w, ctl_r)
        os.setsid()
        _sys.prctl(_sys.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
        _sys.prctl(_sys.PR_SET_CHILD_SUBREAPER, 1)
        limits = request["limits"]
        root = os.geteuid() == 0
        uid = _own_uid(os.getpid()) if root else 0
        if root:
            with contextlib.suppress(OSError):
                Path("/proc/self/oom_score_adj").write_text("-1000")  # the OOM killer spares it
        outside = (os.getuid(), os.getgid())
        flags = NAMESPACES if root else NAMESPACES | _sys.CLONE_NEWUSER
        try:
            _sys.unshare(flags)
        except OSError:
            flags = 0
        if flags & _sys.CLONE_NEWUSER:
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"0 {outside[0]} 1")
            Path("/proc/self/gid_map").write_text(f"0 {outside[1]} 1")
        go_r, go_w = os.pipe()
        server = os.fork()
        if server == 0:
            os.close(go_w)
            _server_main(request, sock, events_w, ctl_r, uid, bool(flags), go_r)
        os.close(go_r)
        # The server confines itself meanwhile; it runs nothing of the student's before "go",
        # by which time it is in the sandbox's cgroups (the keeper stays out of them).
        if root:
            with contextlib.suppress(OSError):
                Cgroups(
                    cgroup_name(os.getpid()), limits["memory_mb"] << 20, limits["processes"]
                ).join(server)
        os.write(go_w, b"g")
        os.close(go_w)
        sock.close()
        pidfd = os.pidfd_open(server)
        ready, _, _ = select.select([ctl_r, pidfd], [], [])
        if ready == [ctl_r] and _asked_to_stop(ctl_r):
            # A graceful stop: the server runs uvicorn's shutdown (its lifespan's too) and
            # reports it, for STOP_BOUND at most; then it is killed like any other.
            with contextlib.suppress(OSError):
                os.kill(server, signal.SIGTERM)
            select.select([pidfd], [], [], STOP_BOUND)
        elif pidfd in ready:
            _, status = os.waitpid(server, 0)
            line = json.dumps(["exit", describe_exit(status, limits)]) + "\n"
            with contextlib.suppress(OSError):
                os.write(events_w, line.encode())
        _kill_descendants(server, bool(flags & _sys.CLONE_NEWPID))
        code = 0
    finally:
        os._exit(code)  # the zygote removes the cgroups once it has reaped this process


def _asked_to_stop(ctl_r: int) -> bool:  # pragma: no cover
    """The grader wrote STOP (a stop), rather than closed the pipe (a kill, or its death)."""
    try:
        return os.read(ctl_r, 1) == STOP
    except OSError:
        return False


def describe_exit(status: int, limits: dict[str, Any]) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number == signal.SIGXCPU:
            return f"the server used up its CPU time limit of {limits['cpu_s']}s and was killed"
        if number == signal.SIGKILL:
            return "the server process was killed by signal SIGKILL (its memory limit?)"
        name = signal.Signals(number).name if number in signal.valid_signals() else number
        return f"the server process was killed by signal {name}"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    if code == audit.TAMPERED:
        return "the server was stopped for tampering with the grader"
    if code == SERVE_FAILED:
        return "the server process stopped: an exception (SystemExit?) escaped its event loop"
    return f"the server process exited with status {code} (os._exit or sys.exit in the app?)"


def _kill_descendants(server: int, namespaced: bool) -> None:  # pragma: no cover
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
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[-1].split()[1]) == parent:
                found.append(int(entry))
    return found


def _own_uid(pid: int) -> int:  # pragma: no cover
    """A user id no other sandbox has (derived from a pid of the sandbox's), where the system
    has one to give; else `nobody`. Sandboxes sharing a user could signal or rewrite each other."""
    uid = SANDBOX_UIDS + pid
    try:
        with open("/proc/self/uid_map") as handle:
            for line in handle:
                inside, _, count = (int(v) for v in line.split())
                if inside <= uid < inside + count:
                    return uid
    except (OSError, ValueError):
        pass
    return NOBODY


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


def _server_main(  # pragma: no cover
    request: dict[str, Any],
    sock: Any,
    events_w: int,
    ctl_r: int,
    uid: int,
    namespaced: bool,
    go_r: int,
) -> None:
    status = 0
    try:
        _sys.prctl(_sys.PR_SET_PDEATHSIG, signal.SIGKILL)
        try:
            _confine(request, uid, namespaced)
        except AppLoadError as exc:  # the folder could not be copied whole: say so
            os.write(events_w, json.dumps(["load_error", exc.to_dict()]).encode() + b"\n")
            os._exit(3)
        # A change of user clears the parent-death signal: arm it again, then make sure the
        # grader did not die before it was armed (only the grader holds the control pipe).
        _sys.prctl(_sys.PR_SET_PDEATHSIG, signal.SIGKILL)
        if select.select([ctl_r], [], [], 0)[0]:
            os._exit(0)
        os.close(ctl_r)
        if go_r >= 0:  # a keeper's server: in its cgroups once the keeper says "go"
            if os.read(go_r, 1) != b"g":
                os._exit(0)
            os.close(go_r)
        _serve(request, sock, events_w)
    except BaseException:
        status = SERVE_FAILED
    finally:
        os._exit(status)


def _confine(request: dict[str, Any], uid: int, namespaced: bool) -> None:  # pragma: no cover
    limits = request["limits"]
    app = Path(request["app"])
    files = confine.read_app(Path(request["root"]), app, bool(request["whole"]))
    folders, entries = confine.PYTHON_PATHS or confine.python_paths()
    root = os.geteuid() == 0
    home = request["home"] if namespaced else request["fallback_dir"]
    writable: tuple[str, ...] = confine.PRIVATE
    if namespaced:
        carried = (
            confine.CARRIED
            if confine.CARRIED is not None
            else confine.carried_paths(folders, entries)
        )
        confine.own_view(files, uid if root and uid else os.getuid(), limits["disk_mb"], carried)
    else:  # no mount namespace (said missing): a private folder in the shared /tmp
        confine.write_app(home, files)
        if root and uid:
            for folder, _, names in os.walk(home):
                for path in (folder, *(os.path.join(folder, n) for n in names)):
                    os.chown(path, uid, uid)
        writable = (home,)
    version = landlock.abi()
    rules = confine.rules(folders, entries, writable)
    ruleset = landlock.prepare(rules, version) if version else -1
    os.chdir(os.path.join(home, request["cwd"]))  # where uvicorn would run, in the copy
    _scrub_environment(home if not namespaced else "/tmp")
    processes = limits["processes"]
    if not (root and uid):  # RLIMIT_NPROC counts every process of the user: its others too
        processes += len(_user_processes())
    confine.limit_resources(limits["memory_mb"], limits["cpu_s"], processes)
    if root and uid:
        _sys.become(uid, uid)
    else:
        _sys.become(os.getuid(), os.getgid())
    if ruleset >= 0:
        landlock.enforce(ruleset)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = [app.name]
    sys.path.insert(0, home)


def _user_processes() -> list[str]:  # pragma: no cover
    uid = os.getuid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(entry)
    return found


def _scrub_environment(home: str) -> None:  # pragma: no cover
    """Only allowlisted variables survive (the zygote's environment was clean already)."""
    kept = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
    os.environ.clear()
    os.environ.update(kept, PATH="/usr/local/bin:/usr/bin:/bin", HOME=home, TMPDIR=home)


def _serve(request: dict[str, Any], sock: Any, events_w: int) -> None:  # pragma: no cover
    from wsquiz.engine import serving
    from wsquiz.engine.appfile import AppSpec, load_app
    from wsquiz.engine.capture import Recorder, activate, install_hooks, startup_failed
    from wsquiz.errors import AppLoadError

    lock = threading.Lock()

    def send(
        kind: str, value: Any, dumps: Any = json.dumps, write: Any = os.write, fd: int = events_w
    ) -> None:
        if hasattr(value, "to_dict"):
            value = value.to_dict()
        line = dumps([kind, value], default=str).encode() + b"\n"
        if len(line) > MAX_EVENT:
            line = b'["truncated", true]\n'
        with lock:
            try:
                write(fd, line)
            except OSError:
                os._exit(0)

    home = Path(os.getcwd(), *[".."] * len(Path(request["cwd"]).parts)).resolve()
    target = home / request["relative"]  # the copy _confine made
    spec = AppSpec(
        target,
        request["attr"],
        module=request["module"],
        app_dir=(home / request["app_dir"]).resolve(),
        cwd=Path(os.getcwd()),
        factory=bool(request["factory"]),
    )
    recorder = Recorder(str(target), sink=send, app_root=str(spec.app_dir))
    install_hooks(passthrough=False)  # done in the zygote already: this changes nothing
    activate(recorder)
    watch = audit.install(events_w, (recorder, send))
    try:
        loaded = load_app(spec)
    except AppLoadError as exc:
        send("load_error", exc.to_dict())
        os._exit(3)
    for note in loaded.notes:
        send("log", note)
    app = loaded.app
    asyncio.events._set_running_loop(None)
    routes = list(serving.websocket_routes(app))
    ws = str(request.get("ws") or "auto")
    try:
        asyncio.run(_serve_forever(recorder.wrap(app), sock, send, routes, watch, ws))
    except SystemExit:  # uvicorn's "Application startup failed. Exiting."
        send("load_error", startup_failed(spec, recorder.startup_error).to_dict())
        os._exit(3)


async def _serve_forever(  # pragma: no cover
    app: Any, sock: Any, send: Any, routes: list[str], watch: Any, ws: str = "auto"
) -> None:
    import uvicorn

    from wsquiz.engine import serving
    from wsquiz.engine.capture import watch_loop
    from wsquiz.engine.serving import uvicorn_config

    watch_loop(asyncio.get_running_loop())
    config = uvicorn_config(app, ws)
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    chain: list[Any] = [config, server, app]
    inner = config.loaded_app
    while inner is not None and inner is not app and len(chain) < 20:
        chain.append(inner)
        inner = getattr(inner, "app", None)
    for cls in (config.ws_protocol_class, config.http_protocol_class):
        if isinstance(cls, type):
            chain += [c for c in cls.__mro__ if c.__module__.startswith("uvicorn")]
    watch(chain)
    stopping = asyncio.Event()
    # PID 1 of its namespace gets only the signals it handles: SIGTERM is the keeper's request
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    send("ready", routes)
    await stopping.wait()
    await serving.stop_server(server, sock)
