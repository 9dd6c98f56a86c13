from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from tests.support import ROOT, flat
from wsquiz.cli import app

EXERCISES = ROOT / "exercises"
runner = CliRunner()


# Temporary paths are long (longer still under xdist, and on CI): where the output shows one,
# the console is wide enough that Rich never folds it mid-path.
WIDE = {"COLUMNS": "1000"}


def test_exercise_list_json() -> None:
    result = runner.invoke(app, ["exercise", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["exercises"]
    assert listed[:3] == [  # in course order: the exercises of lesson 2, then of lesson 3
        {"name": "count-messages", "title": "Count three messages, then answer"},
        {"name": "bytes-echo", "title": "Binary frames: send the bytes back reversed"},
        {"name": "json-api", "title": "A JSON calculator that survives bad input"},
    ]


def test_exercise_list_table() -> None:
    result = runner.invoke(app, ["exercise", "list"])
    assert result.exit_code == 0, result.output
    assert "echo-loop" in result.stdout and "wsquiz exercise start NAME" in result.stdout


def test_start_writes_the_starter_and_never_overwrites(tmp_path: Path) -> None:
    start = ["exercise", "start", "echo-loop", "--dir", str(tmp_path)]
    result = runner.invoke(app, start, env=WIDE)
    assert result.exit_code == 0, result.output
    written = tmp_path / "echo-loop.py"
    assert written.read_text() == (EXERCISES / "01-echo-loop" / "starter.py").read_text()
    assert "Echo: <text>" in result.stdout  # the statement
    assert f"wsquiz check {written}" in flat(result.stdout)

    written.write_text("# my work\n")
    again = runner.invoke(app, ["exercise", "start", "echo-loop", "--dir", str(tmp_path)])
    assert again.exit_code == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert written.read_text() == "# my work\n"

    forced = runner.invoke(
        app, ["exercise", "start", "echo-loop", "--dir", str(tmp_path), "--force"]
    )
    assert forced.exit_code == 0
    assert "TODO" in written.read_text()

    into_a_file = runner.invoke(app, ["exercise", "start", "echo-loop", "--dir", str(written)])
    assert into_a_file.exit_code == 2
    assert f"--dir {written} is a file, not a folder" in into_a_file.stderr


def test_start_unknown_exercise() -> None:
    result = runner.invoke(app, ["exercise", "start", "chatroom"])
    assert result.exit_code == 2
    assert "no exercise named 'chatroom'" in result.stderr
    assert "did you mean 'chat-room'" in result.stderr


def test_check_starter_shows_expected_and_observed(tmp_path: Path) -> None:
    starter = tmp_path / "echo-loop.py"
    shutil.copy(EXERCISES / "01-echo-loop" / "starter.py", starter)
    result = runner.invoke(app, ["check", str(starter)])  # the exercise from the header
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "✗ failed  echo-one" in out
    assert "the client received ['hello']; the reference solution sent ['Echo: hello']" in out
    assert "expected  client: ['Echo: hello']" in out
    assert "observed  client: ['hello']" in out
    assert "your server: echo-one" in out  # the transcript of the failing check
    assert "> hello" in out and "< hello" in out
    assert "score 0/5: 3 of 3 checks failed" in out
    assert "hint:" in out


def test_check_solution_passes_and_records_progress(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    shutil.copy(EXERCISES / "02-count-messages" / "solution.py", mine)
    result = runner.invoke(app, ["check", str(mine), "--exercise", "count-messages"])
    assert result.exit_code == 0, result.output
    assert "✓ passed  three-messages" in result.stdout
    assert "score 4/4: all 3 checks passed" in result.stdout
    assert "hint:" not in result.stdout

    from wsquiz.learn.progress import Progress

    with Progress() as progress:
        row = progress.exercises()["count-messages"]
    assert row.passed and row.score == 4 and row.max_score == 4


def test_check_shows_the_learners_traceback(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text(
        "# wsquiz exercise: echo-loop\n"
        "from fastapi import FastAPI, WebSocket\n"
        "app = FastAPI()\n"
        "@app.websocket('/ws')\n"
        "async def ws(websocket: WebSocket):\n"
        "    await websocket.accept()\n"
        "    while True:\n"
        "        data = await websocket.receive_text()\n"
        "        await websocket.send_text(f'Echo: {data}')\n"
    )
    result = runner.invoke(app, ["check", str(mine)], env=WIDE)
    assert result.exit_code == 1
    out = result.stdout
    assert "✓ passed  echo-one" in out
    assert "✗ failed  client-leaves-cleanly" in out
    assert "expected  no uncaught error in the server log" in out
    assert "your server raised:" in out
    assert 'mine.py", line 8, in ws' in flat(out)
    assert "WebSocketDisconnect: (1000, 'bye')" in out


def test_check_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("# wsquiz exercise: echo-loop\nfrom fastapi import FastAPI\napp = FastAPI(\n")
    result = runner.invoke(app, ["check", str(broken)], env=WIDE)
    assert result.exit_code == 1
    assert f"{broken}:3: SyntaxError" in flat(result.stdout)
    assert "your app did not serve" in result.stdout
    assert "score 0/5: nothing was checked" in result.stdout


def test_check_json(tmp_path: Path) -> None:
    starter = tmp_path / "chat.py"
    shutil.copy(ROOT / "quizzes" / "apps" / "chat_room.py", starter)
    result = runner.invoke(app, ["check", str(starter), "-e", "chat-room", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["exercise"] == "chat-room" and data["passed"] is False
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["broadcast-to-room"]["passed"] is True
    assert checks["rooms-are-separate"]["passed"] is False
    assert checks["rooms-are-separate"]["transcript"]["clients"][0]["name"] == "carol"


def test_check_unusable_input_exits_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["check", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr

    anonymous = tmp_path / "anon.py"
    anonymous.write_text("app = None\n")
    unnamed = runner.invoke(app, ["check", str(anonymous)])
    assert unnamed.exit_code == 2
    assert "which exercise" in unnamed.stderr and "--exercise NAME" in unnamed.stderr

    unknown = runner.invoke(app, ["check", str(anonymous), "--exercise", "nope"])
    assert unknown.exit_code == 2 and "no exercise named 'nope'" in unknown.stderr


def copy_exercise(source: str, target: Path, name: str) -> Path:
    shutil.copytree(EXERCISES / source, target)
    old = source.split("-", 1)[1]
    for file in ("exercise.toml", "starter.py"):
        path = target / file
        path.write_text(path.read_text().replace(old, name))
    return target


def test_verify_flags_bad_exercises(tmp_path: Path) -> None:
    course = tmp_path / "course" / "exercises"
    shutil.copytree(EXERCISES / "01-echo-loop", course / "01-echo-loop")
    lazy = copy_exercise("02-count-messages", course / "02-lazy", "lazy")
    shutil.copy(lazy / "solution.py", lazy / "starter.py")  # nothing left to do
    starter = lazy / "starter.py"
    starter.write_text("# wsquiz exercise: lazy\n" + starter.read_text())
    wrong = copy_exercise("02-count-messages", course / "03-wrong", "wrong")
    toml = (
        (wrong / "exercise.toml")
        .read_text()
        .replace(
            'name = "three-messages"\n',
            'name = "three-messages"\n'
            'expect = { replies = { client = ["Messages received: 4"] } }\n',
        )
    )
    (wrong / "exercise.toml").write_text(toml)

    result = runner.invoke(app, ["exercise", "verify", "--content", str(tmp_path / "course")])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "ok      echo-loop: the solution passes, the starter fails" in out
    assert "bad     lazy: the starter passes every check: it must leave something to do" in out
    assert "bad     wrong: the solution fails check 'three-messages': the client received" in out


def test_check_infers_the_exercise_from_the_file_name(tmp_path: Path) -> None:
    mine = tmp_path / "count-messages.py"
    body = (EXERCISES / "02-count-messages" / "solution.py").read_text()
    mine.write_text(body.replace("# wsquiz exercise: count-messages\n", ""))
    result = runner.invoke(app, ["check", str(mine)])
    assert result.exit_code == 0, result.output
    assert "count-messages: Count three messages" in result.stdout


def test_check_names_every_message_a_client_received(tmp_path: Path) -> None:
    """direct-messages' starter gives a taken name to the impostor, who then receives alice's
    message: the summary says so, as the transcript does."""
    starter = tmp_path / "direct-messages.py"
    shutil.copy(EXERCISES / "16-direct-messages" / "starter.py", starter)
    result = runner.invoke(app, ["check", str(starter), "--json"])
    assert result.exit_code == 1, result.output
    taken = {c["name"]: c for c in json.loads(result.stdout)["checks"]}["name-taken"]
    clients = {c["name"]: c for c in taken["transcript"]["clients"]}
    assert clients["impostor"]["received"] == ["bob: lunch?"]
    assert "impostor should receive nothing but received ['bob: lunch?']" in taken["message"]
    assert "impostor: ['bob: lunch?']" in taken["observed"].splitlines()
    assert "impostor: nothing" not in taken["observed"]
    assert "impostor: nothing" in taken["expected"]


def test_check_says_when_the_server_never_closed(tmp_path: Path) -> None:
    """close-codes' starter never closes: the client gives up waiting and closes, which is not
    the server closing with the wrong reason."""
    starter = tmp_path / "close-codes.py"
    shutil.copy(EXERCISES / "06-close-codes" / "starter.py", starter)
    result = runner.invoke(app, ["check", str(starter)], env=WIDE)
    assert result.exit_code == 1, result.output
    out = flat(result.stdout)
    assert (
        "your server never closed the connection (the client gave up after 1s and closed it); "
        "the reference's server closed it with 1000 and reason 'bye'"
    ) in out
    assert "expected client: ['hi'] client: the server closes 1000 'bye'" in out
    assert (
        "observed client: ['hi', 'quit'] client: the server never closed; "
        "the client gave up after 1s and closed it (1000 '')"
    ) in out
    assert "expected reason 'bye'" not in out
    assert "and reason 'bye' (timeout:" not in out  # said once, in words
    assert "closed with 1000, expected 1008" not in out  # forbidden-word: the same, with 1008
    assert "the reference's server closed it with 1008 and reason 'forbidden word'" in out
