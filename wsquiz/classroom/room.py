"""The room: one session's state on the host and its rules (who sits, what is on screen, what
an answer or a check counts for, what the teacher's commands do), mirrored in the store as it
changes. What the boards are sent is built in `feed.py`, the web routes are in `app.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

from wsquiz.classroom.broadcast import ConnectionManager, Peer
from wsquiz.classroom.material import HostVerdict, Material, MaterialItem, split_bundle
from wsquiz.classroom.protocol import (
    ANSWER_OR_CHECK,
    CLOSE_ENDED,
    CLOSE_POLICY,
    CLOSE_REMOVED,
    CLOSE_REPLACED,
    AnswerMessage,
    CheckMessage,
    Invalid,
    error,
    parse,
    parse_join,
    refusal,
    same,
)
from wsquiz.classroom.seats import MAX_STUDENTS, Admission, Seat, SeatLimits
from wsquiz.classroom.store import CheckRow, ClassroomStore, ClassSession, StudentAnswer, hash_token
from wsquiz.classroom.text import literal, name_key
from wsquiz.errors import UsageError, WsquizError

BOARD_DELAY = 0.02  # board updates are coalesced over this many seconds
MAX_BOARDS = 32  # public board connections (projectors, the odd phone)
BOARD_IDLE = 90.0  # a public board that sends nothing (the page pings) this long is closed
Feedback = Literal["reveal", "instant"]


@dataclass
class Classroom:
    """The state of one session on the host, mirrored in the store as it changes."""

    material: Material
    store: ClassroomStore
    session: ClassSession
    join_url: str = ""
    manager: ConnectionManager = field(default_factory=ConnectionManager)
    sequential: bool = False  # the benchmark's naive baseline
    feedback: Feedback = "reveal"  # when a student learns right/wrong; "instant" for practice
    show_code: bool = False  # the join code on the public board feed (the projector)
    time_limit: float | None = None  # seconds to answer a pushed question
    limits: SeatLimits = field(default_factory=SeatLimits)

    def __post_init__(self) -> None:
        self.items: tuple[MaterialItem, ...] = self.material.items
        self.index = self.session.current
        if self.material.mode == "exercise" and self.index < 0:
            self.index = 0
        self.ended = self.session.ended is not None
        self.seats: dict[str, Seat] = {}
        self.named: dict[str, str] = {}  # name_key -> the seat's name
        for name, joined in self.store.seats(self.session.id):
            self.seats[name] = Seat(name, joined)
            self.named.setdefault(name_key(name), name)
        self.revealed: set[str] = self.store.revealed(self.session.id)
        self.answers: dict[str, dict[str, StudentAnswer]] = {}
        for answer in self.store.answers(self.session.id):
            self.answers.setdefault(answer.item, {})[answer.student] = answer
        self.checks: dict[str, CheckRow] = self.store.best_checks(self.session.id)
        self.attempts: dict[str, int] = self.store.check_counts(self.session.id)
        self.keys: dict[str, str] = {}
        self.hidden: dict[str, set[str]] = {}  # item -> spread bars the teacher hid
        self.locked = False  # no new seats (rejoins still welcome)
        self.deadline: float | None = None  # time.time() when answers to the current close
        self.admission = Admission(self.limits)
        self._groups: dict[tuple[str, str], str] = {}  # (item, student) -> the spread's bar
        self._observations: dict[str, asyncio.Task[Any]] = {}
        self._board_pending = False
        self.check_slots: asyncio.Semaphore | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._boards_told = False
        self.max_connections = 10**6  # set by the host from its file-descriptor limit
        self.connections = 0

    def channel(self, name: str) -> str:
        """A room of the manager: students, board, board-private or teacher, of this session."""
        return f"{self.session.id}/{name}"

    # ---- what is on screen

    @property
    def current(self) -> MaterialItem | None:
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
            "item": item.public(code=False),
            "bundle": bundle,
            "revealed": item.id in self.revealed,
            "feedback": self.feedback,
        }
        if self.deadline is not None and item.id not in self.revealed:
            message["deadline"] = self.deadline
        if item.id in self.revealed:  # a student who joins after the reveal gets what it told
            message.update(self.revelation(item))
            message["withheld"] = withheld
        return message

    def revelation(self, item: MaterialItem) -> dict[str, Any]:
        """What a reveal tells students: the key (once known), where it comes from, and why."""
        return {
            "key": self.keys.get(item.id),
            "stored": item.kind == "concept",
            "explanation": self.material.explanation(item.id),
        }

    def group_of(self, answer: StudentAnswer) -> str:
        """The bar an answer counts under: answers the judge takes as one are one bar."""
        at = (answer.item, answer.student)
        if at not in self._groups:
            group = self.material.group(answer.item, answer.answer, answer.correct, answer.observed)
            self._groups[at] = literal(group, 200)
        return self._groups[at]

    def forget_group(self, item_id: str, student: str) -> None:
        self._groups.pop((item_id, student), None)

    def snapshot(self, private: bool) -> dict[str, Any]:
        from wsquiz.classroom.feed import snapshot

        return snapshot(self, private)

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
            private = json.dumps(self.snapshot(private=True))
            self.manager.broadcast(teachers, private)
            self.manager.broadcast(own, private)

    def notify(self, kind: str, data: dict[str, Any]) -> None:
        """An event for the teacher's board."""
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

    # ---- public boards

    def board_room(self) -> bool:
        """Whether one more public board may watch; the teacher is told once when none may."""
        if self.manager.count(self.channel("board")) < MAX_BOARDS:
            self._boards_told = False
            return True
        if not self._boards_told:
            self._boards_told = True
            self.notify("limit", {"message": f"{MAX_BOARDS} public boards watch: more refused"})
        return False

    def board_full_reason(self) -> str:
        return f"the board is full ({MAX_BOARDS} screens watch it): close one, then reload"

    def idle_after(self, channel: str) -> float | None:
        return BOARD_IDLE if channel == self.channel("board") else None

    # ---- the questions

    def push(self, index: int) -> None:
        if self.ended:
            raise UsageError("the session has ended")
        if not 0 <= index < len(self.items):
            raise UsageError(f"there is no question {index + 1} (1 to {len(self.items)})")
        self.index = index
        self.store.set_current(self.session.id, index)
        item = self.items[index]
        self.deadline = (
            time.time() + self.time_limit
            if self.time_limit and item.id not in self.revealed
            else None
        )
        if self.material.mode == "quiz" and item.id not in self.keys:
            if item.id in self.revealed:  # revealed before a restart: it goes with its key
                self._in_background(self._push_when_known(index))
                self.notify("push", {"index": index, "item": item.id})
                self.changed()
                return
            self._in_background(self._learn_key(item.id))
        self._send_question()
        self.notify("push", {"index": index, "item": item.id})
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

    def public_spread(self, item: MaterialItem) -> list[dict[str, Any]]:
        from wsquiz.classroom.feed import spread_rows

        return spread_rows(self, item, private=False)

    async def reveal(self) -> None:
        item = self.current
        if item is None or self.material.mode != "quiz":
            raise UsageError("there is no question to reveal: push one first (next)")
        key = await self.key(item.id)
        self.revealed.add(item.id)
        self.deadline = None
        self.store.reveal(self.session.id, item.id)
        _, withheld = split_bundle(self.material.bundle(item.id))
        self.manager.broadcast(
            self.channel("students"),
            {
                "type": "reveal",
                "item": item.id,
                **self.revelation(item),
                "key": key,
                "spread": self.public_spread(item),
                "withheld": withheld,
            },
        )
        if self.feedback == "reveal":  # now each student hears their own right or wrong
            for name, given in self.answers.get(item.id, {}).items():
                seat = self.seats.get(name)
                if seat is not None and seat.peer is not None:
                    seat.peer.push(json.dumps(self._verdict(given, True)))
        self.notify("reveal", {"item": item.id, "key": key})
        self.changed()

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.deadline = None
            self.store.end_session(self.session.id)
            self.manager.broadcast(self.channel("students"), {"type": "ended"})
            self.notify("end", {})
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

    async def join(self, data: dict[str, Any], address: str) -> tuple[Seat, str, bool]:
        """Check the code and the name; (seat, token, rejoined), or a WebSocketException."""
        hello = parse_join(data)
        if not same(hello.given_code, self.session.code):
            delay = self.admission.wrong_code(address)
            if delay:
                if self.admission.first_in_a_minute("codes", address):
                    self.notify(
                        "limit",
                        {
                            "message": f"many wrong join codes from {address}: each further one "
                            f"waits {delay:g}s (the right code still joins at once)"
                        },
                    )
                await asyncio.sleep(delay)
                raise refusal(CLOSE_POLICY, f"too many wrong join codes: each waits {delay:g}s")
            raise refusal(CLOSE_POLICY, "wrong join code")
        if self.ended:
            raise refusal(CLOSE_ENDED, "this session has ended")
        held_name = self.named.get(name_key(hello.name))
        if held_name is not None:
            held = self.store.seat_token(self.session.id, held_name)
            token = hello.token
            if held is None or token is None or not same(held, hash_token(token)):
                raise refusal(CLOSE_POLICY, f"the name {hello.name!r} is taken in this session")
            seat = self.seats.setdefault(held_name, Seat(held_name, time.time()))
            seat.address = address
            self.store.log(self.session.id, "rejoin", {"name": held_name})
            return seat, token, True
        return (*self._new_seat(hello.name, address), False)

    def _new_seat(self, name: str, address: str) -> tuple[Seat, str]:
        if self.locked:
            raise refusal(CLOSE_POLICY, "the teacher has locked joins: ask them to let you in")
        if len(self.seats) >= MAX_STUDENTS:
            raise refusal(CLOSE_POLICY, f"the class is full ({MAX_STUDENTS} students)")
        there = sum(1 for s in self.seats.values() if s.address == address)
        why = self.admission.join_refused(address, there)
        if why is not None:
            if self.admission.first_in_a_minute("joins", address):
                self.notify("limit", {"message": f"joins from {address} held back: {why}"})
            raise refusal(CLOSE_POLICY, why)
        token = secrets.token_urlsafe(18)
        if not self.store.take_seat(self.session.id, name, token):
            raise refusal(CLOSE_POLICY, f"the name {name!r} is taken in this session")
        seat = Seat(name, time.time(), address=address)
        self.seats[name] = seat
        self.named[name_key(name)] = name
        return seat, token

    def seated(self, seat: Seat, peer: Peer, token: str, rejoined: bool) -> None:
        """A student's connection takes its seat (a previous one of the same seat goes)."""
        previous, seat.peer = seat.peer, peer
        if previous is not None:
            previous.drop(CLOSE_REPLACED, "you joined again from another connection")
        self.manager.add(self.channel("students"), peer)
        peer.push(json.dumps(self.welcome(seat, token, rejoined)))
        self.notify("join", {"name": seat.name, "rejoined": rejoined})
        self.changed()

    def left(self, seat: Seat, peer: Peer) -> None:
        if seat.peer is peer:
            seat.peer = None
            self.notify("leave", {"name": seat.name})
            self.changed()

    def welcome(self, seat: Seat, token: str, rejoined: bool) -> dict[str, Any]:
        from wsquiz.classroom.feed import welcome

        return welcome(self, seat, token, rejoined)

    # ---- what students send

    async def from_student(self, seat: Seat, data: dict[str, Any]) -> dict[str, Any]:
        """The reply to one message of a student (an error for what the protocol does not take)."""
        try:
            message = parse(data, ANSWER_OR_CHECK, "a student sends answer, check or ping")
        except Invalid as exc:
            return error(exc.reason)
        if isinstance(message, AnswerMessage):
            return await self.answer(seat, message)
        if isinstance(message, CheckMessage):
            from wsquiz.classroom.checking import check

            return await check(self, seat, message)
        return {"type": "pong"}

    def _verdict(self, given: StudentAnswer, correct: bool) -> dict[str, Any]:
        reply: dict[str, Any] = {"type": "verdict", "item": given.item, "answer": given.answer}
        if correct:
            reply["correct"] = given.correct
        return reply

    async def answer(self, seat: Seat, message: AnswerMessage) -> dict[str, Any]:
        if self.material.mode != "quiz":
            return error("this session is an exercise: send a check")
        item = self.current
        if item is None:
            return error("no question yet: wait for the teacher")
        if message.item != item.id:
            return error(f"the question on screen is {item.id!r}: answers go to it only")
        if item.id in self.revealed:
            return error("answers to this question are closed: the teacher revealed it")
        if self.deadline is not None and time.time() > self.deadline:
            return error("time is up for this question: answers are closed")
        if seat.name in self.answers.get(item.id, {}):
            return error("you already answered this question: your first answer counts")
        given = message.answer
        try:
            observation = await self._observation(item.id)
            verdict: HostVerdict = await asyncio.to_thread(
                self.material.judge, item.id, given, observation
            )
        except WsquizError as exc:
            return error(f"the host could not check this question: {exc.message}")
        except Exception as exc:  # whatever the question's app does, the class goes on
            return error(f"the host could not check this question: {type(exc).__name__}: {exc}")
        self.keys.setdefault(item.id, verdict.observed)
        if item.id in self.revealed:  # revealed while the host was checking
            return error("answers to this question are closed: the teacher revealed it")
        record = StudentAnswer(
            seat.name,
            item.id,
            given,
            verdict.correct,
            verdict.observed,
            verdict.message,
            time.time(),
        )
        if not self.store.record_answer(self.session.id, record, message.correct):
            return error("you already answered this question: your first answer counts")
        self.answers.setdefault(item.id, {})[seat.name] = record
        self.notify("answer", {"name": seat.name, "item": item.id, "correct": verdict.correct})
        self.changed()
        # Right or wrong waits for the reveal (unless the teacher chose instant feedback): a
        # few seats answering every option would learn the key, and pass it on. The key, the
        # observed value and the explanation always wait (read off the raw WebSocket).
        return self._verdict(record, self.feedback == "instant")

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

    async def command(self, data: dict[str, Any]) -> dict[str, Any]:
        """Do one teacher's command; its one reply, `done` or an error (never a close)."""
        from wsquiz.classroom.commands import command

        return await command(self, data)

    def seat_named(self, name: str) -> Seat:
        """The seat of `name` (any case or width), or of its number on the teacher's board."""
        if name.strip().isdigit():
            number = int(name)
            if 1 <= number <= len(self.seats):
                return list(self.seats.values())[number - 1]
        held = self.named.get(name_key(name.strip()))
        if held is None or held not in self.seats:
            raise UsageError(f"no student {name!r} in this session")
        return self.seats[held]

    def remove_peer(self, seat: Seat, code: int, reason: str) -> None:
        if seat.peer is not None:
            seat.peer.drop(code, reason)

    def kicked(self, seat: Seat) -> None:
        self.remove_peer(seat, CLOSE_REMOVED, "the teacher removed you from this class")

    # ---- export

    def results(self) -> list[Any]:
        from wsquiz.classroom.roster import results

        return results(self)

    # ---- the app

    def app(self) -> Any:
        from wsquiz.classroom.app import build_app

        return build_app(self)
