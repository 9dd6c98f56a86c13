"""A class session through what happens in a real room: a line typed at the wrong moment, a host
restarted (on the same port or not), a student typing another address, exercise files, answers
written in different ways, a session ended from a pipe. Real hosts, real students."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import tempfile
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.classroom.helpers import (
    WAIT,
    Typist,
    _Broken,
    index_of,
    join,
    next_of,
    run,
    serve_quiz,
    student_client,
    teacher,
    until_printed,
)
from tests.support import ROOT
from wsquiz.classroom.host import Host, open_classroom
from wsquiz.classroom.material import ExerciseMaterial, QuizMaterial
from wsquiz.classroom.store import ClassroomStore
from wsquiz.cli import app


def client_at(url: str, code: str, name: str, lab: Any, typist: Typist, **kw: Any) -> Any:
    """A student's terminal joining at `url` exactly as typed."""
    from rich.console import Console

    from wsquiz.ui.student import Lines, StudentClient

    console = Console(record=True, width=100, force_terminal=False, no_color=True)
    client = StudentClient(url, name, code, console, lab=lab, retry_s=WAIT, **kw)
    client.lines = Lines(asyncio.get_running_loop(), typist.read)
    return client


def host_command(store: Path, *extra: str) -> list[str]:
    return ["classroom", "host", "--quiz", "basics", "--plain", "--db", str(store), *extra]


def words(output: str) -> str:
    """The output as one line: a long line wraps at the terminal's width."""
    return " ".join(output.split())


def join_port(output: str) -> int:
    found = re.search(r"wsquiz classroom join http://127\.0\.0\.1:(\d+) --code", output)
    assert found is not None, output
    return int(found.group(1))


# ---- typing at the wrong moment -----------------------------------------------------------


def test_a_line_typed_after_answering_never_answers_the_next_question(
    quiz_host: Host, lab: Any
) -> None:
    room = quiz_host.room
    typist = Typist()

    async def scenario() -> tuple[str, str]:
        client = student_client(quiz_host, "ada", lab, typist)
        running = asyncio.create_task(client.run())
        boss = await teacher(quiz_host)
        await until_printed(client.console, "joined WebSocket basics as ada")
        typist.type("C")  # before any question: not kept for the first one pushed
        early = await until_printed(client.console, "no question is open")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "first-call")}))
        await until_printed(client.console, "answer with a letter")
        typist.type("B")
        await until_printed(client.console, "recorded by the host: 'B'")
        typist.type("D")  # refused at once, not queued
        await until_printed(client.console, "you already answered: your first answer counts")
        client.console.export_text(clear=True)
        index = index_of(room, "accept-receive-syntax")
        await boss.send(json.dumps({"type": "push", "index": index}))
        await until_printed(client.console, "answer with a letter")
        await asyncio.sleep(0.5)
        assert "recorded by the host" not in client.console.export_text(clear=False)
        typist.type("A")
        later = await until_printed(client.console, "recorded by the host: 'A'")
        await boss.send(json.dumps({"type": "reveal"}))
        await until_printed(client.console, "the teacher revealed the answer")
        typist.type("B")  # after the reveal: closed, said so, not sent
        await until_printed(client.console, "answers to this question are closed")
        typist.type("q")
        assert await asyncio.wait_for(running, WAIT) == 0
        await boss.close()
        return early, later

    early, later = run(scenario())
    assert "that was not sent" in early
    assert "recorded by the host: 'D'" not in later and "'C'" not in later
    given = {(a.item, a.answer) for a in room.store.answers(room.session.id)}
    assert given == {("first-call", "B"), ("accept-receive-syntax", "A")}


def test_an_answer_the_host_could_not_record_can_be_given_again(db: Path, lab: Any) -> None:
    room, _ = open_classroom(_Broken(), ClassroomStore(db))  # type: ignore[arg-type]
    typist = Typist()

    with Host(room) as host:

        async def scenario() -> str:
            client = student_client(host, "ada", lab, typist)
            running = asyncio.create_task(client.run())
            boss = await teacher(host)
            await until_printed(client.console, "joined Broken as ada")
            await boss.send(json.dumps({"type": "next"}))
            await until_printed(client.console, "type your prediction")
            typist.type("hi")
            await until_printed(client.console, "host: the host could not check this question")
            typist.type("hello")  # not recorded: it may be given again, and is sent
            shown = await until_printed(client.console, "on fire")
            while shown.count("could not check this question") < 2:
                await asyncio.sleep(0.05)
                shown = client.console.export_text(clear=False)
            typist.type("q")
            assert await asyncio.wait_for(running, WAIT) == 0
            await boss.close()
            return shown

        shown = run(scenario())
    assert "you already answered" not in shown


def test_a_second_answer_to_a_question_gets_an_error_reply(quiz_host: Host) -> None:
    room = quiz_host.room

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        ada, _ = await join(quiz_host, "ada")
        await boss.send(json.dumps({"type": "push", "index": index_of(room, "first-call")}))
        await next_of(ada, "question")
        for answer in ("B", "D"):  # back to back, not waiting for the first verdict
            await ada.send(json.dumps({"type": "answer", "item": "first-call", "answer": answer}))
        verdict = await next_of(ada, "verdict")
        assert verdict["answer"] == "B"
        refused = await next_of(ada, "error")
        assert refused["message"] == "you already answered this question: your first answer counts"
        await ada.close()
        await boss.close()

    run(scenario())
    assert [a.answer for a in room.store.answers(room.session.id)] == ["B"]


# ---- restarts -----------------------------------------------------------------------------


def test_a_resumed_session_listens_where_its_students_wait(tmp_path: Path) -> None:
    store = tmp_path / "c.db"
    first = CliRunner().invoke(app, host_command(store, "--port", "0"), input="q\n")
    assert first.exit_code == 0, first.output
    port = join_port(first.output)

    again = CliRunner().invoke(app, host_command(store, "--port", "0"), input="q\n")
    assert again.exit_code == 0, again.output
    assert "resuming session" in again.output
    assert join_port(again.output) == port and "must rejoin" not in again.output

    with socket.socket() as squatter:  # something else took the port meanwhile
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        moved = CliRunner().invoke(app, host_command(store, "--port", "0"), input="q\n")
    assert moved.exit_code == 0, moved.output
    elsewhere = join_port(moved.output)
    assert elsewhere != port
    assert f"port {port}" in moved.output
    assert f"students must rejoin at http://127.0.0.1:{elsewhere}" in words(moved.output)
    # the next restart serves where the class rejoined
    last = CliRunner().invoke(app, host_command(store), input="q\n")
    assert join_port(last.output) == elsewhere and "must rejoin" not in last.output

    with socket.socket() as probe:  # a free port, asked for by name: the host goes there
        probe.bind(("127.0.0.1", 0))
        asked = probe.getsockname()[1]
    told = CliRunner().invoke(app, host_command(store, "--port", str(asked)), input="q\n")
    assert join_port(told.output) == asked
    assert f"students must rejoin at http://127.0.0.1:{asked}" in words(told.output)


def test_a_resumed_host_shows_the_teacher_the_key_at_once(lab: Any, db: Path) -> None:
    first = serve_quiz(lab, db).start()
    echo = index_of(first.room, "echo-reply")

    async def before() -> None:
        boss = await teacher(first)
        await boss.send(json.dumps({"type": "push", "index": echo}))
        await next_of(boss, "board", lambda b: b["key"] == "Message received: hello")
        await boss.close()

    try:
        run(before())
    finally:
        first.stop()
    room, resumed = open_classroom(QuizMaterial(ROOT, "basics", lab), ClassroomStore(db))
    assert resumed and room.index == echo

    with Host(room) as second:

        async def after() -> None:
            boss = await teacher(second)  # no push, no answer: the key comes by itself
            board = await next_of(boss, "board", lambda b: b["key"] is not None)
            assert board["key"] == "Message received: hello" and not board["revealed"]
            await boss.close()

        run(after())


def test_a_question_revealed_before_a_restart_comes_back_with_its_key(lab: Any, db: Path) -> None:
    first = serve_quiz(lab, db).start()
    echo = index_of(first.room, "echo-reply")

    async def before() -> None:
        boss = await teacher(first)
        await boss.send(json.dumps({"type": "push", "index": echo}))
        await next_of(boss, "board", lambda b: b["key"] is not None)
        await boss.send(json.dumps({"type": "reveal"}))
        await next_of(boss, "board", lambda b: b["revealed"])
        await boss.send(json.dumps({"type": "push", "index": 0}))  # on to another question
        await next_of(boss, "board", lambda b: b["index"] == 0)
        await boss.close()

    try:
        run(before())
    finally:
        first.stop()
    room, _ = open_classroom(QuizMaterial(ROOT, "basics", lab), ClassroomStore(db))

    with Host(room) as second:

        async def after() -> None:
            boss = await teacher(second)
            alice, _ = await join(second, "alice")
            await boss.send(json.dumps({"type": "push", "index": echo}))  # back to it
            question = await next_of(alice, "question", lambda m: m["item"]["id"] == "echo-reply")
            assert question["revealed"] and question["key"] == "Message received: hello"
            await alice.close()
            await boss.close()

        run(after())


def test_resuming_an_exercise_counts_the_checks_kept(lab: Any, db: Path) -> None:
    material = ExerciseMaterial(ROOT, "echo-loop", lab)
    room, _ = open_classroom(material, ClassroomStore(db))
    with Host(room) as host:

        async def scenario() -> None:
            ada, _ = await join(host, "ada")
            await next_of(ada, "question")
            for _ in range(2):
                await ada.send(json.dumps({"type": "check", "source": "app = None\n"}))
                await next_of(ada, "checked")
            await ada.close()

        run(scenario())
    command = ["classroom", "host", "--exercise", "echo-loop", "--content", str(ROOT)]
    resumed = CliRunner().invoke(
        app, [*command, "--port", "0", "--plain", "--db", str(db)], input="q\n"
    )
    assert resumed.exit_code == 0, resumed.output
    assert "1 student(s), 2 check run(s) kept" in resumed.output
    assert "answer(s)" not in resumed.output


def test_a_session_ended_from_a_pipe_says_so(tmp_path: Path) -> None:
    store = tmp_path / "c.db"
    ended = CliRunner().invoke(app, host_command(store, "--port", "0"), input="e\n")
    assert ended.exit_code == 0, ended.output
    session = re.search(r"new session (\S+)", ended.output)
    assert session is not None
    assert f"session {session.group(1)} has ended" in ended.output
    assert "\nsession ended\n" in ended.output  # the board waited for the host's reply
    assert "stays open" not in ended.output
    assert "wsquiz classroom export --session " + session.group(1) in ended.output
    again = CliRunner().invoke(app, host_command(store, "--port", "0"), input="q\n")
    assert "new session" in again.output  # an ended session is not resumed


# ---- the student's seat, whatever address they type --------------------------------------


def test_a_student_gets_their_seat_back_whatever_address_they_type(lab: Any, db: Path) -> None:
    first = serve_quiz(lab, db).start()
    code = first.room.session.code
    holder = {"host": first}

    async def visit(url: str, name: str) -> str:
        typist = Typist()
        client = client_at(url, code, name, lab, typist)
        running = asyncio.create_task(client.run())
        while f" {name}" not in client.console.export_text(clear=False):
            if running.done():
                running.result()  # a refusal: raised here, with its message
            await asyncio.sleep(0.05)
        typist.type("q")
        assert await asyncio.wait_for(running, WAIT) == 0
        return str(client.console.export_text())

    async def scenario() -> None:
        port = first.port
        assert "joined WebSocket basics as Ada" in await visit(f"http://127.0.0.1:{port}", "Ada")
        back = await visit(f"http://localhost:{port}", "Ada")
        assert "welcome back, Ada" in back and "taken" not in back

        await asyncio.to_thread(first.stop)
        room, resumed = open_classroom(QuizMaterial(ROOT, "basics", lab), ClassroomStore(db))
        assert resumed
        with socket.socket() as squatter:  # the old port is taken: the host moves
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            second = Host(room, "127.0.0.1", 0)
        holder["host"] = second
        await asyncio.to_thread(second.start)
        assert second.port != port
        moved = await visit(f"http://127.0.0.1:{second.port}", "Ada")
        assert "welcome back, Ada" in moved

        # a token kept by an older wsquiz, keyed by the address typed: still read
        _, welcome = await join(second, "Bob")
        from wsquiz._support.paths import data_home

        tokens = data_home() / "classroom-tokens.json"
        old = {f"ws://127.0.0.1:{second.port}/ws/student Bob": welcome["token"]}
        tokens.write_text(json.dumps(old), encoding="utf-8")
        assert "welcome back, Bob" in await visit(f"http://127.0.0.1:{second.port}", "Bob")

    try:
        run(scenario())
    finally:
        holder["host"].stop()


def test_a_name_taken_by_someone_else_gets_a_hint_that_fits(quiz_host: Host, lab: Any) -> None:
    async def scenario() -> None:
        await join(quiz_host, "Ada")  # someone else, elsewhere, holds the name

    run(scenario())
    result = CliRunner().invoke(
        app,
        [
            *("classroom", "join", quiz_host.url, "--code", quiz_host.room.session.code),
            *("--name", "Ada", "--retry", "2"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "the name 'Ada' is taken in this session" in result.output
    fix = result.output[result.output.index("fix:") :]
    assert "pick a name no one else in this class uses" in fix
    assert "no token for 'Ada' is kept on this machine" in " ".join(fix.split())


# ---- exercise files -----------------------------------------------------------------------


def test_an_exercise_check_names_the_students_file_not_the_hosts(lab: Any, db: Path) -> None:
    material = ExerciseMaterial(ROOT, "echo-loop", lab)
    room, _ = open_classroom(material, ClassroomStore(db))
    temp = tempfile.gettempdir()

    with Host(room) as host:

        async def scenario() -> list[dict[str, Any]]:
            ada, _ = await join(host, "Cy")
            await next_of(ada, "question")
            replies = []
            for extra in ({"file": "my_echo.py"}, {}):
                broken = {"type": "check", "source": "import nothing_here_at_all\n", **extra}
                await ada.send(json.dumps(broken))
                replies.append(await next_of(ada, "checked"))
            await ada.close()
            return replies

        named, unnamed = run(scenario())
    assert "my_echo.py:1: ModuleNotFoundError" in named["error"]
    assert "echo_loop.py:1: ModuleNotFoundError" in unnamed["error"]  # the starter's name
    for reply in (named, unnamed):
        assert temp not in json.dumps(reply) and "wsquiz-classroom-" not in json.dumps(reply)
    kept = json.dumps([row.results for row in room.store.best_checks(room.session.id).values()])
    assert "echo_loop.py" in kept or "my_echo.py" in kept
    exported = json.dumps([r.checks for r in room.results()], default=str)
    assert temp not in kept and temp not in exported


def test_the_students_terminal_sends_its_file_name(lab: Any, db: Path, tmp_path: Path) -> None:
    material = ExerciseMaterial(ROOT, "echo-loop", lab)
    room, _ = open_classroom(material, ClassroomStore(db))
    mine = tmp_path / "ada_app.py"
    mine.write_text("import nothing_here_at_all\n")
    typist = Typist()

    with Host(room) as host:

        async def scenario() -> str:
            client = student_client(host, "ada", lab, typist, file=mine)
            running = asyncio.create_task(client.run())
            await until_printed(client.console, "(it is checked here and on the host)")
            typist.type("")
            shown = await until_printed(client.console, "the host checked your file too")
            shown = await until_printed(client.console, "ada_app.py:1: ModuleNotFoundError")
            typist.type("q")
            assert await asyncio.wait_for(running, WAIT) == 0
            return shown

        shown = run(scenario())
    host_part = shown[shown.index("the host checked your file too") :]
    assert "wsquiz-classroom-" not in host_part


# ---- the spread ---------------------------------------------------------------------------


def test_answers_the_judge_treats_as_the_same_make_one_bar(quiz_host: Host) -> None:
    room = quiz_host.room

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        boss = await teacher(quiz_host)
        students = {}
        for name in ("ada", "bob", "cy", "dee"):
            students[name], _ = await join(quiz_host, name)

        async def ask(item: str, answers: dict[str, str]) -> dict[str, Any]:
            await boss.send(json.dumps({"type": "push", "index": index_of(room, item)}))
            for name, answer in answers.items():
                await next_of(students[name], "question")
                message = {"type": "answer", "item": item, "answer": answer}
                await students[name].send(json.dumps(message))
                await next_of(students[name], "verdict")
            return await next_of(boss, "board", lambda b: b["answered"] == len(answers))

        counted = await ask(
            "count-messages", {"ada": "3", "bob": "Three", "cy": "three.", "dee": "4"}
        )
        letters = await ask("first-call", {"ada": "a", "bob": "A", "cy": "option a", "dee": "d"})
        await boss.send(json.dumps({"type": "reveal"}))
        reveal = await next_of(students["ada"], "reveal")
        for ws in [*students.values(), boss]:
            await ws.close()
        return counted, letters, reveal

    counted, letters, reveal = run(scenario())
    bars = {s["answer"]: (s["count"], s["correct"]) for s in counted["spread"]}
    assert bars == {"3": (3, True), "4": (1, False)}
    assert {s["name"]: s["answer"] for s in counted["students"]} == {
        "ada": "3",
        "bob": "3",
        "cy": "3",
        "dee": "4",
    }
    counts = {s["answer"]: s["count"] for s in letters["spread"]}
    assert counts == {"A": 3, "B": 0, "C": 0, "D": 1}
    assert {s["name"]: s["answer"] for s in letters["students"]} == {
        "ada": "A",
        "bob": "A",
        "cy": "A",
        "dee": "D",
    }
    assert {s["answer"]: s["count"] for s in reveal["spread"]} == counts
    # the record keeps what each student typed
    kept = {(a.student, a.item): a.answer for a in room.store.answers(room.session.id)}
    assert kept[("bob", "count-messages")] == "Three" and kept[("cy", "first-call")] == "option a"


# ---- the teacher's commands ---------------------------------------------------------------


def test_every_teacher_command_gets_one_reply(quiz_host: Host) -> None:
    """`done` or an error: a board whose input ended (a piped `e`) knows when it may leave."""

    async def scenario() -> None:
        boss = await teacher(quiz_host)
        for command in ("next", "reveal", "end"):
            await boss.send(json.dumps({"type": command}))
            assert await next_of(boss, "done") == {"type": "done", "command": command}
        await boss.send(json.dumps({"type": "next"}))
        assert (await next_of(boss, "error"))["message"] == "the session has ended"
        await boss.close()

    run(scenario())
