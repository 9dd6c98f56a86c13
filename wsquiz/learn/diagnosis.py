"""The likely cause of a failed check, named first (as rustc and Elm do): a coroutine never
awaited, found in the server's warnings and pinned to the learner's line; and a near miss
between an expected and an observed text (`echo: hello` for `Echo: hello`)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

NEVER_AWAITED = re.compile(r"coroutine '([\w.<>]+)' was never awaited")
NEAR = 0.75  # how alike two texts must be (difflib's ratio) to be a near miss, not a different one


@dataclass(frozen=True)
class Cause:
    """What most likely made the checks fail, said before them."""

    title: str  # "missing `await`"
    message: str
    fix: str
    line: int | None = None
    count: int = 1  # how many times the server warned of it


def never_awaited(warnings: tuple[str, ...] | list[str]) -> tuple[str, int] | None:
    """The first coroutine the server warned was never awaited, and how many warnings named it."""
    names = [m.group(1) for w in warnings if (m := NEVER_AWAITED.search(w))]
    if not names:
        return None
    return names[0], names.count(names[0])


def _unawaited_call(source: str, method: str) -> tuple[int, str] | None:
    """The first call of `method` (`receive_text` or `WebSocket.receive_text`) that no
    `await` covers: its line and its text."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    attr = method.rsplit(".", 1)[-1]
    awaited: set[int] = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Await)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in awaited:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == attr:
            return node.lineno, ast.get_source_segment(source, node) or f"{attr}()"
    return None


def missing_await(path: Path, warnings: tuple[str, ...] | list[str]) -> Cause | None:
    """A coroutine never awaited, named with the learner's line that called it."""
    found = never_awaited(warnings)
    if found is None:
        return None
    method, count = found
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        source = ""
    call = _unawaited_call(source, method) if source else None
    if call is None:
        return Cause(
            "missing `await`",
            f"the coroutine {method}() was never awaited ({count} warnings): it was called "
            "without `await`, so it returned a coroutine object instead of doing its work",
            f"put `await` before the call of {method.rsplit('.', 1)[-1]}()",
            count=count,
        )
    line, text = call
    times = f" {count} times" if count > 1 else ""
    return Cause(
        "missing `await`",
        f"line {line}: `{text}` is called without `await`, so it returns a coroutine object "
        f"instead of doing its work (the server warned{times}: coroutine '{method}' was never "
        "awaited)",
        f"write `await {text}` on line {line}",
        line=line,
        count=count,
    )


def near_miss(expected: str, observed: str) -> bool:
    """Two texts alike enough that the difference is a slip (case, a character, a space)."""
    if expected == observed or not expected or not observed:
        return False
    if expected.casefold() == observed.casefold():
        return True
    return SequenceMatcher(None, expected, observed, autojunk=False).ratio() >= NEAR


def differing(expected: str, observed: str) -> list[tuple[str, str, bool]]:
    """The two texts side by side in pieces: (expected piece, observed piece, differs)."""
    pieces: list[tuple[str, str, bool]] = []
    matcher = SequenceMatcher(None, expected, observed, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        pieces.append((expected[a1:a2], observed[b1:b2], op != "equal"))
    return pieces
