"""What every way of serving an app shares: the limits, the listening socket, uvicorn's config,
the app's WebSocket routes, and the `Served` interface of a running server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from typing import Any

from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.capture import Recorder


@dataclass(frozen=True)
class Limits:
    """Limits for code run in a sandbox, and what of the app's folder it sees.

    `memory_mb` and `processes` hold for the sandbox's whole process tree where cgroups can be
    made (else per process: see `sandbox.missing_protections`); `disk_mb` is the size of each of
    its private /tmp, /var/tmp and /dev/shm. With `app_folder` the app sees (a copy of) its
    folder, as uvicorn would; without it only its own file, unless it is the one Python file of
    its folder: a class's shared folder of `<student>.py` files is never shown to a student.
    """

    wall_s: float = 10.0
    memory_mb: int = 512
    cpu_s: int = 10
    processes: int = 32
    output_kb: int = 64
    startup_s: float = 5.0
    disk_mb: int = 64
    app_folder: bool = True


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def uvicorn_config(app: Any, ws: str | None = None) -> Any:
    """uvicorn's config for `app`, with the WebSocket implementation chosen (`--ws`, default
    the process's choice: `stack.choose`)."""
    import uvicorn

    from wsquiz.engine import stack

    config = uvicorn.Config(
        app, lifespan="auto", log_config=None, access_log=False, ws=ws or stack.chosen()
    )
    config.load()
    return config


def websocket_routes(app: Any, prefix: str = "") -> tuple[str, ...]:
    """The WebSocket paths an app declares: Starlette's and FastAPI's, mounted sub-apps and
    included routers too (FastAPI >= 0.160 keeps an included router as one wrapper route)."""
    from starlette.routing import Mount, WebSocketRoute

    found: list[str] = []
    routes = getattr(app, "routes", None) or getattr(getattr(app, "router", None), "routes", ())
    for route in routes or ():
        if isinstance(route, WebSocketRoute):
            found.append(prefix + route.path)
        elif isinstance(route, Mount):
            found += websocket_routes(route.app if not route.routes else route, prefix + route.path)
        elif callable(getattr(route, "effective_candidates", None)):
            found += _included(route, prefix)
    return tuple(dict.fromkeys(found))


def _included(router: Any, prefix: str) -> list[str]:
    from starlette.routing import WebSocketRoute

    found: list[str] = []
    try:
        candidates = router.effective_candidates()
    except Exception:  # FastAPI's private API: a version that changed it lists nothing here
        return found
    for candidate in candidates:
        if callable(getattr(candidate, "effective_candidates", None)):
            found += _included(candidate, prefix)
            continue
        route = getattr(candidate, "starlette_route", None)
        if isinstance(route, WebSocketRoute):
            found.append(prefix + route.path)
    return found


async def stop_server(server: Any, sock: socket.socket | None = None) -> None:
    """Stop a uvicorn server as Ctrl-C would, briefly: no new connections, the open ones
    shut down, their handlers given 0.5 s, then the lifespan shutdown (reported like any)."""
    for listener in server.servers:
        listener.close()
    if sock is not None:
        sock.close()
    for connection in list(server.server_state.connections):
        connection.shutdown()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 0.5
    while server.server_state.tasks and loop.time() < deadline:
        await asyncio.sleep(0.002)
    for task in list(server.server_state.tasks):
        task.cancel()
    with contextlib.suppress(asyncio.TimeoutError, Exception):
        await asyncio.wait_for(server.lifespan.shutdown(), 1)


_warm = False


def _warm_app() -> Any:
    import fastapi
    from fastapi import WebSocket

    app = fastapi.FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:  # pragma: no cover - served once
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    return app, endpoint


def prewarm() -> None:
    """Import and exercise the server stack once, so each launch (or fork) finds it ready."""
    global _warm
    if _warm:
        return
    import inspect

    app, endpoint = _warm_app()
    uvicorn_config(app)
    # FastAPI reads an endpoint's source at its first call (tokenize's patterns are compiled
    # then, once per process: ~15 ms)
    inspect.getsourcelines(endpoint)
    import websockets.asyncio.client  # noqa: F401

    _warm = True


async def prewarm_serving(ws: str | None = None) -> None:
    """Serve one WebSocket connection through the whole stack, so that what is built at a
    first connection is built (in the zygote: once, for every sandbox forked from it)."""
    import uvicorn
    from websockets.asyncio.client import connect

    prewarm()
    app, _ = _warm_app()
    sock = listening_socket()
    config = uvicorn_config(app, ws)
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    try:
        async with connect(f"ws://127.0.0.1:{sock.getsockname()[1]}/ws") as client:
            await client.send("warm")
            await client.recv()
    finally:
        await stop_server(server, sock)


class Served:
    """A running server: its port and what it reported."""

    port: int
    recorder: Recorder
    spec: AppSpec
    loop: asyncio.AbstractEventLoop | None = None
    routes: tuple[str, ...] = ()  # the app's WebSocket paths, as declared ("/chat/{room}")

    async def stop(self) -> None:
        raise NotImplementedError

    def exit_status(self) -> str | None:
        return None
