from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from wsquiz.course.exercises import (
    exercise_of_file,
    find_exercise,
    load_exercises,
    validate_exercises,
)
from wsquiz.engine.appfile import AppSpec
from wsquiz.errors import ContentError, UsageError
from wsquiz.learn.checking import prove, run_checks

APPS = ROOT / "quizzes" / "apps"
BUNDLED = load_exercises(ROOT)


def write_app(folder: Path, name: str, body: str) -> AppSpec:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return AppSpec.parse(path)


def results(report: Any) -> dict[str, Any]:
    return {r.name: r for r in report.results}


def test_bundled_exercises_in_order() -> None:
    names = [e.name for e in BUNDLED]
    assert names[:3] == ["echo-loop", "count-messages", "chat-room"]
    for exercise in BUNDLED:
        assert exercise.starter.is_file() and exercise.solution.is_file()
        assert exercise.checks and exercise.max_score > 0
        assert exercise_of_file(exercise.starter) == exercise.name


def test_bundled_exercises_are_valid() -> None:
    assert validate_exercises(ROOT) == []


@pytest.mark.parametrize("exercise", BUNDLED, ids=[e.name for e in BUNDLED])
def test_starter_fails_and_solution_passes(exercise: Any, lab: Any) -> None:
    proof = prove(exercise, lab)
    assert proof.problems == ()
    assert proof.solution is not None and proof.solution.passed
    assert proof.solution.score == exercise.max_score
    assert proof.starter is not None and not proof.starter.passed
    assert proof.starter.error is None  # the starter runs: the learner sees transcripts


def test_unknown_exercise_names_the_available_ones() -> None:
    with pytest.raises(UsageError) as caught:
        find_exercise("echo-lop", ROOT)
    assert "echo-loop" in caught.value.message
    assert "did you mean 'echo-loop'" in caught.value.fix


def test_seed_chat_room_leaks_across_rooms(lab: Any) -> None:
    """The seed's ConnectionManager broadcasts to every room: the checks catch it."""
    report = run_checks(find_exercise("chat-room", ROOT), AppSpec.parse(APPS / "chat_room.py"), lab)
    checks = results(report)
    assert checks["broadcast-to-room"].passed
    assert checks["user-left"].passed
    separate = checks["rooms-are-separate"]
    assert not separate.passed and separate.points == 0
    assert "carol should receive nothing but received ['[r1] hi']" in separate.message
    assert "carol: nothing" in separate.expected
    assert "[r1] hi" in separate.observed
    assert not checks["leaving-stays-in-the-room"].passed
    assert "A user left r1" in checks["leaving-stays-in-the-room"].message
    assert not report.passed and report.score < report.max_score


def test_dead_sockets_never_removed_fail_chat_goes_on(tmp_path: Path, lab: Any) -> None:
    exercise = find_exercise("chat-room", ROOT)
    source = exercise.solution.read_text().replace(
        "        manager.disconnect(websocket, room)\n", ""
    )
    report = run_checks(exercise, write_app(tmp_path, "stale.py", source), lab)
    goes_on = results(report)["chat-goes-on"]
    assert not goes_on.passed
    assert "the server raised" in goes_on.message
    assert str(tmp_path / "stale.py") in goes_on.traceback


def test_uncaught_disconnect_fails_only_the_leaving_check(tmp_path: Path, lab: Any) -> None:
    spec = write_app(
        tmp_path,
        "loop.py",
        (
            "from fastapi import FastAPI, WebSocket\n"
            "app = FastAPI()\n"
            "@app.websocket('/ws')\n"
            "async def ws(websocket: WebSocket):\n"
            "    await websocket.accept()\n"
            "    while True:\n"
            "        data = await websocket.receive_text()\n"
            "        await websocket.send_text(f'Echo: {data}')\n"
        ),
    )
    report = run_checks(find_exercise("echo-loop", ROOT), spec, lab)
    checks = results(report)
    assert checks["echo-one"].passed and checks["echo-every-message"].passed
    leaving = checks["client-leaves-cleanly"]
    assert not leaving.passed
    assert leaving.message.startswith("the server raised WebSocketDisconnect at line 7")
    assert leaving.expected == "no uncaught error in the server log"
    assert 'loop.py", line 7' in leaving.traceback
    assert report.score == 3 and report.max_score == 5


def test_global_counter_fails_the_second_connection(tmp_path: Path, lab: Any) -> None:
    spec = write_app(
        tmp_path,
        "counter.py",
        (
            "from fastapi import FastAPI, WebSocket\n"
            "app = FastAPI()\n"
            "count = 0\n"
            "@app.websocket('/ws')\n"
            "async def ws(websocket: WebSocket):\n"
            "    global count\n"
            "    await websocket.accept()\n"
            "    for _ in range(3):\n"
            "        await websocket.receive_text()\n"
            "        count += 1\n"
            "    await websocket.send_text(f'Messages received: {count}')\n"
        ),
    )
    checks = results(run_checks(find_exercise("count-messages", ROOT), spec, lab))
    assert checks["three-messages"].passed
    alone = checks["each-connection-counts-alone"]
    assert not alone.passed
    assert "second received ['Messages received: 6']" in alone.message
    assert "'Messages received: 3'" in alone.message  # what the reference said, live


def test_syntax_error_fails_every_check_with_file_and_line(tmp_path: Path, lab: Any) -> None:
    source = "from fastapi import FastAPI\napp = FastAPI()\ndef (:\n"
    spec = write_app(tmp_path, "broken.py", source)
    exercise = find_exercise("echo-loop", ROOT)
    report = run_checks(exercise, spec, lab)
    assert report.error is not None
    assert f"{spec.path}:3: SyntaxError" in report.error
    assert report.score == 0 and report.max_score == exercise.max_score
    assert all(not r.passed and r.points == 0 for r in report.results)
    assert len(report.results) == len(exercise.checks)
    assert report.to_dict()["error"] == report.error


def test_no_app_attribute_is_a_load_error(tmp_path: Path, lab: Any) -> None:
    spec = write_app(tmp_path, "noapp.py", "x = 1\n")
    report = run_checks(find_exercise("count-messages", ROOT), spec, lab)
    assert report.error is not None and "no attribute 'app'" in report.error
    assert not report.passed


# ---- a teacher's course: the format's options and its validation ---------------------------

ECHO = """
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
app = FastAPI()
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"Echo: {data}")
    except WebSocketDisconnect:
        pass
"""


def make_exercise(
    root: Path, folder: str, toml: str, starter: str = "", solution: str = ECHO
) -> Path:
    where = root / "exercises" / folder
    where.mkdir(parents=True)
    name = folder.split("-", 1)[1]
    (where / "exercise.toml").write_text(toml, encoding="utf-8")
    (where / "starter.py").write_text(f"# wsquiz exercise: {name}\n{starter}", encoding="utf-8")
    (where / "solution.py").write_text(solution, encoding="utf-8")
    return where


def test_exact_replies_and_close_codes(tmp_path: Path, lab: Any) -> None:
    make_exercise(
        tmp_path,
        "01-exact",
        """
name = "exact"
title = "Exact"
statement = "echo"
[[checks]]
name = "exact-echo"
scenario = [{ connect = "/ws" }, { send = "hi" }, { receive = 1 }, { close = 4000 }]
expect = { replies = { client = ["Echo: hi"] }, close = 4000 }
[[checks]]
name = "wrong-on-purpose"
scenario = [{ connect = "/ws" }, { send = "hi" }, { receive = 1 }]
expect = { replies = { client = ["Echo: bye"] } }
""",
        starter=ECHO,
    )
    exercise = find_exercise("exact", tmp_path)
    checks = results(run_checks(exercise, AppSpec(exercise.solution), lab))
    assert checks["exact-echo"].passed
    wrong = checks["wrong-on-purpose"]
    assert not wrong.passed
    assert wrong.message == "the client received ['Echo: hi']; expected ['Echo: bye']"


def test_validation_names_file_key_and_fix(tmp_path: Path) -> None:
    make_exercise(
        tmp_path,
        "01-first",
        """
name = "frist"
title = "First"
statment = "typo"
[[checks]]
name = "one"
points = -1
scenario = [{ connect = "/ws" }, { sned = "x" }]
[[checks]]
name = "two"
scenario = [{ connect = "/ws", client = "a" }]
expect = { silent = ["b"], server_errors = "never" }
""",
    )
    found = validate_exercises(tmp_path)
    text = "\n".join(f"{p.file} | {p.where} | {p.key} | {p.message} | {p.fix}" for p in found)
    toml = str(tmp_path / "exercises" / "01-first" / "exercise.toml")
    assert all(p.file == "exercises/01-first/exercise.toml" for p in found)
    assert (
        'top level | statment | unknown key "statment" (did you mean "statement"?) | '
        "the keys allowed here are: name, title,"
    ) in text
    assert "'statement' is missing" in text
    assert "name 'frist' does not match the folder '01-first'" in text
    assert 'check "one" | points' in text
    assert 'check "one" | scenario | step 1' in text
    assert "no client named 'b' in the scenario (its clients: a)" in text
    assert "server_errors = 'never' is not one of" in text
    with pytest.raises(ContentError) as caught:
        load_exercises(tmp_path)
    assert toml in caught.value.message


def test_missing_files_and_header(tmp_path: Path) -> None:
    where = make_exercise(tmp_path, "02-lonely", 'title = "t"\nstatement = "s"\n')
    (where / "starter.py").write_text("print('no header')\n")
    problems = validate_exercises(tmp_path)
    assert any(p.key == "header" and "# wsquiz exercise: lonely" in p.fix for p in problems)
    assert any(p.key == "checks" for p in problems)
    (where / "solution.py").unlink()
    problems = validate_exercises(tmp_path)
    assert [p.message for p in problems] == ["solution.py is missing"]


def test_a_folder_without_exercise_toml_is_skipped_by_the_loader(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "exercises" / "01-echo-loop", tmp_path / "exercises" / "01-echo-loop")
    (tmp_path / "exercises" / "02-draft").mkdir()
    assert [e.name for e in load_exercises(tmp_path)] == ["echo-loop"]
    assert [p.message for p in validate_exercises(tmp_path)] == [
        "exercise.toml is missing",
        "starter.py is missing",
        "solution.py is missing",
    ]


def test_an_app_that_never_serves_is_reported_once(tmp_path: Path, lab: Any) -> None:
    from wsquiz.engine.serving import Limits

    spec = write_app(tmp_path, "spin.py", "while True:\n    pass\n")
    report = run_checks(find_exercise("count-messages", ROOT), spec, lab, Limits(startup_s=1.0))
    assert report.error is not None and "did not start serving within 1s" in report.error
    assert "finish importing quickly" in report.error_fix
    assert all(r.message.startswith("not checked: ") for r in report.results)


def test_served_once_a_crash_costs_only_its_own_check(tmp_path: Path, lab: Any) -> None:
    """echo-loop serves the learner's app once for all checks; a dead server is restarted."""
    exercise = find_exercise("echo-loop", ROOT)
    assert exercise.serve == "once"
    spec = write_app(
        tmp_path,
        "crash.py",
        ECHO.replace(
            "data = await websocket.receive_text()\n",
            "data = await websocket.receive_text()\n"
            "            if data == 'hello':\n"
            "                import os; os._exit(3)\n",
        ),
    )
    checks = results(run_checks(exercise, spec, lab))
    assert not checks["echo-one"].passed
    assert "the server process ended" in checks["echo-one"].message
    assert checks["echo-every-message"].passed
    assert checks["client-leaves-cleanly"].passed


def test_observed_names_the_messages_the_scenario_did_not_wait_for(
    tmp_path: Path, lab: Any
) -> None:
    """Only the messages a client waits for are compared, but the summary names every message
    it received: never "nothing" where the transcript shows one."""
    make_exercise(
        tmp_path,
        "01-unasked",
        """
name = "unasked"
title = "Unasked"
statement = "echo"
[[checks]]
name = "two-sent-one-awaited"
scenario = [
  { connect = "/ws", client = "a" },
  { connect = "/ws", client = "b" },
  { send = "one", client = "a" },
  { send = "two", client = "a" },
  { receive = 1, client = "a" },
  { send = "ping", client = "b" },
  { sleep = 0.2 },
]
expect = { replies = { a = ["Echo: zero"], b = [] } }
""",
        starter=ECHO,
    )
    exercise = find_exercise("unasked", tmp_path)
    (wrong,) = run_checks(exercise, AppSpec(exercise.solution), lab).results
    assert not wrong.passed
    assert wrong.message == "a received ['Echo: one']; expected ['Echo: zero']"
    assert wrong.expected.splitlines() == ["a: ['Echo: zero']", "b: nothing"]
    assert wrong.observed.splitlines() == [
        "a: ['Echo: one'], then ['Echo: two'] (not waited for, not compared)",
        "b: ['Echo: ping'] (not waited for, not compared)",
    ]


def test_concurrent_names_two_clients_of_the_scenario(tmp_path: Path) -> None:
    make_exercise(
        tmp_path,
        "01-together",
        """
name = "together"
title = "Together"
statement = "s"
[[checks]]
name = "alone"
scenario = [{ connect = "/ws", client = "a" }, { connect = "/ws", client = "b" }]
expect = { concurrent = ["a"] }
[[checks]]
name = "stranger"
scenario = [{ connect = "/ws", client = "a" }]
expect = { concurrent = ["a", "z"] }
""",
    )
    problems = {(p.where, p.key): p for p in validate_exercises(tmp_path)}
    alone = problems[('check "alone"', "expect.concurrent")]
    assert alone.message == "concurrent names at least two clients (those served at the same time)"
    assert alone.fix == 'write concurrent = ["first", "second"]'
    stranger = problems[('check "stranger"', "expect.concurrent")]
    assert stranger.message == "no client named 'z' in the scenario (its clients: a)"


def test_checks_of_several_files_at_once_share_the_references_observations(
    tmp_path: Path, lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class graded several students at a time: the reference is observed once per check."""
    import asyncio

    import wsquiz.engine.lab
    from wsquiz.learn.checking import check_app

    observed: list[str] = []
    observe = wsquiz.engine.lab.observe

    async def counted(spec: Any, scenario: Any, **options: Any) -> Any:
        observed.append(str(spec.path))
        return await observe(spec, scenario, **options)

    monkeypatch.setattr(wsquiz.engine.lab, "observe", counted)
    make_exercise(
        tmp_path,
        "01-shared",
        (ROOT / "exercises/01-echo-loop/exercise.toml")
        .read_text()
        .replace('"echo-loop"', '"shared"'),
        starter=ECHO,
    )
    exercise = find_exercise("shared", tmp_path)

    async def two_students() -> list[Any]:
        spec = AppSpec(exercise.solution)
        return list(await asyncio.gather(*(check_app(exercise, spec, lab) for _ in range(2))))

    reports = lab.call(two_students())
    assert all(report.passed for report in reports)
    assert observed == [str(exercise.solution)] * len(exercise.checks)


TICKER = """
import asyncio, time
from fastapi import FastAPI, WebSocket
app = FastAPI()
@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    for n in range(1, 4):
        await websocket.send_text(f"tick {n}")
        {pause}
    await websocket.close()
"""


def test_a_client_whose_handshake_waits_for_another_was_not_served_at_the_same_time(
    tmp_path: Path, lab: Any
) -> None:
    make_exercise(
        tmp_path,
        "01-tickers",
        """
name = "tickers"
title = "Tickers"
statement = "tick"
[[checks]]
name = "both-at-once"
timeout = 2.5
scenario = [
  { connect = "/ws", client = "first" },
  { connect = "/ws", client = "second", timeout = 0.5 },
  { receive_all = true, client = "first" },
  { receive_all = true, client = "second" },
]
expect = { concurrent = ["first", "second"], handshake = "ignore", replies = "ignore" }
""",
        solution=TICKER.replace("{pause}", "await asyncio.sleep(0.05)"),
    )
    exercise = find_exercise("tickers", tmp_path)
    assert run_checks(exercise, AppSpec(exercise.solution), lab).passed
    blocking = write_app(tmp_path, "mine.py", TICKER.replace("{pause}", "time.sleep(0.5)"))
    (waited,) = run_checks(exercise, blocking, lab).results
    assert not waited.passed
    assert waited.message.startswith(
        "second's handshake got no answer while first was being served: second waited for "
        "first, so something blocks the event loop"
    )
    assert waited.observed == "second not served while first was"
