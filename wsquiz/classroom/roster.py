"""The teacher's say over the seats (remove a student, rename one), and the session's results per
student in the shape `wsquiz grade` exports.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from wsquiz.classroom.text import name_key
from wsquiz.errors import UsageError

if TYPE_CHECKING:
    from wsquiz.classroom.room import Classroom


def kick(room: Classroom, name: str) -> None:
    """Remove a seat: its connection is closed for good (4003), its answers leave the spread."""
    seat = room.seat_named(name)
    room.store.remove_seat(room.session.id, seat.name)
    room.kicked(seat)
    del room.seats[seat.name]
    room.named.pop(name_key(seat.name), None)
    for given in room.answers.values():
        given.pop(seat.name, None)
    room.checks.pop(seat.name, None)
    room.attempts.pop(seat.name, None)
    room.notify("kick", {"name": seat.name})
    room.changed()


def rename(room: Classroom, name: str, to: str) -> None:
    """Give a seat another name (the student keeps the seat, the token and the answers)."""
    seat = room.seat_named(name)
    old = seat.name
    held = room.named.get(name_key(to))
    if held is not None and held != old:
        raise UsageError(f"the name {to!r} is taken in this session")
    if not room.store.rename_seat(room.session.id, old, to):
        raise UsageError(f"the name {to!r} is taken in this session")
    seat.name = to
    room.seats = {(to if n == old else n): s for n, s in room.seats.items()}
    room.named.pop(name_key(old), None)
    room.named[name_key(to)] = to
    for item, given in room.answers.items():
        if old in given:
            given[to] = dataclasses.replace(given.pop(old), student=to)
            room.forget_group(item, old)
    for table in (room.checks, room.attempts):
        if old in table:
            table[to] = table.pop(old)  # type: ignore[assignment]
    if seat.peer is not None:
        seat.peer.push(json.dumps({"type": "renamed", "name": to}))
    room.notify("rename", {"name": old, "to": to})
    room.changed()


def results(room: Classroom) -> list[Any]:
    """Per student, in the `wsquiz grade` shape (gradebook.StudentResult)."""
    from wsquiz.grading.gradebook import CheckOutcome, StudentResult

    out = []
    for name in room.seats:
        if room.material.mode == "quiz":
            checks = []
            for item in room.items:
                given = room.answers.get(item.id, {}).get(name)
                source = "the answer is" if item.kind == "concept" else ("the live server gave")
                message = (
                    "no answer"
                    if given is None
                    else f"answered {given.answer!r}; {source} {given.observed!r}"
                )
                ok = given is not None and given.correct
                checks.append(CheckOutcome(item.id, ok, 1.0 if ok else 0.0, 1.0, message))
            score = sum(c.points for c in checks)
            out.append(StudentResult(name, score, float(len(room.items)), tuple(checks)))
        else:
            best = room.checks.get(name)
            max_score = room.material.max_score
            if best is None:
                out.append(StudentResult(name, 0.0, max_score, (), "no check submitted"))
                continue
            outcomes = [
                CheckOutcome(
                    str(r["name"]),
                    bool(r["passed"]),
                    float(r["points"]),
                    float(r["max_points"]),
                    str(r.get("message", "")),
                )
                for r in best.results
            ]
            out.append(StudentResult(name, best.score, best.max_score, tuple(outcomes), best.error))
    return out
