"""The teacher's commands: what each does to the room, and the one reply each gets (`done`, or an
error saying why not). A command never closes the teacher's channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wsquiz.classroom.protocol import Hide, Invalid, Kick, Move, Push, Rename, error, parse_command
from wsquiz.classroom.roster import kick, rename
from wsquiz.errors import UsageError, WsquizError

if TYPE_CHECKING:
    from wsquiz.classroom.room import Classroom


async def command(room: Classroom, data: dict[str, Any]) -> dict[str, Any]:
    """Do one teacher's command; its one reply, `done` or an error (never a close)."""
    kind = data.get("type")
    try:
        command = parse_command(data)
        kind = command.type
        if room.material.mode == "exercise" and kind in (
            "next",
            "prev",
            "push",
            "move",
            "reveal",
            "hide",
            "show",
        ):
            return error(
                f"{kind}: an exercise session has one exercise; "
                "commands: end, kick, rename, lock, unlock"
            )
        if kind == "next":
            if room.index >= len(room.items) - 1 and room.index >= 0:
                return error("this is the last question: r reveals it, e ends the session")
            room.push(room.index + 1)
        elif kind == "prev":
            room.push(max(room.index - 1, 0))
        elif isinstance(command, Push):
            room.push(command.index)
        elif isinstance(command, Move):
            target = max(0, min(len(room.items) - 1, room.index + command.by))
            if target == room.index:
                return error("no question further that way: r reveals this one, e ends")
            room.push(target)
        elif kind == "reveal":
            await room.reveal()
        elif kind == "end":
            room.end()
        elif kind in ("lock", "unlock"):
            room.locked = kind == "lock"
            room.notify("lock", {"locked": room.locked})
            room.changed()
        elif isinstance(command, Kick):
            kick(room, command.name)
        elif isinstance(command, Rename):
            rename(room, command.name, command.to)
        elif isinstance(command, Hide):
            hide(room, command.answer, command.type == "hide")
    except Invalid as exc:
        return error(exc.reason)
    except WsquizError as exc:
        return error(exc.message)
    except Exception as exc:  # a live observation that failed: say so, keep hosting
        return error(f"{kind} failed: {type(exc).__name__}: {exc}")
    # Every command gets one reply: this, or an error. A board whose input ended (a piped
    # `e`) waits for it before it leaves, so what the command did is seen.
    return {"type": "done", "command": kind}


def hide(room: Classroom, answer: str, hidden: bool) -> None:
    item = room.current
    if item is None or room.material.mode != "quiz":
        raise UsageError("there is no question on screen: push one first")
    bars = {room.group_of(a) for a in room.answers.get(item.id, {}).values()}
    if answer not in bars:
        shown = ", ".join(sorted(bars)[:8]) or "none yet"
        raise UsageError(f"no answer {answer!r} in the spread (answers: {shown})")
    chosen = room.hidden.setdefault(item.id, set())
    if hidden:
        chosen.add(answer)
    else:
        chosen.discard(answer)
    room.changed()
