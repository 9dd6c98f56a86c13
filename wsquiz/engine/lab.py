"""The live lab: serve an app under real uvicorn on 127.0.0.1 and observe a scenario.

Trusted, bundled content is served in-process (a server takes ~1 ms to start in a warm
process); learner and student code is served in a sandboxed child process (`sandbox.py`).
Both report through the same `Recorder`, so both are observed the same way.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import socket
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from wsquiz.engine.appfile import AppSpec, load_app, unload
from wsquiz.engine.capture import Recorder, activate, install_hooks
from wsquiz.engine.client import Player
from wsquiz.engine.scenario import Scenario
from wsquiz.engine.serving import (
    Limits,
    Served,
    listening_socket,
    prewarm,
    uvicorn_config,
    websocket_routes,
)
from wsquiz.engine.transcript import ServerSide, Transcript
from wsquiz.errors import LabError

T = TypeVar("T")
SETTLE_TIMEOUT = 1.0
CLOSE_TIMEOUT = 5.0
_in_process: set[InProcess] = set()


class InProcess(Served):
    def __init__(self, spec: AppSpec) -> None:
        self.spec = spec
        self.recorder = Recorder(str(spec.path))
        self._module = ""
        self._server: Any = None
        self._sock: socket.socket | None = None

    async def start(self) -> None:
        import uvicorn

        install_hooks()
        activate(self.recorder)
        app, self._module = load_app(self.spec)
        self.routes = websocket_routes(app)
        self._sock = listening_socket()
        self.port = self._sock.getsockname()[1]
        config = uvicorn_config(self.recorder.wrap(app))
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        try:
            await server.startup(sockets=[self._sock])
        except SystemExit:
            self._sock.close()
            unload(self._module)
            raise LabError(f"{self.spec.path}: the app's startup (lifespan) failed") from None
        self._server = server
        self.loop = asyncio.get_running_loop()
        _in_process.add(self)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        _in_process.discard(self)
        for listener in server.servers:
            listener.close()
        if self._sock is not None:
            self._sock.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + 0.5
        while server.server_state.tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        for task in list(server.server_state.tasks):
            task.cancel()
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(server.lifespan.shutdown(), 1)
        unload(self._module)


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


async def play_against(served: Served, scenario: Scenario) -> Transcript:
    """Play the scenario against a running server and wait for its handlers to finish."""
    start = time.perf_counter()
    player = Player(scenario, served.port)
    await player.play()
    await served.recorder.settle(SETTLE_TIMEOUT)
    return Transcript(
        app=str(served.spec),
        clients=player.records(),
        frames=tuple(player.frames),
        server=_server_side(served),
        timed_out=tuple(player.timed_out),
        elapsed_ms=(time.perf_counter() - start) * 1000,
        routes=served.routes,
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
    """Serve the app, play the scenario, stop the app: one observation."""
    served = await serve(spec, isolated=isolated, limits=limits)
    try:
        return await play_against(served, scenario)
    finally:
        await served.stop()
