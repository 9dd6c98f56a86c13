"""The live classroom host: a FastAPI app over WebSockets, with a broadcast manager done right.

Endpoints:
- `/ws/student`: the first message joins (`{"type": "join", "code", "name", "token"?}`); then
  answers (quiz) or checks (exercise). Identity is bound to the connection: a message never
  names its student.
- `/ws/board`: the read-only board feed (answers stay hidden until the teacher reveals them,
  unless `?key=` is the host key).
- `/ws/teacher?key=HOST_KEY`: the private board feed plus the teacher's commands.
- `/board`: the projector page, `/`: how to join.

The manager never awaits a socket while broadcasting: each peer has a bounded outbox and its
own writer task with a send timeout, so one slow student cannot stall the others; a peer whose
outbox overflows or whose send times out is dropped (and may rejoin).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Imported at the top (not lazily) because FastAPI resolves the handlers' annotations here; only
# the classroom commands import this module.
from fastapi import FastAPI, WebSocket

from wsquiz.classroom.material import MAX_SOURCE, HostVerdict, Item, Material, split_bundle
from wsquiz.classroom.store import Answer, CheckRow, ClassroomStore, Session, check_name
from wsquiz.errors import UsageError, WsquizError

MAX_MESSAGE = 64 * 1024  # bytes of one message from a client; more closes with 1009
RATE_PER_S = 10.0  # messages a client may send per second, on average
RATE_BURST = 30  # ... and in a burst; more closes with 1008
SEND_TIMEOUT = 2.0  # a send to one peer that takes longer drops that peer
OUTBOX = 256  # messages queued for one peer; more drops it
JOIN_TIMEOUT = 10.0
BOARD_DELAY = 0.02  # board updates are coalesced over this many seconds
MAX_STUDENTS = 1000
MAX_ANSWER = 500
WRONG_CODES_PER_MIN = 60  # per address; students behind one NAT share it
CHECK_SLOTS = 2  # exercise checks run at once on the host
STATIC = Path(__file__).resolve().parent / "static"

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_UNSUPPORTED = 1003
CLOSE_REPLACED = 4001
CLOSE_ENDED = 4002


class Refused(Exception):
    """Close the connection with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Bucket:
    """A token bucket: `take()` is False once a client sends faster than the limit."""

    def __init__(self, rate: float = RATE_PER_S, burst: int = RATE_BURST) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# ---- the connection manager ----------------------------------------------------------------


class Peer:
    """One connected socket, with its own outbox and writer task.

    A send is not wrapped in a timeout of its own (that costs a task and a timer per message
    and per student); the manager's watchdog drops a peer whose send has been pending too long.
    """

    def __init__(
        self, ws: WebSocket, *, timeout: float = SEND_TIMEOUT, outbox: int = OUTBOX
    ) -> None:
        self.ws = ws
        self.timeout = timeout
        self.outbox: asyncio.Queue[str] = asyncio.Queue(outbox)
        self.gone = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self.room = ""
        self.writer: asyncio.Task[None] | None = None
        self.sending_since: float | None = None
        self._stopped = False

    def start(self) -> None:
        self.writer = asyncio.create_task(self._write())

    def push(self, text: str) -> bool:
        if self.gone.is_set():
            return False
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.drop(CLOSE_POLICY, "too slow: messages piled up unread")
            return False
        return True

    def drop(self, code: int, reason: str) -> None:
        if not self.gone.is_set():
            self.close_code, self.close_reason = code, reason
            self.gone.set()

    async def _write(self) -> None:
        clock = asyncio.get_running_loop().time
        try:
            while not self._stopped:
                text = await self.outbox.get()
                self.sending_since = clock()
                await self.ws.send_text(text)
                self.sending_since = None
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone: the handler sees it as a disconnect
            self.drop(1006, "")

    def overdue(self, now: float) -> bool:
        return self.sending_since is not None and now - self.sending_since > self.timeout

    async def stop(self) -> None:
        # A cancel can be lost when it lands just as a send completes (asyncio before 3.12):
        # hence the flag, and a cancel repeated until the writer is really done.
        self._stopped = True
        writer = self.writer
        while writer is not None and not writer.done():
            writer.cancel()
            await asyncio.wait({writer}, timeout=0.5)


class ConnectionManager:
    """Rooms of peers. `broadcast` serializes once and never waits on a socket."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[int, Peer]] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._tick = 0.25

    def add(self, room: str, peer: Peer) -> None:
        peer.room = room
        self.rooms.setdefault(room, {})[id(peer)] = peer
        peer.start()
        self._tick = min(self._tick, peer.timeout / 4)
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        """Drop every peer whose send has been pending longer than its timeout."""
        loop = asyncio.get_running_loop()
        while self.rooms:
            await asyncio.sleep(self._tick)
            now = loop.time()
            for members in list(self.rooms.values()):
                for peer in list(members.values()):
                    if peer.overdue(now) and not peer.gone.is_set():
                        peer.drop(CLOSE_POLICY, f"too slow: a send took over {peer.timeout:g}s")
                        if peer.writer is not None:
                            peer.writer.cancel()

    async def remove(self, peer: Peer) -> None:
        members = self.rooms.get(peer.room)
        if members is not None:
            members.pop(id(peer), None)
            if not members:
                del self.rooms[peer.room]
        await peer.stop()

    def count(self, room: str) -> int:
        return len(self.rooms.get(room, {}))

    async def close_all(self, code: int, reason: str, wait: float = 1.0) -> None:
        """Every peer told to go with `code`, waiting a little for their handlers to close."""
        for members in list(self.rooms.values()):
            for peer in list(members.values()):
                peer.drop(code, reason)
        clock = asyncio.get_running_loop().time
        deadline = clock() + wait
        while self.rooms and clock() < deadline:
            await asyncio.sleep(0.01)

    def broadcast(self, room: str, message: dict[str, Any] | str) -> int:
        text = message if isinstance(message, str) else json.dumps(message)
        delivered = 0
        for peer in list(self.rooms.get(room, {}).values()):  # a copy: peers may leave meanwhile
            delivered += peer.push(text)
        return delivered

    async def broadcast_sequential(self, room: str, message: dict[str, Any] | str) -> int:
        """The naive way (one await per socket, in turn): kept only as the benchmark's baseline."""
        text = message if isinstance(message, str) else json.dumps(message)
        for peer in list(self.rooms.get(room, {}).values()):
            await peer.ws.send_text(text)
        return self.count(room)


# ---- the classroom -------------------------------------------------------------------------


@dataclass
class Seat:
    name: str
    joined: float
    peer: Peer | None = None
    checking: bool = False


@dataclass
class Spread:
    answer: str
    count: int
    correct: bool | None = None


def clean_name(raw: Any) -> str:
    try:
        return check_name(raw)
    except ValueError as exc:
        raise Refused(CLOSE_POLICY, str(exc)) from None


@dataclass
class Classroom:
    """The state of one session on the host, mirrored in the store as it changes."""

    material: Material
    store: ClassroomStore
    session: Session
    join_url: str = ""
    manager: ConnectionManager = field(default_factory=ConnectionManager)
    sequential: bool = False  # the benchmark's naive baseline

    def __post_init__(self) -> None:
        self.items: tuple[Item, ...] = self.material.items
        self.index = self.session.current
        if self.material.mode == "exercise" and self.index < 0:
            self.index = 0
        self.ended = self.session.ended is not None
        self.seats: dict[str, Seat] = {
            name: Seat(name, joined) for name, joined in self.store.seats(self.session.id)
        }
        self.revealed: set[str] = self.store.revealed(self.session.id)
        self.answers: dict[str, dict[str, Answer]] = {}
        for answer in self.store.answers(self.session.id):
            self.answers.setdefault(answer.item, {})[answer.student] = answer
        self.checks: dict[str, CheckRow] = self.store.best_checks(self.session.id)
        self.attempts: dict[str, int] = self.store.check_counts(self.session.id)
        self.keys: dict[str, str] = {}
        self._groups: dict[tuple[str, str], str] = {}  # (item, student) -> the spread's bar
        self._observations: dict[str, asyncio.Task[Any]] = {}
        self._wrong_codes: dict[str, deque[float]] = {}
        self._board_pending = False
        self._check_slots: asyncio.Semaphore | None = None
        self._background: set[asyncio.Task[Any]] = set()

    def channel(self, name: str) -> str:
        """A room of the manager: students, board, board-private or teacher, of this session."""
        return f"{self.session.id}/{name}"

    # ---- what is on screen

    @property
    def current(self) -> Item | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def question_message(self) -> dict[str, Any] | None:
        item = self.current
        if item is None:
            return None
        bundle, withheld = split_bundle(self.material.bundle(item.id))
        message: dict[str, Any] = {
            "type": "question",
            "index": self.index,
            "total": len(self.items),
            "item": item.public(),
            "bundle": bundle,
            "revealed": item.id in self.revealed,
        }
        if item.id in self.revealed:  # a student who joins after the reveal gets what it told
            message.update(self.revelation(item))
            message["withheld"] = withheld
        return message

    def revelation(self, item: Item) -> dict[str, Any]:
        """What a reveal tells students: the key (once known), where it comes from, and why."""
        return {
            "key": self.keys.get(item.id),
            "stored": item.kind == "concept",
            "explanation": self.material.explanation(item.id),
        }

    def group_of(self, answer: Answer) -> str:
        """The bar an answer counts under: answers the judge takes as one are one bar."""
        at = (answer.item, answer.student)
        if at not in self._groups:
            self._groups[at] = self.material.group(
                answer.item, answer.answer, answer.correct, answer.observed
            )
        return self._groups[at]

    def spread(self, item: Item) -> list[Spread]:
        given = self.answers.get(item.id, {})
        counts = Counter(self.group_of(a) for a in given.values())
        right = {self.group_of(a) for a in given.values() if a.correct}
        key = set(re.findall(r"\b[A-J]\b", self.keys.get(item.id, "").upper()))
        rows = [
            Spread(letter, counts.pop(letter, 0), letter in right or letter in key)
            for letter, _ in item.options
        ]
        rows += [Spread(answer, n, answer in right) for answer, n in counts.most_common()]
        return rows

    def check_spread(self) -> list[Spread]:
        names = self.material.check_names
        passed = Counter(
            r["name"] for row in self.checks.values() for r in row.results if r.get("passed")
        )
        return [Spread(name, passed.get(name, 0), True) for name in names]

    def snapshot(self, private: bool) -> dict[str, Any]:
        item = self.current
        revealed = item is not None and item.id in self.revealed
        show = private or revealed
        students = []
        for seat in self.seats.values():
            row: dict[str, Any] = {"name": seat.name, "online": seat.peer is not None}
            if self.material.mode == "quiz":
                mine = [self.answers.get(i.id, {}).get(seat.name) for i in self.items]
                counted = [
                    a for a in mine if a is not None and (private or a.item in self.revealed)
                ]
                row["answered"] = sum(a is not None for a in mine)
                row["correct"] = sum(a.correct for a in counted)
                current = self.answers.get(item.id, {}).get(seat.name) if item else None
                row["done"] = current is not None
                if show and current is not None:
                    row["answer"] = self.group_of(current)
                    row["right"] = current.correct
            else:
                best = self.checks.get(seat.name)
                row["done"] = best is not None and best.passed
                if private:  # the projector shows who is done, never a student's score
                    row["attempts"] = self.attempts.get(seat.name, 0)
                    if best is not None:
                        row["score"], row["max_score"] = best.score, best.max_score
            students.append(row)
        data: dict[str, Any] = {
            "type": "board",
            "title": self.material.title,
            "mode": self.material.mode,
            "session": self.session.id,
            "code": self.session.code,
            "join": self.join_url,
            "ended": self.ended,
            "private": private,
            "total": len(self.items),
            "index": self.index,
            "question": item.public() if item else None,
            "joined": len(self.seats),
            "online": sum(s.peer is not None for s in self.seats.values()),
            "students": students,
            "revealed": revealed,
            "key": self.keys.get(item.id) if item and show else None,
        }
        if self.material.mode == "quiz":
            data["answered"] = len(self.answers.get(item.id, {})) if item else 0
            data["spread"] = (
                [
                    {"answer": s.answer, "count": s.count, "correct": s.correct}
                    for s in self.spread(item)
                ]
                if item and show
                else None
            )
        else:
            data["answered"] = sum(1 for row in self.checks.values() if row.passed)
            data["spread"] = [
                {"answer": s.answer, "count": s.count, "correct": True} for s in self.check_spread()
            ]
        return data

    # ---- changes

    def changed(self) -> None:
        """Something on the board changed: send both boards, coalesced."""
        if self._board_pending:
            return
        self._board_pending = True
        asyncio.get_running_loop().call_later(BOARD_DELAY, self._flush_board)

    def _flush_board(self) -> None:
        self._board_pending = False
        if self.manager.count(self.channel("board")):
            self.manager.broadcast(self.channel("board"), self.snapshot(private=False))
        teachers, own = self.channel("teacher"), self.channel("board-private")
        if self.manager.count(teachers) or self.manager.count(own):
            private = self.snapshot(private=True)
            self.manager.broadcast(teachers, private)
            self.manager.broadcast(own, private)

    def _notify(self, kind: str, data: dict[str, Any]) -> None:
        self.manager.broadcast(self.channel("teacher"), {"type": "event", "event": kind, **data})

    def _in_background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)  # held: the loop keeps only weak references to tasks
        task.add_done_callback(self._background.discard)

    def _send_students(self, message: dict[str, Any]) -> None:
        if self.sequential:
            self._in_background(
                self.manager.broadcast_sequential(self.channel("students"), message)
            )
        else:
            self.manager.broadcast(self.channel("students"), message)

    def push(self, index: int) -> None:
        if self.ended:
            raise Refused(CLOSE_POLICY, "the session has ended")
        if not 0 <= index < len(self.items):
            raise UsageError(f"there is no question {index + 1} (1 to {len(self.items)})")
        self.index = index
        self.store.set_current(self.session.id, index)
        item = self.items[index]
        if self.material.mode == "quiz" and item.id not in self.keys:
            if item.id in self.revealed:  # revealed before a restart: it goes with its key
                self._in_background(self._push_when_known(index))
                self._notify("push", {"index": index, "item": item.id})
                self.changed()
                return
            self._in_background(self._learn_key(item.id))
        self._send_question()
        self._notify("push", {"index": index, "item": item.id})
        self.changed()

    def _send_question(self) -> None:
        message = self.question_message()
        assert message is not None
        message["at"] = time.time()
        self._send_students(message)

    async def _push_when_known(self, index: int) -> None:
        with contextlib.suppress(Exception):  # unknown still: said as at any reveal
            await self.key(self.items[index].id)
        if self.index == index:  # the teacher has not moved on meanwhile
            self._send_question()
            self.changed()

    async def reveal(self) -> None:
        item = self.current
        if item is None or self.material.mode != "quiz":
            raise UsageError("there is no question to reveal: push one first (next)")
        key = await self.key(item.id)
        self.revealed.add(item.id)
        self.store.reveal(self.session.id, item.id)
        spread = [
            {"answer": s.answer, "count": s.count, "correct": s.correct} for s in self.spread(item)
        ]
        _, withheld = split_bundle(self.material.bundle(item.id))
        self.manager.broadcast(
            self.channel("students"),
            {
                "type": "reveal",
                "item": item.id,
                **self.revelation(item),
                "key": key,
                "spread": spread,
                "withheld": withheld,
            },
        )
        self._notify("reveal", {"item": item.id, "key": key})
        self.changed()

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.store.end_session(self.session.id)
            self.manager.broadcast(self.channel("students"), {"type": "ended"})
            self._notify("end", {})
            self.changed()

    def _observation(self, item_id: str) -> asyncio.Task[Any]:
        task = self._observations.get(item_id)
        if task is None or (task.done() and task.exception() is not None):
            task = asyncio.create_task(asyncio.to_thread(self.material.observe, item_id))
            # retrieved here so a failure is reported where it is awaited, not logged as lost
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._observations[item_id] = task
        return task

    async def _learn_key(self, item_id: str) -> None:
        """Observe the question as soon as it is pushed: the teacher's board shows the key."""
        with contextlib.suppress(Exception):  # reported when a student answers or at the reveal
            await self.key(item_id)
            self.changed()

    async def key(self, item_id: str) -> str:
        if item_id not in self.keys:
            observation = await self._observation(item_id)
            self.keys[item_id] = await asyncio.to_thread(self.material.key, item_id, observation)
        return self.keys[item_id]

    # ---- joining

    def join(self, message: dict[str, Any], address: str) -> tuple[Seat, str, bool]:
        """Check the code and the name; return (seat, token, rejoined) or raise Refused."""
        if message.get("type") != "join":
            raise Refused(CLOSE_POLICY, 'join first: {"type": "join", "code", "name"}')
        self._check_code(message.get("code"), address)
        if self.ended:
            raise Refused(CLOSE_ENDED, "this session has ended")
        name = clean_name(message.get("name"))
        token = message.get("token")
        held = self.store.seat_token(self.session.id, name)
        if held is not None:
            from wsquiz.classroom.store import hash_token

            if not isinstance(token, str) or not same(held, hash_token(token)):
                raise Refused(CLOSE_POLICY, f"the name {name!r} is taken in this session")
            seat = self.seats.setdefault(name, Seat(name, time.time()))
            self.store.log(self.session.id, "rejoin", {"name": name})
            return seat, token, True
        if len(self.seats) >= MAX_STUDENTS:
            raise Refused(CLOSE_POLICY, f"the class is full ({MAX_STUDENTS} students)")
        token = secrets.token_urlsafe(18)
        if not self.store.take_seat(self.session.id, name, token):
            raise Refused(CLOSE_POLICY, f"the name {name!r} is taken in this session")
        seat = Seat(name, time.time())
        self.seats[name] = seat
        return seat, token, False

    def _check_code(self, code: Any, address: str) -> None:
        now = time.monotonic()
        recent = self._wrong_codes.setdefault(address, deque())
        while recent and now - recent[0] > 60:
            recent.popleft()
        if len(recent) >= WRONG_CODES_PER_MIN:
            raise Refused(CLOSE_POLICY, "too many wrong join codes: wait a minute")
        given = code.strip().upper() if isinstance(code, str) else ""
        if not same(given, self.session.code):
            recent.append(now)
            raise Refused(CLOSE_POLICY, "wrong join code")

    def welcome(self, seat: Seat, token: str, rejoined: bool) -> dict[str, Any]:
        mine: dict[str, dict[str, Any]] = {}
        for item_id, given in self.answers.items():
            if (a := given.get(seat.name)) is not None:
                mine[item_id] = {"answer": a.answer, "correct": a.correct}
                if item_id in self.revealed:  # the key only once the teacher revealed it
                    mine[item_id]["observed"] = a.observed
        best = self.checks.get(seat.name)
        return {
            "type": "welcome",
            "name": seat.name,
            "token": token,
            "session": self.session.id,
            "mode": self.material.mode,
            "title": self.material.title,
            "rejoined": rejoined,
            "total": len(self.items),
            "answers": mine,
            "revealed": sorted(self.revealed),
            "check": None
            if best is None
            else {
                "passed": best.passed,
                "score": best.score,
                "max_score": best.max_score,
            },
        }

    # ---- what students send

    async def answer(self, seat: Seat, message: dict[str, Any]) -> dict[str, Any]:
        if self.material.mode != "quiz":
            return error("this session is an exercise: send a check")
        item = self.current
        if item is None:
            return error("no question yet: wait for the teacher")
        if message.get("item") != item.id:
            return error(f"the question on screen is {item.id!r}: answers go to it only")
        if item.id in self.revealed:
            return error("answers to this question are closed: the teacher revealed it")
        given = message.get("answer")
        if not isinstance(given, str) or not given.strip() or len(given) > MAX_ANSWER:
            return error(f"an answer is text of 1 to {MAX_ANSWER} characters")
        if seat.name in self.answers.get(item.id, {}):
            return error("you already answered this question: your first answer counts")
        try:
            observation = await self._observation(item.id)
            verdict: HostVerdict = await asyncio.to_thread(
                self.material.judge, item.id, given.strip(), observation
            )
        except WsquizError as exc:
            return error(f"the host could not check this question: {exc.message}")
        except Exception as exc:  # whatever the question's app does, the class goes on
            return error(f"the host could not check this question: {type(exc).__name__}: {exc}")
        self.keys.setdefault(item.id, verdict.observed)
        if item.id in self.revealed:  # revealed while the host was checking
            return error("answers to this question are closed: the teacher revealed it")
        claimed = message.get("correct")
        record = Answer(
            seat.name,
            item.id,
            given.strip(),
            verdict.correct,
            verdict.observed,
            verdict.message,
            time.time(),
        )
        if not self.store.record_answer(
            self.session.id, record, claimed if isinstance(claimed, bool) else None
        ):
            return error("you already answered this question: your first answer counts")
        self.answers.setdefault(item.id, {})[seat.name] = record
        self._notify("answer", {"name": seat.name, "item": item.id, "correct": verdict.correct})
        self.changed()
        # Right or wrong only: the key, the observed value and the explanation wait for the
        # reveal (an early answerer could pass them on, reading the raw WebSocket if need be).
        return {
            "type": "verdict",
            "item": item.id,
            "answer": record.answer,
            "correct": verdict.correct,
        }

    async def check(self, seat: Seat, message: dict[str, Any]) -> dict[str, Any]:
        if self.material.mode != "exercise":
            return error("this session is a quiz: send an answer")
        source = message.get("source")
        if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE:
            return error(f"a check sends the source of your app (up to {MAX_SOURCE} bytes)")
        if seat.checking:
            return error("your previous check is still running")
        if self._check_slots is None:
            self._check_slots = asyncio.Semaphore(CHECK_SLOTS)
        seat.checking = True
        try:
            async with self._check_slots:
                outcome = await asyncio.to_thread(
                    self.material.verify, source, seat.name, message.get("file")
                )
        except Exception as exc:  # the sandbox failed, not the student: say so, keep hosting
            return error(f"the host could not run the checks: {type(exc).__name__}: {exc}")
        finally:
            seat.checking = False
        item = self.items[0]
        row = CheckRow(
            seat.name,
            item.id,
            outcome.passed,
            outcome.score,
            outcome.max_score,
            outcome.results,
            outcome.error,
            time.time(),
        )
        self.store.record_check(self.session.id, row)
        self.attempts[seat.name] = self.attempts.get(seat.name, 0) + 1
        best = self.checks.get(seat.name)
        if best is None or row.score >= best.score:
            self.checks[seat.name] = row
        self._notify(
            "check",
            {
                "name": seat.name,
                "score": row.score,
                "max_score": row.max_score,
                "passed": row.passed,
            },
        )
        self.changed()
        return {
            "type": "checked",
            "passed": outcome.passed,
            "score": outcome.score,
            "max_score": outcome.max_score,
            "checks": outcome.results,
            "error": outcome.error,
        }

    # ---- the teacher

    async def opened(self) -> None:
        """The host serves: the question on screen (a resumed session's) is observed again at
        once, as after a push, so the teacher's board shows its key."""
        item = self.current
        if self.material.mode == "quiz" and item is not None and item.id not in self.keys:
            self._in_background(self._learn_key(item.id))

    async def settled(self, wait: float = 2.0) -> None:
        """Wait (a little) until no teacher is connected: what a board sent before it left is
        then handled (piped commands: an `e` and the end of input come together)."""
        clock = asyncio.get_running_loop().time
        deadline = clock() + wait
        while self.manager.count(self.channel("teacher")) and clock() < deadline:
            await asyncio.sleep(0.01)

    def kept(self) -> str:
        """What the session holds so far, said when it resumes."""
        if self.material.mode == "exercise":
            return f"{sum(self.attempts.values())} check run(s)"
        return f"{sum(len(given) for given in self.answers.values())} answer(s)"

    async def command(self, message: dict[str, Any]) -> dict[str, Any]:
        kind = message.get("type")
        try:
            if self.material.mode == "exercise" and kind in ("next", "prev", "push", "reveal"):
                return error(f"{kind}: an exercise session has one exercise; commands: end")
            if kind == "next":
                self.push(min(self.index + 1, len(self.items) - 1))
            elif kind == "prev":
                self.push(max(self.index - 1, 0))
            elif kind == "push":
                index = message.get("index")
                if not isinstance(index, int):
                    return error("push needs an index (0-based)")
                self.push(index)
            elif kind == "reveal":
                await self.reveal()
            elif kind == "end":
                self.end()
            else:
                return error("commands: next, prev, push {index}, reveal, end")
        except WsquizError as exc:
            return error(exc.message)
        except Refused as exc:
            return error(exc.reason)
        except Exception as exc:  # a live observation that failed: say so, keep hosting
            return error(f"{kind} failed: {type(exc).__name__}: {exc}")
        # Every command gets one reply: this, or an error. A board whose input ended (a piped
        # `e`) waits for it before it leaves, so what the command did is seen.
        return {"type": "done", "command": kind}

    # ---- export

    def results(self) -> list[Any]:
        """Per student, in the `wsquiz grade` shape (gradebook.StudentResult)."""
        from wsquiz.grading.gradebook import CheckOutcome, StudentResult

        results = []
        for name in self.seats:
            if self.material.mode == "quiz":
                checks = []
                for item in self.items:
                    given = self.answers.get(item.id, {}).get(name)
                    source = "the answer is" if item.kind == "concept" else ("the live server gave")
                    message = (
                        "no answer"
                        if given is None
                        else f"answered {given.answer!r}; {source} {given.observed!r}"
                    )
                    ok = given is not None and given.correct
                    checks.append(CheckOutcome(item.id, ok, 1.0 if ok else 0.0, 1.0, message))
                score = sum(c.points for c in checks)
                results.append(StudentResult(name, score, float(len(self.items)), tuple(checks)))
            else:
                best = self.checks.get(name)
                max_score = self.material.max_score
                if best is None:
                    results.append(StudentResult(name, 0.0, max_score, (), "no check submitted"))
                    continue
                checks = [
                    CheckOutcome(
                        str(r["name"]),
                        bool(r["passed"]),
                        float(r["points"]),
                        float(r["max_points"]),
                        str(r.get("message", "")),
                    )
                    for r in best.results
                ]
                results.append(
                    StudentResult(name, best.score, best.max_score, tuple(checks), best.error)
                )
        return results

    # ---- the app

    def app(self) -> FastAPI:
        return build_app(self)


def same(given: str, secret: str) -> bool:
    """Compare in constant time; any text (compare_digest refuses non-ASCII str)."""
    return secrets.compare_digest(given.encode("utf-8", "replace"), secret.encode())


def error(message: str) -> dict[str, Any]:
    return {"type": "error", "message": message}


async def receive_message(ws: WebSocket, bucket: Bucket) -> dict[str, Any] | None:
    """The next JSON object from a client, None when it left; Refused for a breach of limits."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        raise Refused(CLOSE_UNSUPPORTED, "send JSON text frames only")
    if len(text) > MAX_MESSAGE:
        raise Refused(CLOSE_TOO_BIG, f"message over {MAX_MESSAGE} bytes")
    if not bucket.take():
        raise Refused(CLOSE_POLICY, "too many messages: slow down")
    try:
        data = json.loads(text)
    except ValueError:
        return {"type": "invalid", "message": "not JSON"}
    if not isinstance(data, dict):
        return {"type": "invalid", "message": "send a JSON object"}
    return data


async def close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        short = reason.encode()[:123].decode("utf-8", "ignore")  # a close reason: <= 123 bytes
        await asyncio.wait_for(ws.close(code, short), 2)


def build_app(room: Classroom) -> FastAPI:
    from fastapi.responses import HTMLResponse, PlainTextResponse

    app = FastAPI(title="wsquiz classroom", docs_url=None, redoc_url=None, openapi_url=None)
    board_html = (STATIC / "board.html").read_text(encoding="utf-8")

    @app.get("/", response_class=PlainTextResponse)
    async def index() -> str:
        return (
            f"wsquiz classroom: {room.material.title}\n"
            f"join: wsquiz classroom join {room.join_url} --name YOUR_NAME\n"
            f"board: {room.join_url}/board\n"
        )

    @app.get("/board", response_class=HTMLResponse)
    async def board_page() -> str:
        return board_html

    @app.websocket("/ws/student")
    async def student(ws: WebSocket) -> None:
        await ws.accept()
        bucket = Bucket()
        address = ws.client.host if ws.client else "?"
        try:
            hello = await asyncio.wait_for(receive_message(ws, bucket), JOIN_TIMEOUT)
            if hello is None:
                return
            seat, token, rejoined = room.join(hello, address)
        except WsquizError as exc:  # the store could not record the seat
            await close(ws, 1011, exc.message)
            return
        except asyncio.TimeoutError:
            await close(ws, CLOSE_POLICY, f"join within {JOIN_TIMEOUT:g}s")
            return
        except Refused as exc:
            await close(ws, exc.code, exc.reason)
            return
        peer = Peer(ws)
        previous, seat.peer = seat.peer, peer
        if previous is not None:
            previous.drop(CLOSE_REPLACED, "you joined again from another connection")
        room.manager.add(room.channel("students"), peer)
        peer.push(json.dumps(room.welcome(seat, token, rejoined)))
        question = room.question_message()
        if question is not None and question["revealed"] and question["key"] is None:
            # revealed before a host restart: the key is observed again, not left out
            with contextlib.suppress(Exception):
                question["key"] = await room.key(question["item"]["id"])
        if question is not None:
            peer.push(json.dumps(question))
        room._notify("join", {"name": seat.name, "rejoined": rejoined})
        room.changed()
        try:
            code, reason = await _serve_peer(peer, ws, bucket, seat, room)
        finally:
            await room.manager.remove(peer)
            if seat.peer is peer:
                seat.peer = None
                room._notify("leave", {"name": seat.name})
                room.changed()
        if code is not None:
            await close(ws, code, reason)

    @app.websocket("/ws/board")
    async def board(ws: WebSocket) -> None:
        await ws.accept()
        key = ws.query_params.get("key")
        private = key is not None and same(key, room.session.host_key)
        if key is not None and not private:
            await close(ws, CLOSE_POLICY, "wrong board key")
            return
        channel = room.channel("board-private" if private else "board")
        await _watch(ws, room, channel, private, commands=False)

    @app.websocket("/ws/teacher")
    async def teacher(ws: WebSocket) -> None:
        await ws.accept()
        key = ws.query_params.get("key") or ""
        if not same(key, room.session.host_key):
            await close(ws, CLOSE_POLICY, "wrong host key")
            return
        await _watch(ws, room, room.channel("teacher"), True, commands=True)

    return app


async def _serve_peer(
    peer: Peer, ws: WebSocket, bucket: Bucket, seat: Seat, room: Classroom
) -> tuple[int | None, str]:
    """Read a student's messages until they leave, break a limit, or are dropped."""

    async def read() -> tuple[int | None, str]:
        while True:
            try:
                message = await receive_message(ws, bucket)
            except Refused as exc:
                return exc.code, exc.reason
            if message is None:
                return None, ""
            kind = message.get("type")
            if kind == "answer":
                reply = await room.answer(seat, message)
            elif kind == "check":
                reply = await room.check(seat, message)
            elif kind == "ping":
                reply = {"type": "pong"}
            elif kind == "invalid":
                reply = error(str(message.get("message")))
            else:
                reply = error("a student sends answer, check or ping")
            peer.push(json.dumps(reply))

    reading = asyncio.create_task(read())
    gone = asyncio.create_task(peer.gone.wait())
    try:
        await asyncio.wait({reading, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if reading.done():
        return reading.result()
    reading.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await reading
    return (peer.close_code if peer.close_code != 1006 else None), peer.close_reason


async def _watch(
    ws: WebSocket, room: Classroom, channel: str, private: bool, commands: bool
) -> None:
    peer = Peer(ws)
    room.manager.add(channel, peer)
    peer.push(json.dumps(room.snapshot(private)))
    bucket = Bucket()

    async def read() -> tuple[int | None, str]:
        while True:
            try:
                message = await receive_message(ws, bucket)
            except Refused as exc:
                return exc.code, exc.reason
            if message is None:
                return None, ""
            if commands:
                peer.push(json.dumps(await room.command(message)))

    reading = asyncio.create_task(read())
    gone = asyncio.create_task(peer.gone.wait())
    try:
        await asyncio.wait({reading, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        await room.manager.remove(peer)
    code, reason = (None, "")
    if reading.done():
        code, reason = reading.result()
    else:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reading
        code, reason = peer.close_code, peer.close_reason
    if code is not None and code != 1006:
        await close(ws, code, reason)
