"""Who may sit in a class: the seats, the limits on taking them, and the guard on the join code.

The guard slows the guessing of codes, never the class: the right code always joins at once,
from any address; a wrong one, past a budget per address, is answered only after a delay, so
a script learns a few codes a second at most (out of 32^6) while the class behind the same
school network is not refused. Seats per address and joins per minute are capped, and each
limit reached is said to the teacher (once a minute per address), not only to the student.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsquiz.classroom.broadcast import Peer

MAX_STUDENTS = 1000
WRONG_CODES_PER_MIN = 60  # per address before each further wrong code waits
WRONG_CODE_DELAY = 2.0  # seconds a wrong code waits past that budget
SEATS_PER_ADDRESS = 120  # a school behind one NAT shares one address
JOINS_PER_MIN = 120  # new seats per address per minute


@dataclass
class Seat:
    name: str
    joined: float
    peer: Peer | None = None
    checking: bool = False
    address: str = ""


@dataclass
class SeatLimits:
    """The caps a teacher may change (`wsquiz classroom host --seats-per-address ...`)."""

    seats_per_address: int = SEATS_PER_ADDRESS
    joins_per_minute: int = JOINS_PER_MIN
    wrong_codes_per_minute: int = WRONG_CODES_PER_MIN
    wrong_code_delay: float = WRONG_CODE_DELAY


def _recent(times: deque[float], now: float, window: float = 60.0) -> int:
    while times and now - times[0] > window:
        times.popleft()
    return len(times)


class Admission:
    """The counters behind the limits, per address, over the last minute."""

    def __init__(self, limits: SeatLimits | None = None) -> None:
        self.limits = limits or SeatLimits()
        self._wrong: dict[str, deque[float]] = {}
        self._joins: dict[str, deque[float]] = {}
        self._told: dict[tuple[str, str], float] = {}

    def wrong_code(self, address: str) -> float:
        """Count a wrong code from `address`; the seconds to wait before saying so."""
        now = time.monotonic()
        times = self._wrong.setdefault(address, deque())
        over = _recent(times, now) >= self.limits.wrong_codes_per_minute
        times.append(now)
        return self.limits.wrong_code_delay if over else 0.0

    def wrong_codes(self, address: str) -> int:
        return _recent(self._wrong.get(address, deque()), time.monotonic())

    def join_refused(self, address: str, seats_there: int) -> str | None:
        """Why a new seat from `address` is refused now, None if it may be taken (and counted)."""
        if seats_there >= self.limits.seats_per_address:
            return (
                f"this network holds {seats_there} seats, the most one address may have: "
                "ask the teacher"
            )
        now = time.monotonic()
        times = self._joins.setdefault(address, deque())
        if _recent(times, now) >= self.limits.joins_per_minute:
            return "too many joins from this network in a minute: wait a minute, then join"
        times.append(now)
        return None

    def first_in_a_minute(self, what: str, address: str) -> bool:
        """True once a minute per (what, address): when the teacher is to be told again."""
        now = time.monotonic()
        at = self._told.get((what, address))
        if at is not None and now - at < 60:
            return False
        self._told[(what, address)] = now
        return True
