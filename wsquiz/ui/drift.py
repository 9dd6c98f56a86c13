"""The view of drift between two stacks: each question whose answer or claim changed since a
record (`wsquiz validate --live --against FILE`), with the two stacks it was observed on."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text


def _stack_text(data: dict[str, Any]) -> str:
    from wsquiz.engine.stack import Stack

    found = Stack.from_dict(data)
    return found.text() if found is not None else "(unknown)"


def drift_view(drift: dict[str, Any], against: str) -> Group:
    """`drift` as `wsquiz validate` builds it: the stacks, the stack's changes, the changes."""
    old_stack = _stack_text(drift["against"]["stack"])
    new_stack = _stack_text(drift["stack"])
    parts: list[RenderableType] = [
        Text.assemble(("old stack: ", "bold"), (f"{old_stack} ({against})", "")),
        Text.assemble(("new stack: ", "bold"), new_stack),
    ]
    changes = drift["changes"]
    if not changes:
        parts.append(Text(f"no answer or claim changed since {against}", "green"))
        return Group(*parts)
    for change in changes:  # one line each: ids and values stay whole, for reading and grep
        parts.append(
            Text.assemble(
                (change["id"], "bold"),
                f": {change['what']}: ",
                (change["old"], "red"),
                " -> ",
                (change["new"], "green"),
            )
        )
    count = len({c["id"] for c in changes})
    noun = "question" if count == 1 else "questions"
    parts.append(Text(f"{count} {noun} changed since {against}", "bold yellow"))
    return Group(*parts)
