"""An exercise check a student sends, run again on the host (in the engine's sandbox) and
recorded: the student's own result is never trusted.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from wsquiz.classroom.protocol import CheckMessage, error
from wsquiz.classroom.store import CheckRow

if TYPE_CHECKING:
    from wsquiz.classroom.room import Classroom
    from wsquiz.classroom.seats import Seat

CHECK_SLOTS = 2  # exercise checks run at once on the host


async def check(room: Classroom, seat: Seat, message: CheckMessage) -> dict[str, Any]:
    if room.material.mode != "exercise":
        return error("this session is a quiz: send an answer")
    if seat.checking:
        return error("your previous check is still running")
    if room.check_slots is None:
        room.check_slots = asyncio.Semaphore(CHECK_SLOTS)
    slots = room.check_slots
    seat.checking = True
    try:
        async with slots:
            outcome = await asyncio.to_thread(
                room.material.verify, message.source, seat.name, message.file
            )
    except Exception as exc:  # the sandbox failed, not the student: say so, keep hosting
        return error(f"the host could not run the checks: {type(exc).__name__}: {exc}")
    finally:
        seat.checking = False
    row = CheckRow(
        seat.name,
        room.items[0].id,
        outcome.passed,
        outcome.score,
        outcome.max_score,
        outcome.results,
        outcome.error,
        time.time(),
    )
    room.store.record_check(room.session.id, row)
    room.attempts[seat.name] = room.attempts.get(seat.name, 0) + 1
    best = room.checks.get(seat.name)
    if best is None or row.score >= best.score:
        room.checks[seat.name] = row
    room.notify(
        "check",
        {"name": seat.name, "score": row.score, "max_score": row.max_score, "passed": row.passed},
    )
    room.changed()
    return {
        "type": "checked",
        "passed": outcome.passed,
        "score": outcome.score,
        "max_score": outcome.max_score,
        "checks": outcome.results,
        "error": outcome.error,
    }
