"""Lessons: the bundled ones load, validate and render; every example is served live; the
validator names file, key and fix for each kind of mistake."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support import ROOT, find_lesson, load_lessons
from wsquiz.cli import app
from wsquiz.course.examples import find_example
from wsquiz.course.lessons import load_lesson_set, validate_lessons
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import Lab
from wsquiz.engine.scenario import Scenario
from wsquiz.errors import ContentError, UsageError

LESSONS = load_lessons(ROOT)
EXAMPLES = {name: (lesson, path) for lesson in LESSONS for name, path in lesson.examples.items()}
runner = CliRunner()


def test_the_bundled_lessons_load_in_order_and_validate_clean() -> None:
    names = [lesson.name for lesson in LESSONS]
    seeds = ["first-reply", "message-types", "receive-loop", "chat-room"]
    assert [name for name in names if name in seeds] == seeds
    assert [lesson.number for lesson in LESSONS] == sorted(lesson.number for lesson in LESSONS)
    assert validate_lessons(ROOT) == []


def test_the_seed_examples_and_exercises_are_covered() -> None:
    methods = "".join(path.read_text() for _, path in EXAMPLES.values())
    for call in (
        "receive_text",
        "send_text",
        "receive_bytes",
        "send_bytes",
        "receive_json",
        "send_json",
        "WebSocketDisconnect",
        "ConnectionManager",
        "A user left",
    ):
        assert call in methods, call
    linked = {name for lesson in LESSONS for name in lesson.exercises}
    assert {"echo-loop", "count-messages", "chat-room"} <= linked
    assert {lesson.quiz for lesson in LESSONS} >= {"basics", "messages"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_lesson_example_is_served_live_and_accepts(lab: Lab, name: str) -> None:
    lesson, path = EXAMPLES[name]
    scenario = Scenario.from_steps(
        [{"connect": lesson.run_path(name)}, {"close": 1000}], timeout=5.0
    )
    seen = lab.observe(AppSpec.parse(path), scenario)
    assert seen.client().handshake.accepted, seen.to_dict()
    assert seen.client().handshake.status == 101


def play(lab: Lab, example: str, steps: list[dict[str, Any]]) -> Any:
    scenario = Scenario.from_steps(steps, timeout=5.0)
    return lab.observe(AppSpec.parse(find_example(example, ROOT)), scenario)


def test_a_handler_that_returns_drops_the_connection_and_close_ends_it_cleanly(lab: Lab) -> None:
    steps: list[dict[str, Any]] = [{"connect": "/ws"}, {"send": "hi"}, {"receive_all": True}]
    dropped = play(lab, "first_reply", steps)
    assert dropped.received() == ["Message received: hi"]
    close = dropped.client().close
    assert close is not None and (close.code, close.by) == (1006, "abnormal")
    polite = play(lab, "first_reply_closed", steps)
    close = polite.client().close
    assert close is not None
    assert (close.code, close.reason, close.by) == (1000, "one message is all I take", "server")


def test_message_types_reply_in_their_own_kind(lab: Lab) -> None:
    text = play(lab, "message_types", [{"connect": "/text"}, {"send": "hey"}, {"receive": 1}])
    assert text.received() == ["3 characters, shouted: HEY"]
    raw = play(
        lab, "message_types", [{"connect": "/bytes"}, {"send_bytes": "hello"}, {"receive": 1}]
    )
    assert [(f.kind, f.data) for f in raw.frames if f.direction == "received"] == [
        ("bytes", b"olleh")
    ]
    order = {"item": "tea", "qty": 2, "price": 3}
    data = play(lab, "message_types", [{"connect": "/json"}, {"send_json": order}, {"receive": 1}])
    assert data.received()[0].replace(" ", "") == '{"item":"tea","total":6}'


def test_the_wrong_receive_method_raises_in_the_server_and_drops_the_client(lab: Lab) -> None:
    seen = play(
        lab, "message_types", [{"connect": "/bytes"}, {"send": "hello"}, {"expect_close": True}]
    )
    assert seen.errors and seen.received() == []
    close = seen.client().close
    assert close is not None and close.code != 1000


def test_the_receive_loop_ends_through_websocket_disconnect(lab: Lab) -> None:
    seen = play(
        lab, "receive_loop", [{"connect": "/ws"}, {"send": "a"}, {"receive": 1}, {"close": 4000}]
    )
    assert seen.received() == ["Echo: a"]
    assert seen.errors == ()
    assert any("Client disconnected (code 4000)" in line for line in seen.server.logs)


def test_the_lesson_chat_manager_broadcasts_says_who_left_and_leaks_across_rooms(
    lab: Lab,
) -> None:
    seen = play(
        lab,
        "chat_manager",
        [
            {"connect": "/chat/lobby", "client": "ann"},
            {"connect": "/chat/kitchen", "client": "bob"},
            {"send": "hi", "client": "ann"},
            {"receive": 1, "client": "ann"},
            {"receive": 1, "client": "bob"},
            {"close": 1000, "client": "bob"},
            {"receive": 1, "client": "ann"},
        ],
    )
    assert seen.received("ann") == ["[lobby] hi", "A user left kitchen"]
    assert seen.received("bob") == ["[lobby] hi"]


def test_learn_shows_the_exact_example_file_and_how_to_run_it() -> None:
    result = runner.invoke(app, ["learn", "first-reply"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "lesson 2: Accept, then the first reply" in out
    for example in ("first_reply", "first_reply_closed"):
        for line in find_example(example, ROOT).read_text().splitlines():
            assert line.strip() in out
        assert f"run it: wsquiz run {example}" in out
    assert "@example" not in out
    assert "next: wsquiz quiz basics" in out
    assert "wsquiz exercise start count-messages" in out
    assert "next lesson: wsquiz learn message-types" in out


def test_learn_gives_the_path_when_the_route_is_not_ws() -> None:
    result = runner.invoke(app, ["learn", "7"])
    assert result.exit_code == 0, result.output
    assert "run it: wsquiz run chat_manager --path /chat/lobby" in result.stdout
    assert "wsquiz exercise start chat-room" in result.stdout


def test_a_copied_example_is_changed_and_run_while_the_course_stays_as_it_was(
    tmp_path: Path,
) -> None:
    import json

    bundled = EXAMPLES["first_reply"][1]
    before = bundled.read_bytes()
    mine = tmp_path / "mine"
    result = runner.invoke(app, ["learn", "first-reply", "--copy", "--dir", str(mine)])
    assert result.exit_code == 0, result.output
    copy = mine / "first_reply.py"
    assert copy.read_bytes() == before
    assert f"wsquiz run {copy}" in result.stdout
    copy.write_text(before.decode().replace("Message received", "Got"))
    probe = runner.invoke(app, ["probe", str(copy), "--send", "hi", "--json"])
    assert probe.exit_code == 0, probe.output
    assert json.loads(probe.stdout)["received"] == ["Got: hi"]
    assert bundled.read_bytes() == before

    again = runner.invoke(app, ["learn", "first-reply", "--copy", "--dir", str(mine)])
    assert again.exit_code == 2
    assert "already exist (your changes?): nothing copied" in again.stderr
    assert "Got" in copy.read_text()  # the learner's change is kept
    forced = runner.invoke(app, ["learn", "first-reply", "--copy", "--dir", str(mine), "--force"])
    assert forced.exit_code == 0 and copy.read_bytes() == before


def test_the_copy_commands_quote_the_path_for_a_shell(tmp_path: Path) -> None:
    result = runner.invoke(app, ["learn", "request-data", "--copy", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"wsquiz run {tmp_path / 'request_data.py'} --path '/items/42?limit=5'" in result.stdout


def test_learn_without_a_name_lists_the_lessons_in_order() -> None:
    result = runner.invoke(app, ["learn"])
    assert result.exit_code == 0, result.output
    names = [lesson.name for lesson in LESSONS]
    where = [result.stdout.index(name) for name in names]
    assert where == sorted(where)
    assert "wsquiz learn NAME" in result.stdout


def test_learn_an_unknown_lesson_suggests_and_lists_them() -> None:
    result = runner.invoke(app, ["learn", "frist-reply"])
    assert result.exit_code == 2
    assert "no lesson named 'frist-reply'" in result.stderr
    assert "did you mean 'first-reply'?" in result.stderr
    assert "chat-room" in result.stderr
    assert "Traceback" not in result.output


def test_reading_a_lesson_is_recorded() -> None:
    from wsquiz.learn.progress import Progress

    runner.invoke(app, ["learn", "receive-loop"])
    with Progress() as progress:
        assert list(progress.lessons()) == ["receive-loop"]


def test_find_example_searches_lessons_then_quiz_apps() -> None:
    assert find_example("receive_loop", ROOT) == ROOT / "lessons" / "examples" / "receive_loop.py"
    assert find_example("echo_once.py", ROOT) == ROOT / "quizzes" / "apps" / "echo_once.py"
    with pytest.raises(UsageError) as caught:
        find_example("recieve_loop", ROOT)
    assert "did you mean 'receive_loop'?" in caught.value.fix
    with pytest.raises(UsageError):
        find_example("../README", ROOT)


def test_find_lesson_by_name_stem_or_number() -> None:
    assert find_lesson("chat-room", LESSONS).name == "chat-room"
    assert find_lesson("03-message-types", LESSONS).name == "message-types"
    assert find_lesson("4", LESSONS).name == "receive-loop"


# ---- a course with mistakes ------------------------------------------------------------------

GOOD = """+++
title = "Good"
examples = ["hello"]
+++

Text.

```python
@example not_an_example_inside_a_fence
```

@example hello
"""


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "lessons" / "examples").mkdir(parents=True)
    shutil.copy(
        ROOT / "lessons" / "examples" / "first_reply.py",
        tmp_path / "lessons" / "examples" / "hello.py",
    )
    (tmp_path / "lessons" / "01-good.md").write_text(GOOD)
    return tmp_path


def problems_of(root: Path) -> list[str]:
    return [
        f"{p.file} | {p.where} | {p.key} | {p.message} | {p.fix}" for p in validate_lessons(root)
    ]


def test_a_good_lesson_validates_and_fenced_example_lines_stay_text(course: Path) -> None:
    assert problems_of(course) == []
    (lesson,) = load_lessons(course)
    assert [kind for kind, _ in lesson.segments()] == ["markdown", "example"]
    assert "@example not_an_example_inside_a_fence" in lesson.segments()[0][1]


def write(course: Path, name: str, text: str) -> None:
    (course / "lessons" / name).write_text(text)


MISTAKES = [
    # (file, text, what validate says, whether loading fails too)
    (
        "02-typo.md",
        '+++\ntitle = "T"\nexampels = ["hello"]\n+++\n',
        'lessons/02-typo.md | front matter | exampels | unknown key "exampels" '
        '(did you mean "examples"?)',
        True,
    ),
    (
        "02-notitle.md",
        '+++\nexamples = ["hello"]\n+++\n',
        "lessons/02-notitle.md | front matter | title | title is missing or empty",
        True,
    ),
    (
        "02-missing.md",
        '+++\ntitle = "T"\nexamples = ["helo"]\n+++\n',
        "no example named 'helo'",
        True,
    ),
    (
        "02-undeclared.md",
        '+++\ntitle = "T"\n+++\n\n@example hello\n',
        "lessons/02-undeclared.md | line 5 |  | @example hello is not in the front matter",
        True,
    ),
    ("02-open.md", '+++\ntitle = "T"\n', "the front matter is never closed", True),
    ("02-nofront.md", "# Just markdown\n", "no front matter", True),
    ("02-badtoml.md", "+++\ntitle = \n+++\n", "not valid TOML", True),
    (
        "Intro.md",
        '+++\ntitle = "T"\n+++\n',
        "lessons/Intro.md |  |  | a lesson file is named",
        True,
    ),
    (
        "02-paths.md",
        '+++\ntitle = "T"\npaths = { other = "/x" }\n+++\n',
        "| paths | path given for 'other'",
        True,
    ),
    ("02-good.md", GOOD, "lesson name 'good' is taken by lessons/01-good.md", True),
    # links to other content: reported, but the lesson still loads and reads
    (
        "02-quiz.md",
        '+++\ntitle = "T"\nquiz = "basix"\n+++\n',
        "| quiz | no quiz named 'basix'",
        False,
    ),
    (
        "02-ex.md",
        '+++\ntitle = "T"\nexercises = ["echo"]\n+++\n',
        "| exercises | no exercise named 'echo'",
        False,
    ),
]


@pytest.mark.parametrize(
    ("file", "text", "expected", "fatal"), [pytest.param(*m, id=m[0]) for m in MISTAKES]
)
def test_each_mistake_is_named_with_file_key_and_fix(
    course: Path, file: str, text: str, expected: str, fatal: bool
) -> None:
    write(course, file, text)
    found = problems_of(course)
    assert any(expected in line for line in found), found
    assert all(line.split(" | ")[4] for line in found), "every problem has a fix"
    if fatal:
        with pytest.raises(ContentError):
            load_lessons(course)
        assert [lesson.name for lesson in load_lesson_set(course).lessons] == ["good"]
    else:
        assert len(load_lessons(course)) == 2


def test_an_example_with_a_syntax_error_is_reported_with_its_line(course: Path) -> None:
    (course / "lessons" / "examples" / "hello.py").write_text("app = 1\ndef broken(:\n")
    found = problems_of(course)
    assert any("lessons/examples/hello.py | line 2 |  | SyntaxError" in line for line in found)


def test_learn_with_a_broken_lesson_exits_1_naming_the_file(course: Path) -> None:
    write(course, "02-typo.md", '+++\ntitle = "T"\nexampels = ["hello"]\n+++\n')
    result = runner.invoke(app, ["learn", "typo", "--content", str(course)])
    assert result.exit_code == 1
    assert 'lesson "typo" cannot be used: 1 problem in lessons/02-typo.md' in result.stderr
    assert 'unknown key "exampels" (did you mean "examples"?)' in result.stderr
    assert "fix: the keys allowed here are: title, examples," in result.stderr
    assert "Traceback" not in result.output
