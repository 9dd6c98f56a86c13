"""A room of students with a script (issue 15): each attack is made with raw WebSocket clients,
and each test asserts the class goes on and that nothing leaks that should not."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from websockets.asyncio.client import ClientConnection, connect

from tests.classroom.helpers import (
    WAIT,
    closed_with,
    index_of,
    join,
    next_of,
    run,
    serve_quiz,
    teacher,
)
from tests.support import ROOT
from wsquiz.classroom.host import Host, open_classroom
from wsquiz.classroom.material import QuizMaterial
from wsquiz.classroom.protocol import CLOSE_POLICY, CLOSE_REMOVED, CLOSE_TRY_LATER
from wsquiz.classroom.seats import SeatLimits
from wsquiz.classroom.store import ClassroomStore
from wsquiz.ui.board import board_view

ESCAPES = "\x1b]2;PWNED\x07\x1b[41;97m"
MARKUP = "oops [/] [bold red]x"


@pytest.fixture
def reveal_host(lab: Any, db: Path) -> Iterator[Host]:
    """The host as a teacher runs it: right or wrong only at the reveal."""
    with serve_quiz(lab, db, feedback="reveal") as host:
        yield host


def rendered(board: dict[str, Any], height: int | None = None) -> str:
    console = Console(record=True, width=120, height=35, no_color=True, force_terminal=True)
    console.print(board_view(board, height=height, width=120))
    return console.export_text()


async def class_goes_on(host: Host, name: str = "latecomer") -> None:
    """A new student joins and the teacher's commands still work."""
    ws, welcome = await join(host, name)
    assert welcome["type"] == "welcome", welcome
    boss = await teacher(host)
    await boss.send(json.dumps({"type": "push", "index": 0}))
    assert (await next_of(boss, "done"))["command"] == "push"
    assert (await next_of(ws, "question", lambda q: q["index"] == 0))["index"] == 0
    await ws.close()
    await boss.close()


def test_markup_and_escapes_in_answers_never_reach_a_screen(lab: Any, db: Path) -> None:
    host = serve_quiz(lab, db, feedback="reveal").start()
    room = host.room
    echo = index_of(room, "echo-reply")

    async def scenario() -> None:
        boss = await teacher(host)
        await boss.send(json.dumps({"type": "push", "index": echo}))
        students = []
        for name, answer in (("mallory", MARKUP), ("eve", ESCAPES + "hello")):
            ws, _ = await join(host, name)
            await next_of(ws, "question")
            await ws.send(json.dumps({"type": "answer", "item": "echo-reply", "answer": answer}))
            await next_of(ws, "verdict")
            students.append(ws)
        private = await next_of(boss, "board", lambda b: b["answered"] == 2)
        text = rendered(private, height=35)
        assert "\x1b]2" not in text and "\x07" not in text
        assert "[/]" in text and "\\x1b]2;PWNED\\x07" in text  # shown, literally
        await boss.send(json.dumps({"type": "reveal"}))
        for ws in students:
            reveal = await next_of(ws, "reveal")
            assert "\x1b" not in json.dumps(reveal, ensure_ascii=False)
            assert "\\x1b" in json.dumps(reveal, ensure_ascii=False)
            await ws.close()
        await boss.close()

    try:
        run(scenario())
    finally:
        host.stop()
    # the stored answers never stop a host from resuming, nor its board from drawing
    room, resumed = open_classroom(QuizMaterial(ROOT, "basics", lab), ClassroomStore(db))
    assert resumed
    for private in (True, False):
        text = rendered(room.snapshot(private))
        assert "\x1b]" not in text
    with Host(room) as again:
        run(class_goes_on(again))


def test_a_teacher_holding_a_key_never_ends_the_board(quiz_host: Host) -> None:
    async def scenario() -> None:
        student, _ = await join(quiz_host, "alice")
        boss = await teacher(quiz_host)
        for n in range(150):  # key repeat, far past a student's 30-message burst
            await boss.send(json.dumps({"type": "next" if n % 3 else "prev"}))
        replies = 0
        while replies < 150:
            message = json.loads(await asyncio.wait_for(boss.recv(), WAIT))
            replies += message["type"] in ("done", "error")
        await boss.send(json.dumps({"type": "move", "by": -99}))
        assert (await next_of(boss, "done"))["command"] == "move"
        assert quiz_host.room.index == 0
        assert (await next_of(student, "question", lambda q: q["index"] == 0))["index"] == 0
        await student.close()
        await boss.close()

    run(scenario())


def test_the_public_board_shows_only_what_a_projector_may(reveal_host: Host) -> None:
    room = reveal_host.room
    echo = index_of(room, "echo-reply")

    async def scenario() -> None:
        projector = await connect(f"ws://127.0.0.1:{reveal_host.port}/ws/board")
        first = await next_of(projector, "board")
        assert first["code"] is None and room.session.code not in json.dumps(first)
        boss = await teacher(reveal_host)
        await boss.send(json.dumps({"type": "push", "index": echo}))
        alice, _ = await join(reveal_host, "alice")
        await next_of(alice, "question")
        await alice.send(json.dumps({"type": "answer", "item": "echo-reply", "answer": "x y"}))
        await next_of(alice, "verdict")
        await boss.send(json.dumps({"type": "reveal"}))
        board = await next_of(projector, "board", lambda b: b["revealed"])
        assert board["spread"] and board["code"] is None
        assert all(set(s) == {"name", "online", "done"} for s in board["students"])
        assert "leaderboard" not in board
        private = await next_of(boss, "board", lambda b: b["revealed"])
        assert private["code"] == room.session.code and "answer" in private["students"][0]
        room.show_code = True  # the teacher chose to show it (--show-code)
        await boss.send(json.dumps({"type": "end"}))
        board = await next_of(projector, "board", lambda b: b["ended"])
        assert board["code"] == room.session.code
        assert board["leaderboard"] == [] or board["leaderboard"][0]["name"] == "alice"
        for ws in (alice, boss, projector):
            await ws.close()

    run(scenario())


def test_a_flood_of_boards_is_refused_past_the_cap_and_idle_ones_close(
    quiz_host: Host, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wsquiz.classroom import room as room_module

    monkeypatch.setattr(room_module, "MAX_BOARDS", 5)
    monkeypatch.setattr(room_module, "BOARD_IDLE", 1.0)

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        url = f"ws://127.0.0.1:{quiz_host.port}/ws/board"
        boards: list[ClientConnection] = []
        for _ in range(5):
            ws = await connect(url)
            await next_of(ws, "board")
            boards.append(ws)
        extra = await connect(url)
        code, reason = await closed_with(extra)
        assert code == CLOSE_TRY_LATER and "the board is full" in reason
        told = await next_of(boss, "event", lambda e: e["event"] == "limit")
        assert "public boards" in told["message"]
        for ws in boards:  # they never pinged: closed as idle, and room for new ones again
            assert await closed_with(ws) == (1000, "idle: reload the page to watch again")
        fresh = await connect(url)
        await next_of(fresh, "board")
        await fresh.close()
        await boss.close()
        await class_goes_on(quiz_host)

    run(scenario())


def test_a_seat_flood_is_capped_the_teacher_told_and_seats_removable(quiz_host: Host) -> None:
    room = quiz_host.room
    room.admission.limits = SeatLimits(seats_per_address=4, joins_per_minute=100)

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        fakes = []
        for n in range(4):
            ws, welcome = await join(quiz_host, f"fake{n}")
            assert welcome["type"] == "welcome"
            fakes.append(ws)
        ws, _ = await join(quiz_host, "fake4")
        code, reason = await closed_with(ws)
        assert code == CLOSE_POLICY and "the most one address may have" in reason
        told = await next_of(boss, "event", lambda e: e["event"] == "limit")
        assert "127.0.0.1" in told["message"]
        await boss.send(json.dumps({"type": "kick", "name": "FAKE0"}))  # any case
        assert (await next_of(boss, "done"))["command"] == "kick"
        assert (await closed_with(fakes[0]))[0] == CLOSE_REMOVED
        await boss.send(json.dumps({"type": "rename", "name": "1", "to": "Real Name"}))
        await next_of(boss, "done")
        assert (await next_of(fakes[1], "renamed"))["name"] == "Real Name"
        await boss.send(json.dumps({"type": "lock"}))
        await next_of(boss, "done")
        ws, _ = await join(quiz_host, "another")
        assert "locked joins" in (await closed_with(ws))[1]
        await boss.send(json.dumps({"type": "unlock"}))
        await next_of(boss, "done")
        for ws in fakes[1:]:
            await ws.close()
        await boss.close()

    run(scenario())
    assert list(room.seats) == ["Real Name", "fake2", "fake3"]
    assert [name for name, _ in room.store.seats(room.session.id)] == list(room.seats)
    room.admission.limits = SeatLimits()
    run(class_goes_on(quiz_host))


def test_the_right_code_joins_and_rejoins_while_one_address_guesses(quiz_host: Host) -> None:
    room = quiz_host.room
    room.admission.limits = SeatLimits(wrong_codes_per_minute=5, wrong_code_delay=0.2)

    async def scenario() -> None:
        ada, welcome = await join(quiz_host, "ada")
        token = welcome["token"]
        await ada.close()
        guesses = await asyncio.gather(
            *(join(quiz_host, f"g{n}", code=f"BAD{n:03d}") for n in range(20))
        )
        for ws, _ in guesses:
            assert (await closed_with(ws))[0] == CLOSE_POLICY
        ws, again = await join(quiz_host, "ada", token=token)  # a rejoin, from that address
        assert again["rejoined"] is True
        bob, welcome = await join(quiz_host, "bob")
        assert welcome["type"] == "welcome"
        for one in (ws, bob):
            await one.close()

    run(scenario())
    assert room.admission.wrong_codes("127.0.0.1") == 20


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ada", "taken"),
        ("ＡＤＡ", "taken"),  # fullwidth
        ("Ada ", "taken"),
        ("\u0410da", "one alphabet"),  # Cyrillic A, Latin da
        ("\u3164", "invisible"),  # a Hangul filler: a blank row
        ("x\u3164", "invisible"),
        ("A\u200bda", "only"),  # a zero-width space
    ],
    ids=["case", "fullwidth", "space", "cyrillic", "filler", "filler-inside", "zero-width"],
)
def test_names_that_read_the_same_are_one_name(quiz_host: Host, name: str, why: str) -> None:
    async def scenario() -> None:
        ada, _ = await join(quiz_host, "Ada")
        ws, _ = await join(quiz_host, name)
        code, reason = await closed_with(ws)
        assert code == CLOSE_POLICY and why in reason, reason
        await ada.close()
        await class_goes_on(quiz_host)

    run(scenario())
    assert list(quiz_host.room.seats) == ["Ada", "latecomer"]


def test_seats_answering_every_option_learn_nothing_before_the_reveal(reveal_host: Host) -> None:
    room = reveal_host.room
    material = room.material
    assert isinstance(material, QuizMaterial)
    concept = next(q for q in material.quiz.questions if q.kind == "concept")
    right = next(o.letter for o in concept.options if o.correct)

    async def scenario() -> None:
        boss = await teacher(reveal_host)
        projector = await connect(f"ws://127.0.0.1:{reveal_host.port}/ws/board")
        seats = []
        for option in concept.options:
            ws, _ = await join(reveal_host, f"probe-{option.letter}")
            seats.append((ws, option.letter))
        await boss.send(json.dumps({"type": "push", "index": index_of(room, concept.id)}))
        heard: list[dict[str, Any]] = []
        for ws, letter in seats:
            heard.append(await next_of(ws, "question"))
            await ws.send(json.dumps({"type": "answer", "item": concept.id, "answer": letter}))
            verdict = await next_of(ws, "verdict")
            assert set(verdict) == {"type", "item", "answer"}  # no right or wrong yet
            heard.append(verdict)
        board = await next_of(projector, "board", lambda b: b["answered"] == len(seats))
        assert board["spread"] is None and board["key"] is None
        assert all(set(s) == {"name", "online", "done"} for s in board["students"])
        assert all("correct" not in m and m.get("key") is None for m in heard)
        await boss.send(json.dumps({"type": "reveal"}))
        for ws, letter in seats:
            await next_of(ws, "reveal")
            mine = await next_of(ws, "verdict")
            assert mine["correct"] is (letter == right)
            await ws.close()
        await projector.close()
        await boss.close()

    run(scenario())


def test_a_time_limit_closes_answers_and_the_last_question_is_not_pushed_again(
    quiz_host: Host,
) -> None:
    room = quiz_host.room
    room.time_limit = 1.0

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        alice, _ = await join(quiz_host, "alice")
        last = len(room.items) - 1
        await boss.send(json.dumps({"type": "push", "index": last}))
        question = await next_of(alice, "question")
        assert question["deadline"] > 0
        board = await next_of(boss, "board", lambda b: b["index"] == last)
        assert 0 < board["remaining"] <= 1.0
        await asyncio.sleep(1.2)
        item = question["item"]["id"]
        await alice.send(json.dumps({"type": "answer", "item": item, "answer": "A"}))
        assert "time is up" in (await next_of(alice, "error"))["message"]
        await boss.send(json.dumps({"type": "next"}))  # Enter on the last question
        assert "last question" in (await next_of(boss, "error"))["message"]
        await alice.close()
        await boss.close()

    run(scenario())
