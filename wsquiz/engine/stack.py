"""The server stack wsquiz observes: the installed versions of fastapi, starlette, uvicorn and
websockets (read from package metadata, without importing them), whether wsquiz supports them,
the WebSocket implementation uvicorn is asked to use (`--ws`), and the version bounds a claim of
the course can hold between (`when = "starlette >= 1.7"`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from wsquiz.errors import UsageError, WsquizError

PACKAGES = ("fastapi", "starlette", "uvicorn", "websockets")
# The oldest versions the whole test suite, the content's live validation and the exercises'
# verification pass on (CI runs them on exactly these, `.ci/run`). Below them: websockets < 17.4
# lacks what the client uses; starlette < 1.7 has no `WebSocketDisconnected`; uvicorn < 0.50
# picks its legacy implementation for `auto` and 0.50.0 splits offered subprotocols wrongly;
# fastapi < 0.133 does not allow starlette 1.x. pyproject.toml declares the same floors.
FLOORS = {"fastapi": "0.133.0", "starlette": "1.7.0", "uvicorn": "0.50.1", "websockets": "17.4"}
IMPLEMENTATIONS = ("auto", "websockets", "websockets-sansio", "wsproto")
# uvicorn's module for each implementation, as `auto` resolves to one of them.
_MODULES = {
    "uvicorn.protocols.websockets.websockets_impl": "websockets",
    "uvicorn.protocols.websockets.websockets_sansio_impl": "websockets-sansio",
    "uvicorn.protocols.websockets.wsproto_impl": "wsproto",
}


class UnsupportedStack(WsquizError):
    """The installed server stack is one wsquiz cannot observe truthfully."""


def installed(name: str) -> str | None:
    """The installed version of a distribution, None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def version_tuple(text: str) -> tuple[int, ...]:
    """`0.50.1` -> (0, 50, 1); a pre-release or local tail (`1.0.0rc1`, `+cpu`) is ignored."""
    found: list[int] = []
    for part in text.split("+", 1)[0].split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        found.append(int(digits.group(0)))
        if digits.group(0) != part:
            break
    while len(found) > 1 and found[-1] == 0:
        found.pop()
    return tuple(found)


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


@dataclass(frozen=True)
class Stack:
    """What an observation was made on: the four packages' versions and the implementation."""

    versions: tuple[tuple[str, str], ...]
    ws: str | None  # None: recorded by a wsquiz that did not say

    def to_dict(self) -> dict[str, str | None]:
        return {**dict(self.versions), "ws": self.ws}

    @classmethod
    def from_dict(cls, data: Any) -> Stack | None:
        """A recorded stack (or an older sheet's `versions`); None when there is none."""
        if not isinstance(data, dict):
            return None
        versions = tuple((n, str(data[n])) for n in PACKAGES if data.get(n) is not None)
        if not versions:
            return None
        ws = data.get("ws")
        return cls(versions, str(ws) if ws is not None else None)

    def version(self, name: str) -> str | None:
        return dict(self.versions).get(name)

    def text(self) -> str:
        parts = [f"{name} {version}" for name, version in self.versions]
        if self.ws is not None:
            parts.append(f"--ws {self.ws}")
        return ", ".join(parts)

    def changes(self, other: Stack) -> list[tuple[str, str | None, str | None]]:
        """(package or `ws`, this one's, the other's) for each that differs."""
        found = [
            (name, self.version(name), other.version(name))
            for name in PACKAGES
            if self.version(name) != other.version(name)
        ]
        if self.ws is not None and other.ws is not None and self.ws != other.ws:
            found.append(("ws", self.ws, other.ws))
        return found


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


# ---- version-aware claims -------------------------------------------------------------------

_CONDITION = re.compile(r"^\s*([a-z][a-z-]*)\s*(>=|<=|==|!=|<|>)\s*([A-Za-z0-9.+-]+)\s*$")
_TESTS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Condition:
    """`starlette >= 1.7`, `uvicorn < 0.39`, `ws != wsproto`: where a claim holds."""

    name: str  # one of PACKAGES, or `ws` for the implementation
    op: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _CONDITION.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not a bound such as 'starlette >= 1.7' or 'ws != wsproto'"
            )
        name, op, value = match.groups()
        if name == "ws":
            if op not in ("==", "!=") or value not in IMPLEMENTATIONS[1:]:
                raise ValueError(
                    f"{text!r}: the implementation is compared with == or != to one of "
                    f"{', '.join(IMPLEMENTATIONS[1:])}"
                )
        elif name not in PACKAGES:
            raise ValueError(f"{text!r}: bounds name one of {', '.join(PACKAGES)} or ws")
        elif not version_tuple(value):
            raise ValueError(f"{text!r}: {value!r} is not a version")
        return cls(name, op, value)

    def holds(self, stack: Stack) -> bool:
        if self.name == "ws":
            return (stack.ws == self.value) == (self.op == "==")
        have = stack.version(self.name)
        if have is None or not version_tuple(have):
            return False
        return bool(_TESTS[self.op](version_tuple(have), version_tuple(self.value)))

    def reachable(self) -> bool:
        """Can a supported stack satisfy it? (`uvicorn < 0.39` cannot: the floor is 0.50.1.)"""
        if self.name == "ws" or self.op not in ("<", "<=", "=="):
            return True
        floor, bound = version_tuple(FLOORS[self.name]), version_tuple(self.value)
        return floor < bound if self.op == "<" else floor <= bound

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value}"


def applies(when: tuple[str, ...], stack: Stack | None = None) -> bool:
    """Do all the bounds hold on `stack` (the current one by default)?"""
    if not when:
        return True
    on = stack if stack is not None else current()
    return all(Condition.parse(text).holds(on) for text in when)
