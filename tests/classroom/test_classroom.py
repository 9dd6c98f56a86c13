"""The live classroom against real servers: a host under uvicorn, several WebSocket students."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.classroom.helpers import (
    WAIT,
    Typist,
    _Broken,
    _Socket,
    closed_with,
    expect_terminal_restored,
    index_of,
    join,
    next_of,
    nothing_within,
    run,
    serve_quiz,
    spawn_host_in_a_terminal,
    student_client,
    teacher,
    until_printed,
)
from tests.support import ROOT
from wsquiz.classroom.broadcast import ConnectionManager, Peer
from wsquiz.classroom.host import GOING_AWAY, Host, open_classroom
from wsquiz.classroom.material import ExerciseMaterial, QuizMaterial
from wsquiz.classroom.protocol import CLOSE_POLICY, CLOSE_TOO_BIG, MAX_MESSAGE
from wsquiz.classroom.store import ClassroomStore
from wsquiz.cli import app
from wsquiz.errors import StoreError

# ---- joining, answering, revealing --------------------------------------------------------


def test_class_answers_live_and_the_board_shows_the_spread(quiz_host: Host) -> None:
    room = quiz_host.room
    echo = index_of(room, "echo-reply")

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        projector = await connect(f"ws://127.0.0.1:{quiz_host.port}/ws/board")
        await next_of(projector, "board")
        students = {}
        for name in ("alice", "bob", "carol"):
            ws, welcome = await join(quiz_host, name)
            assert welcome["type"] == "welcome" and welcome["name"] == name
            assert welcome["rejoined"] is False and welcome["answers"] == {}
            students[name] = ws
        await boss.send(json.dumps({"type": "push", "index": echo}))
        for ws in students.values():
            question = await next_of(ws, "question")
            assert question["item"]["id"] == "echo-reply"
            # what the student checks live: the question's table and the exact app file
            assert "echo_once.py" in question["bundle"]["apps"]
        # the host observes the question as it is pushed: the teacher sees the key at once
        await next_of(boss, "board", lambda b: b["key"] == "Message received: hello")
        await students["alice"].send(
            json.dumps(
                {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            )
        )
        verdict = await next_of(students["alice"], "verdict")
        # right or wrong only: what the live server sent is the key, kept for the reveal
        assert verdict == {
            "type": "verdict",
            "item": "echo-reply",
            "answer": "Message received: hello",
            "correct": True,
        }
        # bob claims his wrong answer is right: the host re-verifies and does not believe it
        await students["bob"].send(
            json.dumps({"type": "answer", "item": "echo-reply", "answer": "hello", "correct": True})
        )
        assert (await next_of(students["bob"], "verdict"))["correct"] is False
        # a second answer does not replace the first
        await students["bob"].send(
            json.dumps(
                {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            )
        )
        assert "already answered" in (await next_of(students["bob"], "error"))["message"]

        # before the reveal: carol sees nobody's answer, the projector shows progress only
        assert await nothing_within(students["carol"], 0.3) == []
        board = await next_of(projector, "board", lambda b: b["answered"] == 2)
        assert board["spread"] is None and board["key"] is None
        assert all("answer" not in s for s in board["students"])
        private = await next_of(boss, "board", lambda b: b["answered"] == 2)
        counts = {s["answer"]: s["count"] for s in private["spread"]}
        assert counts == {"Message received: hello": 1, "hello": 1}

        await boss.send(json.dumps({"type": "reveal"}))
        for ws in students.values():
            reveal = await next_of(ws, "reveal")
            assert reveal["key"] == "Message received: hello"
            assert {s["answer"]: s["count"] for s in reveal["spread"]} == counts
        board = await next_of(projector, "board", lambda b: b["revealed"])
        assert {s["answer"]: s["count"] for s in board["spread"]} == counts
        # the projector shows the spread only, never whose answer was right
        assert all(set(s) == {"name", "online", "done"} for s in board["students"])
        private = await next_of(boss, "board", lambda b: b["revealed"])
        names = {s["name"]: s for s in private["students"]}
        assert names["alice"]["right"] is True and names["bob"]["right"] is False
        # answers close at the reveal
        await students["carol"].send(
            json.dumps(
                {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            )
        )
        assert "closed" in (await next_of(students["carol"], "error"))["message"]
        for ws in [*students.values(), boss, projector]:
            await ws.close()

    run(scenario())
    rows = ClassroomStore(room.store.path).answers(room.session.id)
    assert {(a.student, a.correct) for a in rows} == {("alice", True), ("bob", False)}


def test_a_student_answers_only_as_themself(quiz_host: Host) -> None:
    room = quiz_host.room

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        alice, _ = await join(quiz_host, "alice")
        bob, _ = await join(quiz_host, "bob")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "echo-reply")}))
        await next_of(alice, "question")
        await alice.send(
            json.dumps(
                {
                    "type": "answer",
                    "item": "echo-reply",
                    "answer": "nope",
                    "name": "bob",
                    "student": "bob",
                }
            )
        )
        await next_of(alice, "verdict")
        # a join message on an open connection does not switch identity either
        await alice.send(json.dumps({"type": "join", "code": room.session.code, "name": "bob"}))
        assert (await next_of(alice, "error"))["type"] == "error"
        await bob.send(
            json.dumps(
                {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            )
        )
        assert (await next_of(bob, "verdict"))["correct"] is True
        for ws in (alice, bob, boss):
            await ws.close()

    run(scenario())
    given = {a.student: a.answer for a in room.store.answers(room.session.id)}
    assert given == {"alice": "nope", "bob": "Message received: hello"}


# ---- refused ------------------------------------------------------------------------------


def test_refused_joins_and_broken_limits_close_with_the_right_codes(quiz_host: Host) -> None:
    async def scenario() -> None:
        ws, _ = await join(quiz_host, "alice", code="WRONG1")
        assert await closed_with(ws) == (CLOSE_POLICY, "wrong join code")

        alice, welcome = await join(quiz_host, "alice")
        assert welcome["type"] == "welcome"
        twin, _ = await join(quiz_host, "alice")  # no token: someone else wants the name
        code, reason = await closed_with(twin)
        assert code == CLOSE_POLICY and "taken" in reason

        # the code is case-insensitive (typed from a projector) but required
        ws = await connect(f"ws://127.0.0.1:{quiz_host.port}/ws/student")
        await ws.send(json.dumps({"type": "join", "name": "dave"}))
        assert (await closed_with(ws))[0] == CLOSE_POLICY
        lower, welcome = await join(quiz_host, "erin", code=quiz_host.room.session.code.lower())
        assert welcome["type"] == "welcome"

        big, _ = await join(quiz_host, "bob")
        await big.send("x" * (MAX_MESSAGE + 1))
        assert (await closed_with(big))[0] == CLOSE_TOO_BIG

        flood, _ = await join(quiz_host, "carol")
        with contextlib.suppress(ConnectionClosed):
            for _ in range(500):
                await flood.send(json.dumps({"type": "ping"}))
        code, reason = await closed_with(flood)
        assert code == CLOSE_POLICY and "too many" in reason

        binary, _ = await join(quiz_host, "frank")
        await binary.send(b"\x00\x01")
        assert (await closed_with(binary))[0] == 1003

        key = "not-the-key"
        boss = await connect(f"ws://127.0.0.1:{quiz_host.port}/ws/teacher?key={key}")
        assert (await closed_with(boss))[0] == CLOSE_POLICY
        spy = await connect(f"ws://127.0.0.1:{quiz_host.port}/ws/board?key={key}")
        assert (await closed_with(spy))[0] == CLOSE_POLICY
        for ws in (alice, lower):
            await ws.close()

    run(scenario())
    assert sorted(quiz_host.room.seats) == ["alice", "bob", "carol", "erin", "frank"]


def test_names_are_checked() -> None:
    from starlette.exceptions import WebSocketException as Refused

    from wsquiz.classroom.protocol import clean_name

    assert clean_name("  Zoë O'Brien ") == "Zoë O'Brien"
    for bad, why in (
        ("", "required"),
        ("x" * 40, "1 to 32 characters, this one 40"),
        ("<script>", "not '<>'"),
        (None, "required"),
        ("a\nb", "not '\\n'"),
        ("-ada", "starts with a letter, a digit or _, not '-'"),
    ):
        with pytest.raises(Refused) as refused:
            clean_name(bad)
        assert refused.value.code == CLOSE_POLICY and why in refused.value.reason


def test_a_name_the_host_would_refuse_is_refused_with_its_reason(quiz_host: Host) -> None:
    from wsquiz.classroom.student import refusal_fix as _refusal_fix

    code = quiz_host.room.session.code
    result = CliRunner().invoke(
        app, ["classroom", "join", quiz_host.url, "--code", code, "--name", "x" * 40]
    )
    assert result.exit_code == 2
    assert "the name 'xxxxxxxx" in result.output
    assert "a name has 1 to 32 characters, this one 40" in result.output
    assert "fix: pick a name of 1 to 32 characters" in result.output
    assert "join code" not in result.output  # the code was right: no generic advice
    # refusals from the host: the fix follows the reason, not only the close code
    fix = _refusal_fix(CLOSE_POLICY, "a name holds letters, digits, spaces and . ' @ - _ only")
    assert "1 to 32 characters" in fix and "join code" not in fix
    assert "join code" in _refusal_fix(CLOSE_POLICY, "wrong join code")

    async def taken() -> None:
        ws, welcome = await join(quiz_host, "alice")
        assert welcome["type"] == "welcome"
        result = await asyncio.to_thread(
            CliRunner().invoke,
            app,
            ["classroom", "join", quiz_host.url, "--code", code, "--name", "alice"],
        )
        assert result.exit_code == 2
        assert "the name 'alice' is taken" in result.output
        assert "fix: pick a name no one else in this class uses" in result.output
        assert "join code" not in result.output
        await ws.close()

    run(taken())


# ---- dropping, rejoining, restarting -------------------------------------------------------


def test_a_student_who_drops_and_rejoins_gets_place_and_answers_back(quiz_host: Host) -> None:
    room = quiz_host.room

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        alice, welcome = await join(quiz_host, "alice")
        token = welcome["token"]
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "echo-reply")}))
        await next_of(alice, "question")
        await alice.send(
            json.dumps(
                {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            )
        )
        await next_of(alice, "verdict")
        alice.transport.abort()  # the laptop's Wi-Fi drops: no close frame
        await next_of(boss, "event", lambda e: e["event"] == "leave")

        stranger, _ = await join(quiz_host, "alice")  # the name is still hers
        assert (await closed_with(stranger))[0] == CLOSE_POLICY

        again, welcome = await join(quiz_host, "alice", token=token)
        assert welcome["rejoined"] is True
        assert welcome["answers"]["echo-reply"]["correct"] is True
        question = await next_of(again, "question")  # the question on screen, at once
        assert question["item"]["id"] == "echo-reply"
        board = await next_of(boss, "board", lambda b: b["online"] == 1)
        assert [s["name"] for s in board["students"]] == ["alice"]

        # the same student from a second terminal takes over; the first is told why
        other, welcome = await join(quiz_host, "alice", token=token)
        assert welcome["rejoined"] is True
        code, reason = await closed_with(again)
        assert code == 4001 and "another connection" in reason
        for ws in (other, boss):
            await ws.close()

    run(scenario())


def test_a_host_restart_resumes_the_session(lab: Any, db: Path) -> None:
    first = serve_quiz(lab, db).start()
    port = first.port
    room = first.room
    echo = index_of(room, "echo-reply")

    async def before() -> str:
        boss = await teacher(first)
        alice, welcome = await join(first, "alice")
        await join(first, "bob")
        await boss.send(json.dumps({"type": "push", "index": echo}))
        await next_of(alice, "question")
        await alice.send(
            json.dumps(
                {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            )
        )
        await next_of(alice, "verdict")
        return str(welcome["token"])

    try:
        token = run(before())
    finally:
        first.stop()

    store = ClassroomStore(db)
    material = QuizMaterial(ROOT, "basics", lab)
    resumed, was_open = open_classroom(material, store)
    assert was_open and resumed.session.id == room.session.id
    assert resumed.session.code == room.session.code
    assert resumed.index == echo and sorted(resumed.seats) == ["alice", "bob"]

    with Host(resumed, "127.0.0.1", port) as second:

        async def after() -> None:
            alice, welcome = await join(second, "alice", token=token)
            assert welcome["rejoined"] is True
            assert welcome["answers"]["echo-reply"]["answer"] == "Message received: hello"
            assert (await next_of(alice, "question"))["item"]["id"] == "echo-reply"
            boss = await teacher(second)
            await boss.send(json.dumps({"type": "reveal"}))
            reveal = await next_of(alice, "reveal")
            assert {s["answer"]: s["count"] for s in reveal["spread"]} == {
                "Message received: hello": 1
            }
            await boss.send(json.dumps({"type": "end"}))
            await next_of(alice, "ended")
            late, _ = await join(second, "zed")
            assert (await closed_with(late))[0] == 4002
            await alice.close()
            await boss.close()

        run(after())
    assert open_classroom(material, ClassroomStore(db))[1] is False  # ended: the next is new


def test_a_corrupt_store_is_named_with_a_way_out(tmp_path: Path) -> None:
    path = tmp_path / "classroom.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as caught:
        ClassroomStore(path)
    assert str(path) in caught.value.message and "--db" in caught.value.fix


# ---- the manager -------------------------------------------------------------------------


def test_one_slow_student_does_not_stall_the_broadcast() -> None:
    async def scenario() -> None:
        manager = ConnectionManager()
        slow = Peer(_Socket(slow=True), timeout=0.2)  # type: ignore[arg-type]
        fast = [Peer(_Socket(), timeout=0.2) for _ in range(5)]  # type: ignore[arg-type]
        manager.add("room", slow)
        for peer in fast:
            manager.add("room", peer)
        manager.add("other-room", Peer(_Socket()))  # type: ignore[arg-type]
        assert manager.broadcast("room", {"n": 1}) == 6
        await asyncio.wait_for(slow.gone.wait(), WAIT)  # dropped by its send timeout
        assert "too slow" in slow.close_reason
        for peer in fast:
            assert peer.ws.sent == ['{"n": 1}']  # type: ignore[attr-defined]
        # the broadcast of a peer leaving while it runs (no list mutated while iterated)
        await manager.remove(slow)
        assert manager.broadcast("room", "two") == 5
        for peer in fast:  # each writer task delivers it, however busy the machine
            while peer.ws.sent[-1] != "two":  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
        assert all(p.ws.sent == ['{"n": 1}', "two"] for p in fast)  # type: ignore[attr-defined]
        assert manager.count("room") == 5 and manager.count("other-room") == 1
        for peer in list(fast):
            await manager.remove(peer)
        assert "room" not in manager.rooms

    run(scenario())


def test_stopping_the_host_tells_everyone_it_is_going_away(
    lab: Any, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = serve_quiz(lab, db).start()

    async def scenario() -> None:
        alice, _ = await join(host, "alice")
        board = await connect(f"ws://127.0.0.1:{host.port}/ws/board", open_timeout=WAIT)
        boss = await teacher(host)
        await asyncio.to_thread(host.stop)
        for ws in (alice, board, boss):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None, "dropped without a close frame"
            assert closed.value.rcvd.code == 1001  # going away: the student client rejoins
            assert closed.value.rcvd.reason == GOING_AWAY

    try:
        run(scenario())
    finally:
        host.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_an_overflowing_outbox_drops_that_peer_only() -> None:
    async def scenario() -> None:
        manager = ConnectionManager()
        stuck = Peer(_Socket(slow=True), timeout=60, outbox=3)  # type: ignore[arg-type]
        manager.add("room", stuck)
        for n in range(5):
            manager.broadcast("room", str(n))
        assert stuck.gone.is_set() and "piled up" in stuck.close_reason
        await manager.remove(stuck)

    run(scenario())


# ---- exercises --------------------------------------------------------------------------


def test_an_exercise_check_is_rerun_on_the_host(lab: Any, db: Path) -> None:
    material = ExerciseMaterial(ROOT, "echo-loop", lab)
    room, _ = open_classroom(material, ClassroomStore(db))
    solution = material.exercise.solution.read_text()
    starter = material.exercise.starter.read_text()

    with Host(room) as host:

        async def scenario() -> None:
            boss = await teacher(host)
            alice, welcome = await join(host, "alice")
            assert welcome["mode"] == "exercise"
            question = await next_of(alice, "question")  # the exercise is on screen at once
            assert question["bundle"]["starter"] == starter
            assert solution not in json.dumps(question["bundle"])  # the key stays home
            await alice.send(json.dumps({"type": "check", "source": starter, "passed": True}))
            first = await next_of(alice, "checked")
            assert first["passed"] is False and first["score"] < first["max_score"]
            await alice.send(json.dumps({"type": "check", "source": solution}))
            second = await next_of(alice, "checked")
            assert second["passed"] is True and second["score"] == second["max_score"]
            board = await next_of(boss, "board", lambda b: b["answered"] == 1)
            assert board["students"][0]["score"] == second["max_score"]
            passed = {s["answer"]: s["count"] for s in board["spread"]}
            assert passed == {c.name: 1 for c in material.exercise.checks}
            projector = await connect(f"ws://127.0.0.1:{host.port}/ws/board", open_timeout=WAIT)
            public = await next_of(projector, "board")
            assert public["students"] == [{"name": "alice", "online": True, "done": True}]
            for command in ({"type": "next"}, {"type": "push", "index": 0}, {"type": "reveal"}):
                await boss.send(json.dumps(command))
                refused = await next_of(boss, "error")
                assert "an exercise session has one exercise" in refused["message"]
            await projector.close()
            await alice.close()
            await boss.close()

        run(scenario())


# ---- export ------------------------------------------------------------------------------


def test_export_uses_the_grade_formats(quiz_host: Host, db: Path, tmp_path: Path) -> None:
    room = quiz_host.room

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        alice, _ = await join(quiz_host, "alice")
        await join(quiz_host, "bob")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "echo-reply")}))
        await next_of(alice, "question")
        await alice.send(
            json.dumps(
                {"type": "answer", "item": "echo-reply", "answer": "Message received: hello"}
            )
        )
        await next_of(alice, "verdict")

    run(scenario())
    runner = CliRunner()
    result = runner.invoke(app, ["classroom", "export", "--db", str(db), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    scores = {r["student"]: (r["score"], r["max_score"]) for r in data["results"]}
    total = float(len(room.items))
    assert scores == {"alice": (1.0, total), "bob": (0.0, total)}
    alice = next(r for r in data["results"] if r["student"] == "alice")
    echo = next(c for c in alice["checks"] if c["name"] == "echo-reply")
    assert echo["passed"] is True and set(echo) >= {"name", "passed", "points", "message"}

    csv = runner.invoke(app, ["classroom", "export", "--db", str(db), "--format", "csv"])
    assert csv.exit_code == 0
    assert csv.stdout.splitlines()[0].startswith("student,score,max_score,")
    out = tmp_path / "gradescope"
    gs = runner.invoke(
        app,
        [
            "classroom",
            "export",
            "--db",
            str(db),
            "--session",
            room.session.id,
            "--format",
            "gradescope",
            "--out",
            str(out),
        ],
    )
    assert gs.exit_code == 0, gs.output
    assert json.loads((out / "alice.json").read_text())["score"] == 1.0

    missing = runner.invoke(app, ["classroom", "export", "--db", str(db), "--session", "nope"])
    assert missing.exit_code == 2 and "no classroom session 'nope'" in missing.output


def test_the_hint_printed_on_quit_exports_that_very_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shlex

    monkeypatch.chdir(tmp_path)
    hosted = CliRunner().invoke(
        app,
        ["classroom", "host", "--quiz", "basics", "--port", "0", "--plain", "--db", "my class.db"],
        input="q\n",
    )
    assert hosted.exit_code == 0, hosted.output
    session = re.search(r"new session (\S+)", hosted.output)
    assert session is not None
    hint = hosted.output.split("export it with:")[1].strip().splitlines()[0]
    words = shlex.split(hint)
    assert words[:3] == ["wsquiz", "classroom", "export"]
    assert str(tmp_path / "my class.db") in words  # the --db given, wherever export runs
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    exported = CliRunner().invoke(app, words[1:])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["results"] == []  # no one joined
    assert session.group(1) in hint


# ---- the host's pages and defaults ---------------------------------------------------------


def test_the_host_serves_the_board_page_and_listens_on_loopback(quiz_host: Host) -> None:
    import urllib.request

    assert quiz_host.host == "127.0.0.1" and quiz_host.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{quiz_host.url}/board", timeout=WAIT) as response:
        page = response.read().decode()
    assert "/ws/board" in page and "<script>" in page
    with urllib.request.urlopen(f"{quiz_host.url}/", timeout=WAIT) as response:
        assert "wsquiz classroom join" in response.read().decode()


def test_host_needs_a_quiz_or_an_exercise() -> None:
    result = CliRunner().invoke(app, ["classroom", "host"])
    assert result.exit_code == 2
    assert "one quiz or one exercise" in result.output and "--quiz" in result.output
    result = CliRunner().invoke(app, ["classroom", "host", "--quiz", "nosuchquiz", "--port", "0"])
    assert result.exit_code != 0 and "nosuchquiz" in result.output


# ---- the real terminals ------------------------------------------------------------------


def test_host_and_student_terminals(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "WSQUIZ_HOME": str(tmp_path)}
    wsquiz = [sys.executable, "-m", "wsquiz"]
    host = pexpect.spawn(
        wsquiz[0],
        [
            *wsquiz[1:],
            "classroom",
            "host",
            "--quiz",
            "basics",
            "--port",
            "0",
            "--plain",
            "--feedback",
            "instant",
            "--db",
            str(tmp_path / "c.db"),
        ],
        env=env,
        encoding="utf-8",
        timeout=WAIT,
        dimensions=(60, 100),
    )
    student = None
    try:
        host.expect(r"wsquiz classroom join (http://127\.0\.0\.1:\d+) --code (\w{6})")
        url, code = host.match.group(1), host.match.group(2)
        host.expect("no question yet")
        student = pexpect.spawn(
            wsquiz[0],
            [*wsquiz[1:], "classroom", "join", url, "--code", code, "--name", "alice"],
            env=env,
            encoding="utf-8",
            timeout=WAIT,
            dimensions=(60, 100),
            cwd=str(tmp_path),
        )
        student.expect("joined WebSocket basics as alice")
        host.expect("alice joined")
        room = QuizMaterial(ROOT, "basics", None)
        echo = next(i for i, item in enumerate(room.items) if item.id == "echo-reply")
        host.sendline(str(echo + 1))
        host.expect(f"question {echo + 1} pushed")
        host.expect("key: Message received: hello")  # observed since the push: plain logs say it
        student.expect("echo_once.py")  # the code the question runs is shown
        student.expect("type your prediction; h hint")
        student.sendline("h")
        student.expect("hint: ")
        student.sendline("Message received: hello")
        student.expect("checked live on this machine: right")  # here first, then the host
        student.expect("recorded by the host: 'Message received: hello' is right")
        host.expect(r"alice answered echo-reply \(right\)")
        host.send("r")  # one key, no Enter: the board's stdin is a terminal
        host.expect("revealed echo-reply: Message received: hello")
        student.expect("the teacher revealed the answer: Message received: hello")
        student.expect("live check")  # the transcript, with the key, at the reveal
        student.expect("Right")
        host.send("e")
        host.expect("press e again to end the session")
        host.send("e")
        student.expect("ended the session")
        student.expect(pexpect.EOF)
        host.send("q")
        host.expect(pexpect.EOF)
    finally:
        for child in (host, student):
            if child is not None and child.isalive():
                child.terminate(force=True)
    assert student.exitstatus == 0 and host.exitstatus == 0
    rows = (
        sqlite3.connect(tmp_path / "c.db")
        .execute("SELECT student, item, correct FROM answers")
        .fetchall()
    )
    assert rows == [("alice", "echo-reply", 1)]


def test_join_refused_is_a_clear_error(quiz_host: Host) -> None:
    result = CliRunner().invoke(
        app,
        ["classroom", "join", quiz_host.url, "--code", "BADBAD", "--name", "alice", "--retry", "2"],
    )
    assert result.exit_code == 2
    assert "wrong join code" in result.output
    assert "fix: type the join code the teacher's host printed" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["classroom", "join", "ftp://x", "--code", "A", "--name", "a"])
    assert result.exit_code == 2 and "not a classroom address" in result.output


def test_a_port_or_host_the_host_cannot_listen_on_is_a_usage_error(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    host = ["classroom", "host", "--quiz", "basics", "--plain", "--db", str(db)]
    for port in ("99999", "-1"):
        result = CliRunner().invoke(app, [*host, "--port", port])
        assert result.exit_code == 2, result.output
        assert f"error: --port {port} is not a port: a port is 0 to 65535" in result.output
        assert "fix: choose a --port from 1024 to 65535" in result.output
        assert "Traceback" not in result.output
        assert not isinstance(result.exception, OverflowError)
    assert not db.exists()  # refused before a session was opened for it
    result = CliRunner().invoke(app, [*host, "--port", "0", "--host", "nosuchhost.invalid"])
    assert result.exit_code == 2, result.output
    assert "error: cannot listen on --host 'nosuchhost.invalid'" in result.output
    fix = result.output[result.output.index("fix:") :]
    assert "--host 127.0.0.1" in fix and "--host 0.0.0.0" in fix and "--port" not in fix
    assert not db.exists()


def test_a_join_address_with_a_port_out_of_range_is_a_usage_error() -> None:
    for url in ("http://127.0.0.1:99999", "127.0.0.1:-1"):
        result = CliRunner().invoke(app, ["classroom", "join", url, "--name", "a", "--code", "x"])
        assert result.exit_code == 2, result.output
        assert "its port is not a number from 0 to 65535" in result.output
        assert "fix: give the address the host printed" in result.output
        assert not isinstance(result.exception, ValueError)


def test_join_urls() -> None:
    from wsquiz.classroom.student import endpoint

    assert endpoint("http://10.0.0.5:8765", "/ws/student") == "ws://10.0.0.5:8765/ws/student"
    assert endpoint("10.0.0.5:8765/", "/ws/board") == "ws://10.0.0.5:8765/ws/board"
    assert endpoint("https://class.example", "/ws/student").startswith("wss://class.example/")
    assert re.match(r"ws://\[::1\]:1/", endpoint("http://[::1]:1", "/ws/x"))


# ---- the student's client, in process ----------------------------------------------------


def test_the_student_client_rejoins_by_itself_after_a_host_restart(lab: Any, db: Path) -> None:
    first = serve_quiz(lab, db).start()
    port = first.port
    echo = index_of(first.room, "echo-reply")
    typist = Typist()
    holder: dict[str, Host] = {"host": first}

    async def scenario() -> None:
        client = student_client(first, "alice", lab, typist)
        running = asyncio.create_task(client.run())
        boss = await teacher(first)
        await until_printed(client.console, "joined WebSocket basics as alice")
        await boss.send(json.dumps({"type": "push", "index": echo}))
        await until_printed(client.console, "type your prediction")
        typist.type("Message received: hello")
        await until_printed(client.console, "recorded by the host")
        await boss.close()

        await asyncio.to_thread(first.stop)  # the teacher's laptop restarts the host
        await until_printed(client.console, "rejoining")
        room, resumed = open_classroom(
            QuizMaterial(ROOT, "basics", lab), ClassroomStore(db), feedback="instant"
        )
        assert resumed
        second = Host(room, "127.0.0.1", port)
        holder["host"] = second
        await asyncio.to_thread(second.start)
        shown = await until_printed(client.console, "your place and 1 answer(s) are restored")
        assert "you answered 'Message received: hello' (right)" in (
            await until_printed(client.console, "you answered")
        ), shown
        boss = await teacher(second)
        await boss.send(json.dumps({"type": "end"}))
        assert await asyncio.wait_for(running, WAIT) == 0
        await boss.close()

    try:
        run(scenario())
    finally:
        holder["host"].stop()


def test_the_student_client_checks_an_exercise(lab: Any, db: Path, tmp_path: Path) -> None:
    material = ExerciseMaterial(ROOT, "echo-loop", lab)
    room, _ = open_classroom(material, ClassroomStore(db))
    mine = tmp_path / "echo_loop.py"
    typist = Typist()

    with Host(room) as host:

        async def scenario() -> None:
            client = student_client(host, "alice", lab, typist, file=mine)
            running = asyncio.create_task(client.run())
            await until_printed(client.console, "wrote the starter to")
            assert mine.read_text() == material.exercise.starter.read_text()
            typist.type("")  # Enter: check the starter as it is
            await until_printed(client.console, "the host checked your file too: 0/")
            mine.write_text(material.exercise.solution.read_text())
            typist.type("")
            full = f"{material.exercise.max_score:g}/{material.exercise.max_score:g}"
            shown = await until_printed(client.console, f"the host checked your file too: {full}")
            assert "echo-one" in shown  # the check-by-check report, run here first
            typist.type("q")
            assert await asyncio.wait_for(running, WAIT) == 0

        run(scenario())
    best = room.store.best_checks(room.session.id)["alice"]
    assert best.passed and best.score == best.max_score


def test_keys_and_codes_of_any_text_are_refused_not_crashed(quiz_host: Host) -> None:
    async def scenario() -> None:
        ws, _ = await join(quiz_host, "alice", code="ÉÉÉÉÉÉ")
        assert await closed_with(ws) == (CLOSE_POLICY, "wrong join code")
        boss = await connect(f"ws://127.0.0.1:{quiz_host.port}/ws/teacher?key=%C3%A9")
        assert (await closed_with(boss))[0] == CLOSE_POLICY

    run(scenario())


def test_a_host_that_cannot_check_says_so_and_keeps_the_class(db: Path) -> None:
    room, _ = open_classroom(_Broken(), ClassroomStore(db))  # type: ignore[arg-type]
    with Host(room) as host:

        async def scenario() -> None:
            boss = await teacher(host)
            alice, _ = await join(host, "alice")
            await boss.send(json.dumps({"type": "next"}))
            await next_of(alice, "question")
            await alice.send(json.dumps({"type": "answer", "item": "q1", "answer": "hi"}))
            problem = await next_of(alice, "error")
            assert "could not check" in problem["message"] and "on fire" in problem["message"]
            await boss.send(json.dumps({"type": "reveal"}))
            assert "on fire" in (await next_of(boss, "error"))["message"]
            await alice.send(json.dumps({"type": "ping"}))
            assert (await next_of(alice, "pong"))["type"] == "pong"  # still connected
            await alice.close()
            await boss.close()

        run(scenario())
    assert room.store.answers(room.session.id) == []


def test_the_teachers_live_board_in_a_terminal(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    host = spawn_host_in_a_terminal(tmp_path)
    try:
        host.expect(r"join (http://127\.0\.0\.1:(\d+)) --code (\w{6})")
        port, code = int(host.match.group(2)), host.match.group(3)
        host.expect("no question yet")
        host.expect("N Enter go to question N · e end · q quit")  # single keys: no Enter

        async def student() -> None:
            ws = await connect(f"ws://127.0.0.1:{port}/ws/student")
            await ws.send(json.dumps({"type": "join", "code": code, "name": "zoe"}))
            await next_of(ws, "welcome")
            await asyncio.to_thread(host.expect, "zoe joined")
            host.send("1")  # push the first question from the keyboard: digits, then Enter
            await asyncio.to_thread(host.expect, "go to question 1")
            host.send("\r")
            question = await next_of(ws, "question")
            letter = question["item"]["options"][0]["letter"]
            await ws.send(
                json.dumps({"type": "answer", "item": question["item"]["id"], "answer": letter})
            )
            await next_of(ws, "verdict")
            await asyncio.to_thread(host.expect, r"zoe answered \S+ \((right|wrong)\)")
            await asyncio.to_thread(host.expect, r"1 of 1 answered")
            host.send("x")
            await asyncio.to_thread(host.expect, "unknown key 'x'")
            host.send("e")  # one key each, as the footer says: not the line "eq"
            await asyncio.to_thread(host.expect, "press e again to end the session")
            host.send("z")  # any other key goes on: the next `e` asks again
            await asyncio.to_thread(host.expect, "unknown key 'z'")
            host.send("e")
            await asyncio.to_thread(host.expect, "press e again to end the session")
            host.send("e")
            await next_of(ws, "ended")
            await ws.close()

        run(student())
        host.expect("session ended")
        host.send("q")
        expect_terminal_restored(host)
        host.expect(pexpect.EOF)
    finally:
        if host.isalive():
            host.terminate(force=True)
    assert "unknown command" not in (host.before or "")
    assert host.exitstatus == 0


def test_ctrl_c_on_the_board_puts_the_terminal_back(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    host = spawn_host_in_a_terminal(tmp_path)
    try:
        host.expect("no question yet")
        host.send("\x03")
        host.expect("stays open: run the same command to resume it")
        expect_terminal_restored(host)
        host.expect(pexpect.EOF)
    finally:
        if host.isalive():
            host.terminate(force=True)
    assert host.exitstatus == 0


def test_a_kill_of_the_host_puts_the_terminal_back_and_keeps_the_session(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    host = spawn_host_in_a_terminal(tmp_path)
    try:
        host.expect("no question yet")
        os.killpg(host.pid, signal.SIGTERM)  # `kill`, or the terminal's window closed (SIGHUP)
        host.expect("stays open: run the same command to resume it")
        expect_terminal_restored(host)
        host.expect(pexpect.EOF)
    finally:
        if host.isalive():
            host.terminate(force=True)
    assert host.exitstatus == 0  # as after Ctrl-C: the session is kept, not lost


def test_keys_become_the_boards_commands() -> None:
    import pty

    from wsquiz.ui.board import Keys, single_keys

    async def typed(keys: bytes, count: int) -> tuple[list[str | None], list[str]]:
        main, other = pty.openpty()
        shown: list[str] = []
        try:
            with open(other, "rb", buffering=0, closefd=False) as tty, single_keys(tty) as fd:
                assert fd == other
                reader = Keys(asyncio.get_running_loop(), other, shown.append)
                os.write(main, keys)
                got = [await asyncio.wait_for(reader.queue.get(), WAIT) for _ in range(count)]
                reader.close()
                return got, shown
        finally:
            os.close(main)
            os.close(other)

    assert run(typed(b"eq", 2))[0] == ["e", "q"]
    assert run(typed(b"\r", 1))[0] == [""]  # Enter alone: next
    # arrows are skipped, digits gather until Enter, Backspace and Esc edit them
    got, shown = run(typed(b"\x1b[A1\x7f27\rx3\x1bn", 3))
    assert got == ["27", "x", "n"]
    assert shown == ["1", "", "2", "27", "", "3", ""]


def test_single_keys_only_on_a_terminal_and_the_mode_comes_back() -> None:
    import pty
    import termios

    from wsquiz.ui.board import single_keys

    read, write = os.pipe()
    with open(read, "rb", closefd=True) as piped, single_keys(piped) as fd:
        assert fd is None  # piped input stays lines
    os.close(write)
    main, other = pty.openpty()
    try:
        before = termios.tcgetattr(other)
        with (
            pytest.raises(KeyboardInterrupt),
            open(other, "rb", closefd=False) as tty,
            single_keys(tty) as fd,
        ):
            assert fd == other
            assert not termios.tcgetattr(other)[3] & (termios.ICANON | termios.ECHO)
            raise KeyboardInterrupt  # Ctrl-C
        assert termios.tcgetattr(other) == before
    finally:
        os.close(main)
        os.close(other)


def test_the_board_view_shows_who_answered_what() -> None:
    from rich.console import Console

    from wsquiz.ui.board import board_view

    board = {
        "title": "WebSocket basics",
        "mode": "quiz",
        "join": "http://127.0.0.1:9",
        "code": "K7P2QX",
        "ended": False,
        "total": 5,
        "index": 1,
        "revealed": False,
        "key": "B",
        "question": {"id": "first-call", "prompt": "What must you call first?", "options": []},
        "answered": 2,
        "joined": 3,
        "online": 2,
        "spread": [
            {"answer": "A", "count": 1, "correct": False},
            {"answer": "B", "count": 1, "correct": True},
        ],
        "students": [
            {
                "name": "ada",
                "online": True,
                "answered": 2,
                "correct": 2,
                "done": True,
                "answer": "B",
                "right": True,
            },
            {
                "name": "bob",
                "online": True,
                "answered": 1,
                "correct": 0,
                "done": True,
                "answer": "A",
                "right": False,
            },
            {"name": "cy", "online": False, "answered": 0, "correct": 0, "done": False},
        ],
    }
    console = Console(record=True, width=100, no_color=True)
    console.print(board_view(board))
    text = console.export_text()
    assert "question 2/5" in text and "2 of 2 answered (online" in text and "key: B" in text
    assert "--code K7P2QX" in text and "2 online, 3 joined" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "1 ✔" in rows["B"] and "✔" not in rows["A"]
    assert rows["ada"].split()[1:] == ["B", "2", "2"]
    assert rows["cy"].split()[1:] == ["…", "0", "0"]
    assert "a command, then Enter" in text  # piped input: the footer says lines


def test_a_concept_questions_key_stays_on_the_host(quiz_host: Host) -> None:
    room = quiz_host.room
    material = room.material
    assert isinstance(material, QuizMaterial)
    concept = next(q for q in material.quiz.questions if q.kind == "concept")
    right = next(o.letter for o in concept.options if o.correct)

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        alice, _ = await join(quiz_host, "alice")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, concept.id)}))
        question = await next_of(alice, "question")
        assert question["bundle"] == {} and "correct" not in json.dumps(question)
        await alice.send(json.dumps({"type": "answer", "item": concept.id, "answer": right}))
        verdict = await next_of(alice, "verdict")
        assert verdict["correct"] is True
        assert set(verdict) == {"type", "item", "answer", "correct"}  # no key before the reveal
        await boss.send(json.dumps({"type": "reveal"}))
        reveal = await next_of(alice, "reveal")
        assert reveal["key"] == right and reveal["stored"] is True and reveal["explanation"]
        await alice.close()
        await boss.close()

    run(scenario())


def test_no_student_gets_the_key_before_the_reveal(quiz_host: Host) -> None:
    """Not in a verdict, a rejoin, or the question's bundle: an early answerer has nothing to
    pass on, even reading the raw WebSocket; the reveal then brings it to everyone."""
    room = quiz_host.room
    key = "Message received: hello"
    material = room.material
    assert isinstance(material, QuizMaterial)
    why = material.quiz.question("echo-reply").explanation

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        alice, welcome = await join(quiz_host, "alice")
        token = welcome["token"]
        bob, _ = await join(quiz_host, "bob")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "echo-reply")}))
        pushed = await next_of(alice, "question")
        assert pushed["revealed"] is False and "key" not in pushed
        sent = pushed["bundle"]["question"]
        assert {"explanation", "claims"}.isdisjoint(sent)  # `claims` states the reply, too
        assert sent["answer"] == {"from": "reply"} and sent["hint"]  # still checkable, hint kept
        await next_of(bob, "question")
        for ws, answer in ((alice, "hello"), (bob, key)):
            await ws.send(json.dumps({"type": "answer", "item": "echo-reply", "answer": answer}))
        raw = await asyncio.wait_for(alice.recv(), WAIT)
        assert json.loads(raw)["correct"] is False
        assert key not in str(raw) and "1006" not in str(raw)
        assert (await next_of(bob, "verdict"))["correct"] is True

        # alice drops and rejoins before the reveal: her answer comes back, the key does not
        await alice.close()
        await next_of(boss, "event", lambda e: e["event"] == "leave")
        alice, welcome = await join(quiz_host, "alice", token=token)
        assert welcome["answers"] == {"echo-reply": {"answer": "hello", "correct": False}}
        again = await asyncio.wait_for(alice.recv(), WAIT)
        assert json.loads(again)["type"] == "question"
        assert key not in str(again) and why not in str(again)

        await boss.send(json.dumps({"type": "reveal"}))
        for ws in (alice, bob):
            reveal = await next_of(ws, "reveal")
            assert reveal["key"] == key and reveal["stored"] is False
            assert reveal["explanation"] == why
            assert reveal["withheld"]["claims"] and reveal["withheld"]["explanation"]
        # after the reveal, a rejoin brings the key and the explanation with the question
        await alice.close()
        await next_of(boss, "event", lambda e: e["event"] == "leave")
        alice, welcome = await join(quiz_host, "alice", token=token)
        assert welcome["answers"]["echo-reply"]["observed"] == key
        question = await next_of(alice, "question")
        assert question["revealed"] is True and question["key"] == key
        assert question["explanation"] == why and question["withheld"]["claims"]
        for ws in (alice, bob, boss):
            await ws.close()

    run(scenario())


def test_a_withheld_bundle_is_whole_again_at_the_reveal() -> None:
    from wsquiz.classroom.material import restore_bundle, split_bundle

    material = QuizMaterial(ROOT, "basics", None)
    noted = 0
    for item in material.items:
        bundle = material.bundle(item.id)
        shown, withheld = split_bundle(bundle)
        assert restore_bundle(shown, withheld) == bundle
        for option in shown.get("question", {}).get("options", []):
            assert "explanation" not in option
        noted += "options" in withheld
    assert noted  # the quiz has a choice question whose options explain themselves


def test_the_students_terminal_keeps_the_key_until_the_reveal(quiz_host: Host, lab: Any) -> None:
    """The live check on the student's own machine says right or wrong; its transcript (which
    shows the key), the key and the explanation are printed when the teacher reveals."""
    room = quiz_host.room
    material = room.material
    assert isinstance(material, QuizMaterial)
    choice = material.quiz.question("accept-receive-syntax")
    wrong = next(o for o in choice.options if o.explanation)
    typist = Typist()

    async def scenario() -> tuple[str, str, str, str]:
        client = student_client(quiz_host, "alice", lab, typist)
        running = asyncio.create_task(client.run())
        boss = await teacher(quiz_host)
        await until_printed(client.console, "joined WebSocket basics as alice")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "echo-reply")}))
        await until_printed(client.console, "type your prediction")
        typist.type("hello")
        before = await until_printed(client.console, "wait for the teacher to reveal it")
        await boss.send(json.dumps({"type": "reveal"}))
        after = await until_printed(client.console, "Not quite")
        after = await until_printed(client.console, "─ why ─")  # the explanation's panel
        client.console.export_text(clear=True)
        index = index_of(room, choice.id)
        await boss.send(json.dumps({"type": "push", "index": index}))
        await until_printed(client.console, "answer with a letter")
        typist.type("maybe")  # not a letter: refused here, so it cannot count as the answer
        await until_printed(client.console, "): not sent")
        typist.type(wrong.letter)
        asked = await until_printed(client.console, "wait for the teacher to reveal it")
        await boss.send(json.dumps({"type": "reveal"}))
        told = await until_printed(client.console, wrong.explanation[:40])
        await boss.send(json.dumps({"type": "end"}))
        assert await asyncio.wait_for(running, WAIT) == 0
        await boss.close()
        return before, after, asked, told

    before, after, asked, told = run(scenario())
    assert "checked live on this machine: not right" in before
    assert "recorded by the host: 'hello' is not right" in before
    for secret in ("Message received: hello", "live check", "1006", "─ why ─", "Not quite"):
        assert secret not in before, f"{secret!r} shown before the reveal:\n{before}"
    assert "revealed the answer: Message received: hello" in after
    assert "live check" in after and "< Message received: hello" in after  # the transcript
    assert "Not quite" in after and "─ why ─" in after
    # a choice question: no option's explanation, no key, before the reveal
    assert wrong.explanation[:40] not in asked and "handshake_status = 101" not in asked
    assert "Not quite: the answer is" in told and "handshake_status = 101" in told
    assert f"'{wrong.letter}' is not right" in asked and "'maybe'" not in asked


def test_the_student_is_told_where_a_key_comes_from(quiz_host: Host, lab: Any) -> None:
    room = quiz_host.room
    material = room.material
    assert isinstance(material, QuizMaterial)
    concept = next(q for q in material.quiz.questions if q.kind == "concept")
    right = next(o.letter for o in concept.options if o.correct)
    typist = Typist()

    async def scenario() -> tuple[str, str]:
        client = student_client(quiz_host, "alice", lab, typist)
        running = asyncio.create_task(client.run())
        boss = await teacher(quiz_host)
        await until_printed(client.console, "joined WebSocket basics as alice")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, concept.id)}))
        await until_printed(client.console, "answer with a letter")
        typist.type(right)
        await until_printed(client.console, "recorded by the host")
        await boss.send(json.dumps({"type": "reveal"}))
        stored = await until_printed(client.console, "the teacher revealed the answer")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "echo-reply")}))
        await until_printed(client.console, "type your prediction")
        typist.type("hello")
        await until_printed(client.console, "'hello' is not right")
        await boss.send(json.dumps({"type": "reveal"}))
        shown = await until_printed(client.console, "(what the live server gives)")
        await boss.send(json.dumps({"type": "end"}))
        assert await asyncio.wait_for(running, WAIT) == 0
        await boss.close()
        return stored, shown

    stored, shown = run(scenario())
    # a concept question's key is stored: no server "gives" it
    assert f"the teacher revealed the answer: {right}) " in stored
    assert "live server" not in stored
    assert "revealed the answer: Message received: hello (what the live server gives)" in shown
    alice = next(r for r in room.results() if r.student == "alice")
    said = {c.name: c.message for c in alice.checks}
    assert said[concept.id] == f"answered {right!r}; the answer is {right!r}"
    assert said["echo-reply"].endswith("the live server gave 'Message received: hello'")


def test_join_asks_for_the_code(quiz_host: Host) -> None:
    result = CliRunner().invoke(
        app,
        ["classroom", "join", quiz_host.url, "--name", "alice", "--retry", "2"],
        input="NOTIT1\n",
    )
    assert "join code" in result.output and "wrong join code" in result.output
    assert result.exit_code == 2


def test_join_names_an_address_that_is_no_classroom(tmp_path: Path) -> None:
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_error(404)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = CliRunner().invoke(
            app, ["classroom", "join", url, "--code", "ABCDEF", "--name", "alice", "--retry", "2"]
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 2
    assert "is not a wsquiz classroom (HTTP 404" in result.output
    assert "Traceback" not in result.output


def test_joining_an_address_where_no_host_listens_is_one_clear_error() -> None:
    import socket

    with socket.socket() as taken:  # bound, never listening: connections to it are refused
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        result = CliRunner().invoke(
            app, ["classroom", "join", url, "--code", "ABCDEF", "--name", "zed"]
        )
    assert result.exit_code == 2, result.output
    assert f"cannot reach a classroom at {url} (nothing listens on port {port})" in result.output
    assert f"wsquiz classroom join {url} --code CODE --name zed" in result.output  # to type
    # never joined: nothing was lost and nothing is being rejoined
    assert "rejoin" not in result.output and "lost" not in result.output
    assert "Traceback" not in result.output
    # no port: port 80 was tried (whatever answers there, the student is told)
    result = CliRunner().invoke(
        app, ["classroom", "join", "http://127.0.0.1", "--code", "ABCDEF", "--name", "zed"]
    )
    assert result.exit_code == 2 and "the address has no port" in result.output
    assert "wsquiz classroom join http://127.0.0.1:8765 --code CODE" in result.output
    assert "rejoin" not in result.output


def test_a_student_can_leave_while_the_host_is_gone(lab: Any, db: Path) -> None:
    host = serve_quiz(lab, db).start()
    typist = Typist()

    async def scenario() -> None:
        client = student_client(host, "alice", lab, typist)
        running = asyncio.create_task(client.run())
        await until_printed(client.console, "joined WebSocket basics as alice")
        await asyncio.to_thread(host.stop)
        shown = await until_printed(client.console, "(q to leave)")
        typist.type("q")
        assert await asyncio.wait_for(running, WAIT) == 0
        assert shown.count("connection to the host lost") == 1

    try:
        run(scenario())
    finally:
        host.stop()


def test_guessing_the_code_is_cut_short(quiz_host: Host) -> None:
    """Issue 15: past the budget, guessing is slowed; the right code still joins at once (a
    whole school behind one address must not be locked out), and the teacher is told."""
    from wsquiz.classroom.seats import WRONG_CODES_PER_MIN

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        for n in range(WRONG_CODES_PER_MIN):
            ws, _ = await join(quiz_host, f"guess{n}", code=f"WRONG{n % 10}")
            assert await closed_with(ws) == (CLOSE_POLICY, "wrong join code")
        ws, _ = await join(quiz_host, "guess-more", code="WRONG0")
        code, reason = await closed_with(ws)
        assert code == CLOSE_POLICY and "too many wrong join codes" in reason
        told = await next_of(boss, "event", lambda e: e["event"] == "limit")
        assert "wrong join codes" in told["message"] and "still joins" in told["message"]
        ws, welcome = await join(quiz_host, "guesser")  # the right code, from that address
        assert welcome["type"] == "welcome"
        await ws.close()
        await boss.close()

    run(scenario())
    assert list(quiz_host.room.seats) == ["guesser"]


def test_the_teacher_is_told_what_cannot_be_done(quiz_host: Host) -> None:
    async def scenario() -> None:
        boss = await teacher(quiz_host)
        await boss.send(json.dumps({"type": "reveal"}))
        assert "push one first" in (await next_of(boss, "error"))["message"]
        await boss.send(json.dumps({"type": "push", "index": 99}))
        assert "there is no question 100" in (await next_of(boss, "error"))["message"]
        await boss.send(json.dumps({"type": "dance"}))
        assert "commands:" in (await next_of(boss, "error"))["message"]
        await boss.close()

    run(scenario())


def test_listening_on_every_interface_prints_a_reachable_address() -> None:
    from wsquiz.classroom.host import public_address

    assert public_address("127.0.0.1") == "127.0.0.1"
    shown = public_address("0.0.0.0")
    assert shown and shown != "0.0.0.0"


def test_a_long_name_in_a_close_reason_still_closes_cleanly(quiz_host: Host) -> None:
    name = "漢字" * 16  # 32 characters, 96 bytes of UTF-8: the reason would pass 123 bytes

    async def scenario() -> None:
        first, welcome = await join(quiz_host, name)
        assert welcome["type"] == "welcome"
        twin, _ = await join(quiz_host, name)
        code, reason = await closed_with(twin)
        assert code == CLOSE_POLICY and reason.startswith("the name")
        await first.close()

    run(scenario())
