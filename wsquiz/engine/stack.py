"""The installed server stack: fastapi, starlette, uvicorn and websockets as package metadata
says (without importing them), whether wsquiz supports them, the WebSocket implementation
uvicorn is asked to use (`--ws`), and whether a claim's bounds hold here."""

from __future__ import annotations

import re
from functools import cache

from wsquiz.engine.versions import (
    FLOORS,
    IMPLEMENTATIONS,
    PACKAGES,
    Condition,
    Stack,
    version_tuple,
)
from wsquiz.errors import UsageError, WsquizError

# uvicorn's module for each implementation, as `auto` resolves to one of them.
_MODULES = {
    "uvicorn.protocols.websockets.websockets_impl": "websockets",
    "uvicorn.protocols.websockets.websockets_sansio_impl": "websockets-sansio",
    "uvicorn.protocols.websockets.wsproto_impl": "wsproto",
}

__all__ = ["FLOORS", "IMPLEMENTATIONS", "PACKAGES", "Condition", "Stack", "version_tuple"]


class UnsupportedStack(WsquizError):
    """The installed server stack is one wsquiz cannot observe truthfully."""


def installed(name: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


# ---- support ----------------------------------------------------------------------------------


def unsupported() -> list[tuple[str, str | None, str]]:
    """(package, installed version or None, the floor) for each package below its floor."""
    found: list[tuple[str, str | None, str]] = []
    for name, floor in FLOORS.items():
        have = installed(name)
        if have is None or version_tuple(have) < version_tuple(floor):
            found.append((name, have, floor))
    return found


def require_supported() -> None:
    """Stop (exit 2) before observing anything on a stack whose answers would be wrong."""
    below = unsupported()
    if not below:
        return
    have = ", ".join(f"{name} {version or 'not installed'}" for name, version, _ in below)
    need = ", ".join(f"{name} >= {floor}" for name, _, floor in below)
    pins = " ".join(f"'{name}>={floor}'" for name, _, floor in below)
    raise UnsupportedStack(
        f"this server stack is not supported: installed {have}; wsquiz needs {need} "
        "(older versions observe some questions wrongly or not at all)",
        fix=f"pip install -U {pins}",
    )


# ---- the WebSocket implementation -----------------------------------------------------------

_choice = "auto"


def choose(ws: str) -> None:
    """Serve every app of this process with uvicorn's `ws` implementation (`--ws`)."""
    global _choice
    if ws not in IMPLEMENTATIONS:
        raise UsageError(
            f"--ws {ws!r}: not one of uvicorn's WebSocket implementations",
            fix=f"use one of {', '.join(IMPLEMENTATIONS)}",
        )
    if ws == "wsproto" and installed("wsproto") is None:
        raise UsageError(
            "--ws wsproto: the wsproto package is not installed",
            fix="pip install wsproto (or use --ws auto)",
        )
    _choice = ws


def chosen() -> str:
    """The implementation asked for, as uvicorn names it (`auto` by default)."""
    return _choice


@cache
def auto_pick() -> str:
    """The implementation uvicorn's `auto` resolves to here (asks uvicorn itself)."""
    from uvicorn.protocols.websockets import auto

    protocol = auto.AutoWebSocketsProtocol
    if protocol is None:
        return "none"
    return _MODULES.get(protocol.__module__, protocol.__module__)


def implementation() -> str:
    """The implementation that really serves: the chosen one, `auto` resolved."""
    return auto_pick() if _choice == "auto" else _choice


# ---- the stack as recorded ------------------------------------------------------------------


@cache
def _versions() -> tuple[tuple[str, str], ...]:
    return tuple((name, installed(name) or "not installed") for name in PACKAGES)


def current() -> Stack:
    """The stack this process observes on, with the implementation in use."""
    return Stack(_versions(), implementation())


def report() -> list[tuple[str, str | None]]:
    """`wsquiz --version`'s rows: the packages (wsproto when present), without importing them."""
    rows: list[tuple[str, str | None]] = [(name, installed(name)) for name in PACKAGES]
    if installed("wsproto") is not None:
        rows.append(("wsproto", installed("wsproto")))
    return rows


def responsible(source: str, error_type: str = "", traceback: str = "") -> str:
    """Which installed package answers for what `source` shows, with its version: the package
    an error was raised in (by its class's module, else the traceback's last frame in one of
    them), uvicorn and its implementation for closes and handshakes; else the whole stack."""
    on = current()
    if source in ("server_error", "server_error_message"):
        top = error_type.split(".", 1)[0]
        if top not in PACKAGES:
            frames = re.findall(r"[/\\](fastapi|starlette|uvicorn|websockets)[/\\]", traceback)
            top = frames[-1] if frames else ""
        if top in PACKAGES:
            return f"{top} {on.version(top)}"
    if source in ("close_code", "close_reason", "closed_by", "handshake_status"):
        return f"uvicorn {on.version('uvicorn')} (--ws {on.ws})"
    return on.text()


# ---- version-aware claims -------------------------------------------------------------------


def applies(when: tuple[str, ...], stack: Stack | None = None) -> bool:
    """Do all the bounds hold on `stack` (the current one by default)?"""
    if not when:
        return True
    on = stack if stack is not None else current()
    return all(Condition.parse(text).holds(on) for text in when)
