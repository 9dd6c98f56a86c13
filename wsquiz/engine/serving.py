"""What every way of serving an app shares: the limits, the listening socket, uvicorn's config,
the app's WebSocket routes, and the `Served` interface of a running server."""

from __future__ import annotations

import asyncio
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
    """The WebSocket paths an app (Starlette or FastAPI, mounts included) declares."""
    from starlette.routing import Mount, WebSocketRoute

    found: list[str] = []
    for route in getattr(app, "routes", None) or ():
        if isinstance(route, WebSocketRoute):
            found.append(prefix + route.path)
        elif isinstance(route, Mount) and route.routes:
            found += websocket_routes(route, prefix + route.path)
    return tuple(found)


_warm = False


def prewarm() -> None:
    """Import and exercise the server stack once, so each launch (or fork) finds it ready."""
    global _warm
    if _warm:
        return
    import fastapi
    from fastapi import WebSocket

    app = fastapi.FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket) -> None:  # pragma: no cover
        await websocket.accept()

    uvicorn_config(app)
    import websockets.asyncio.client  # noqa: F401

    _warm = True


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
