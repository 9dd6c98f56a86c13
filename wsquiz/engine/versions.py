"""Versions as data: the packages wsquiz observes, the oldest versions it supports, a stack as
recorded (versions and WebSocket implementation), and the bounds a course's claim holds between
(`when = "starlette >= 1.7"`). Nothing here imports the server stack (the course uses it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PACKAGES = ("fastapi", "starlette", "uvicorn", "websockets")
# The oldest versions the whole test suite, the content's live validation and the exercises'
# verification pass on (CI runs them on exactly these, `.ci/run`). Below them: websockets < 17.4
# lacks what the client uses; starlette < 1.7 has no `WebSocketDisconnected`; uvicorn < 0.50
# picks its legacy implementation for `auto`, 0.50.0 splits offered subprotocols wrongly and
# 0.52.0 drops a refused classroom connection without a close frame;
# fastapi < 0.133 does not allow starlette 1.x. pyproject.toml declares the same floors.
FLOORS = {"fastapi": "0.133.0", "starlette": "1.7.0", "uvicorn": "0.52.1", "websockets": "17.4"}
IMPLEMENTATIONS = ("auto", "websockets", "websockets-sansio", "wsproto")


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


# ---- bounds of claims -------------------------------------------------------------------

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
        """Can a supported stack satisfy it? (`uvicorn < 0.39` cannot: the floor is 0.52.1.)"""
        if self.name == "ws" or self.op not in ("<", "<=", "=="):
            return True
        floor, bound = version_tuple(FLOORS[self.name]), version_tuple(self.value)
        return floor < bound if self.op == "<" else floor <= bound

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value}"
