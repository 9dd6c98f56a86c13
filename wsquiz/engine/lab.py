"""The live lab: serve an app under real uvicorn on 127.0.0.1 and observe a scenario.

Trusted, bundled content is served in-process (a server takes ~1 ms to start in a warm
process); learner and student code is served in a sandboxed child process (`sandbox.py`).
Both report through the same `Recorder`, so both are observed the same way.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from wsquiz.engine.appfile import AppSpec, Loaded, load_app, unload
from wsquiz.engine.capture import Recorder, activate, install_hooks, startup_failed, watch_loop
from wsquiz.engine.client import Player
from wsquiz.engine.scenario import Scenario
from wsquiz.engine.serving import (
    Limits,
    Served,
    listening_socket,
    prewarm,
    stop_server,
    uvicorn_config,
    websocket_routes,
)
from wsquiz.engine.transcript import ServerSide, Transcript
from wsquiz.errors import ObservationError

T = TypeVar("T")
SETTLE_TIMEOUT = 1.0
# After the last handler ends, what the app's own background tasks still do is waited for
# this long at most (a task that logs or fails just after the close is seen; one that runs
# forever costs this much per observation).
SETTLE_WINDOW = 0.25
CLOSE_TIMEOUT = 5.0
_in_process: set[InProcess] = set()


class InProcess(Served):
    def __init__(self, spec: AppSpec) -> None:
        self.spec = spec
        self.recorder = Recorder(str(spec.path), app_root=str(spec.app_dir))
        self._loaded: Loaded | None = None
        self._server: Any = None
        self._sock: socket.socket | None = None

    async def start(self) -> None:
        # In-process serving is for trusted bundled content: one process, so the working
        # directory stays the lab's (a sandbox changes into the app's, as uvicorn would run).
        try:
            import uvicorn
        except ImportError as exc:
            raise server_broken(exc) from exc

        install_hooks()
        watch_loop(asyncio.get_running_loop())
        activate(self.recorder)
        self._loaded = loaded = load_app(self.spec)
        for note in loaded.notes:
            self.recorder.record("log", note)
        self.routes = websocket_routes(loaded.app)
        self._sock = listening_socket()
        self.port = self._sock.getsockname()[1]
        config = uvicorn_config(self.recorder.wrap(loaded.app))
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        try:
            await server.startup(sockets=[self._sock])
        except SystemExit:
            self._sock.close()
            unload(loaded)
            raise startup_failed(self.spec, self.recorder.startup_error) from None
        self._server = server
        self.loop = asyncio.get_running_loop()
        _in_process.add(self)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        _in_process.discard(self)
        await stop_server(server, self._sock)
        if self._loaded is not None:
            unload(self._loaded)


class Lab:
    """A background event loop that hosts servers and clients; usable from any thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="wsquiz-lab", daemon=True)
        self._closing = False
        self._thread.start()
        atexit.register(self.close)  # a lab left open still takes its servers down

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(prewarm)
        self._loop.run_forever()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def serve(
        self, spec: AppSpec, *, isolated: bool = False, limits: Limits | None = None
    ) -> Served:
        return self.call(serve(spec, isolated=isolated, limits=limits))

    def observe(
        self,
        spec: AppSpec,
        scenario: Scenario,
        *,
        isolated: bool = False,
        limits: Limits | None = None,
    ) -> Transcript:
        return self.call(observe(spec, scenario, isolated=isolated, limits=limits))

    def close(self) -> None:
        """Stop every server this lab started, then its loop. Safe to call twice."""
        if self._loop.is_closed() or self._closing:
            return
        self._closing = True
        from wsquiz.engine import sandbox

        # A stuck loop (or Ctrl-C) must not leave processes behind: kill_all then does it.
        stopping = _stop_all(self._loop)
        future = self.submit(stopping)
        try:
            future.result(CLOSE_TIMEOUT)
        except BaseException:
            if future.cancel():  # it never started: nothing else will close it
                stopping.close()
        sandbox.kill_all(self._loop)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()
        atexit.unregister(self.close)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _stop_all(loop: asyncio.AbstractEventLoop) -> None:
    from wsquiz.engine import sandbox

    async def stop_servers() -> None:
        for served in list(_in_process):
            if served.loop is loop:
                with contextlib.suppress(Exception):
                    await served.stop()
        await sandbox.stop_all(loop)

    await stop_servers()
    # What still runs (an observation its caller left mid-way, as when the output pipe broke)
    # ends now, while the loop can run its clean-up: a coroutine dropped after the loop is
    # closed prints "Exception ignored ... Event loop is closed" at exit.
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others, timeout=1.0)
        await stop_servers()  # one that was starting has started meanwhile


async def serve(spec: AppSpec, *, isolated: bool = False, limits: Limits | None = None) -> Served:
    """Start the app; return once it really accepts connections."""
    if isolated:
        from wsquiz.engine.sandbox import Sandboxed

        sandboxed = Sandboxed(spec, limits or Limits())
        await sandboxed.start()
        return sandboxed
    served = InProcess(spec)
    await served.start()
    return served


def server_broken(exc: BaseException) -> ObservationError:
    return ObservationError(
        f"the server side could not run ({type(exc).__name__}: {exc}): nothing was observed",
        fix="install wsquiz's server stack: pip install -U fastapi uvicorn",
    )


async def play_against(served: Served, scenario: Scenario) -> Transcript:
    """Play the scenario against a running server and wait for its handlers to finish (and,
    a short while, for the background tasks they started: SETTLE_WINDOW)."""
    start = time.perf_counter()
    player = Player(scenario, served.port)
    await player.play()
    await served.recorder.settle(SETTLE_TIMEOUT, SETTLE_WINDOW)
    return Transcript(
        app=str(served.spec),
        clients=player.records(),
        frames=tuple(player.frames),
        server=_server_side(served),
        timed_out=tuple(player.timed_out),
        elapsed_ms=(time.perf_counter() - start) * 1000,
        routes=served.routes,
        failures=tuple(player.failures),
    )


def _server_side(served: Served) -> ServerSide:
    return served.recorder.snapshot(served.exit_status())


async def observe(
    spec: AppSpec,
    scenario: Scenario,
    *,
    isolated: bool = False,
    limits: Limits | None = None,
) -> Transcript:
    """Serve the app, play the scenario, stop the app: one observation, with what the server
    reported as it stopped (uvicorn's shutdown, the lifespan's included)."""
    served = await serve(spec, isolated=isolated, limits=limits)
    try:
        transcript = await play_against(served, scenario)
    except BaseException:
        await served.stop()
        raise
    status = served.exit_status()  # how it ended by itself, if it did: our stop is no ending
    await served.stop()
    return dataclasses.replace(transcript, server=served.recorder.snapshot(status))


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest WebSocket echo, for `preflight`."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    message = await receive()
    if message.get("text") is not None:
        await send({"type": "websocket.send", "text": message["text"]})
    await send({"type": "websocket.close", "code": 1000})


async def preflight_async() -> None:
    """Prove that this machine can observe at all: wsquiz's server stack serves and its client
    talks to it (one echo). Raises ObservationError naming what cannot run."""
    try:
        import uvicorn
    except ImportError as exc:
        raise server_broken(exc) from exc
    sock = listening_socket()
    port = sock.getsockname()[1]
    try:
        config = uvicorn_config(_echo)
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[sock])
    except (Exception, SystemExit) as exc:
        sock.close()
        raise server_broken(exc) from None
    try:
        player = Player(Scenario.probe("/ws", ["ping"], 5.0), port)
        await player.play()
    finally:
        await stop_server(server, sock)
    echoed = [f.text for f in player.frames if f.direction == "received"]
    if echoed != ["ping"]:
        raise ObservationError(
            f"wsquiz's own echo check failed (received {echoed!r}, expected ['ping']): "
            "nothing can be observed here",
            fix="reinstall wsquiz's dependencies: pip install -U fastapi uvicorn websockets",
        )


def preflight() -> None:
    """`preflight_async` from a thread without an event loop (a command's start)."""
    asyncio.run(preflight_async())
