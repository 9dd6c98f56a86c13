"""The whole course: enough lessons and questions, every link resolves, and what the lessons'
text says about their examples is what a live server does (the quizzes are played by
test_judge.py; this checks the lessons' own claims)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import ROOT, load_lessons
from wsquiz.course.examples import find_example
from wsquiz.course.exercises import load_exercises
from wsquiz.course.lessons import validate_lessons
from wsquiz.course.quizzes import load_course
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import Lab
from wsquiz.engine.scenario import Scenario
from wsquiz.engine.transcript import Transcript

LESSONS = load_lessons(ROOT)
COURSE = load_course(ROOT)
QUESTIONS = [q for quiz in COURSE.quizzes for q in quiz.questions]
EXAMPLES = {name: (lesson, path) for lesson in LESSONS for name, path in lesson.examples.items()}

# The order of the course's topics (a lesson may be added between them, none may move).
TOPICS = [
    "what-is-a-websocket",
    "first-reply",
    "message-types",
    "receive-loop",
    "closing",
    "request-data",
    "chat-room",
    "room-bugs",
    "concurrency",
    "subprotocols-auth",
    "testing",
    "production",
]
SEED_IDS = {
    "connection-open",
    "echo-reply",
    "first-call",
    "accept-receive-syntax",
    "count-messages",
    "receive-after-close",
    "disconnect-exception",
    "chat-user-left",
}


def test_the_course_has_at_least_ten_lessons_in_topic_order() -> None:
    names = [lesson.name for lesson in LESSONS]
    assert len(names) >= 10
    assert [name for name in names if name in TOPICS] == TOPICS
    assert validate_lessons(ROOT) == []


def test_the_course_has_at_least_45_questions_with_unique_ids_of_every_kind() -> None:
    ids = Counter(q.id for q in QUESTIONS)
    assert len(QUESTIONS) >= 45
    assert [qid for qid, n in ids.items() if n > 1] == []
    assert set(ids) >= SEED_IDS
    kinds = Counter(q.kind for q in QUESTIONS)
    assert min(kinds["predict"], kinds["choice"], kinds["concept"]) >= 5, kinds


def test_every_question_a_server_can_show_runs_an_app() -> None:
    live = [q for q in QUESTIONS if q.kind in ("predict", "choice")]
    assert all(q.apps for q in live), [q.id for q in live if not q.apps]
    for q in QUESTIONS:
        for app in q.apps:
            assert app.is_file(), (q.id, app)


def test_every_lesson_links_what_exists() -> None:
    quizzes = {quiz.name for quiz in COURSE.quizzes}
    exercises = {exercise.name for exercise in load_exercises(ROOT)}
    for lesson in LESSONS:
        assert lesson.quiz is None or lesson.quiz in quizzes, (lesson.name, lesson.quiz)
        assert set(lesson.exercises) <= exercises, (lesson.name, lesson.exercises)
        for name, path in lesson.examples.items():
            assert path.is_file() and find_example(name, ROOT) == path, (lesson.name, name)
            assert f"@example {name}" in lesson.body, (lesson.name, name)
    assert quizzes <= {lesson.quiz for lesson in LESSONS}, "a quiz no lesson leads to"
    linked = {name for lesson in LESSONS for name in lesson.exercises}
    assert len(linked) >= 12


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_lesson_example_loads_and_is_served_live(lab: Lab, name: str) -> None:
    lesson, path = EXAMPLES[name]
    scenario = Scenario.from_steps([{"connect": lesson.run_path(name)}, {"close": 1000}], 5.0)
    seen = lab.observe(AppSpec.parse(path), scenario)
    assert seen.client().handshake.status == 101, seen.to_dict()


# What each lesson says its examples do, played live. Generous timeouts: a missing message fails
# the check, it does not slow it down.

Check = Callable[[Transcript], None]


def close_of(seen: Transcript, client: str | None = None) -> tuple[int, str, str]:
    record = seen.client(client)
    assert record.close is not None, seen.to_dict()
    return record.close.code, record.close.reason, record.close.by


def status_of(seen: Transcript, client: str | None = None) -> int:
    return seen.client(client).handshake.status


def one_port(seen: Transcript) -> None:
    replies = seen.received()
    assert replies[0].startswith("hello, client on port ")
    port = replies[0].rsplit(" ", 1)[1]
    assert replies[1:] == [f"message 1 from port {port}: a", f"message 2 from port {port}: b"]


def handshake_headers(seen: Transcript) -> None:
    assert seen.received() == [
        "upgrade: websocket",
        "connection: Upgrade",
        "sec-websocket-version: 13",
        "scheme: ws",
    ]


def crash_drops(seen: Transcript) -> None:
    assert close_of(seen)[0] == 1006
    assert seen.errors and seen.errors[0].is_a("ValueError")


def goodbye_reported(seen: Transcript) -> None:
    assert close_of(seen, "alice") == (4000, "bye", "client")
    assert seen.received("bob") == ["client left with code 4000, reason 'bye'"]


def quit_closes(seen: Transcript) -> None:
    assert close_of(seen, "alice") == (1000, "you asked to quit", "server")
    assert seen.received("bob") == ["the server closed it"]
    assert seen.errors == ()


def request_data(seen: Transcript) -> None:
    assert seen.received()[:2] == ["item 42 (int), limit 5", "team blue, session s3cr3t"]


def admin_refused(seen: Transcript) -> None:
    assert seen.received() == ["alice: hi"]
    assert close_of(seen) == (1008, "not for you", "server")


def dead_socket(seen: Transcript) -> None:
    assert seen.received("alice") == ["hi"]
    assert close_of(seen, "alice")[0] == 1006
    assert seen.received("carol") == []
    assert any(e.is_a("WebSocketDisconnect") for e in seen.errors)


def skipped(seen: Transcript) -> None:
    assert seen.received("ann") == ["hi", "again"]
    assert seen.received("dan") == ["hi", "again"]
    assert seen.received("cat") == ["again"]
    assert seen.errors == ()


def rooms_right(seen: Transcript) -> None:
    assert seen.received("bob") == ["[r1] hello"]
    assert seen.received("alice") == ["[r1] hello", "A user left r1", "[r1] still here"]
    assert seen.received("carol") == []
    assert seen.errors == ()


def ticks(count: int) -> Check:
    def check(seen: Transcript) -> None:
        assert seen.received() == [f"tick {n}" for n in range(1, count + 1)]
        assert close_of(seen) == (1000, "that's all", "server")

    return check


def second_reply(expected: str) -> Check:
    def check(seen: Transcript) -> None:
        assert seen.received()[1] == expected, seen.received()
        assert sorted(seen.received()) == ["Echo: hi", "tick 1", "tick 2", "tick 3"]

    return check


def idle_closed(seen: Transcript) -> None:
    assert seen.received() == ["Echo: hi", "Echo: still"]
    assert close_of(seen) == (4000, "idle for 1.0 s", "server")


def misuse_reported(message: str) -> Check:
    """`/last` reports the RuntimeError of a receive on a finished socket: Starlette's
    WebSocketDisconnected from 1.7, a plain RuntimeError before, with the same message."""

    def check(seen: Transcript) -> None:
        (report,) = seen.received("b")
        name, _, text = report.partition(": ")
        assert name in ("WebSocketDisconnected", "RuntimeError"), report
        assert text == message, report

    return check


def replies(*expected: str) -> Check:
    def check(seen: Transcript) -> None:
        assert seen.received() == list(expected), seen.to_dict()

    return check


def refused(seen: Transcript) -> None:
    assert status_of(seen) == 403
    assert seen.errors == ()


def closed(code: int, reason: str = "", by: str = "server") -> Check:
    def check(seen: Transcript) -> None:
        assert close_of(seen) == (code, reason, by), seen.to_dict()

    return check


def both(*checks: Check) -> Check:
    def check(seen: Transcript) -> None:
        for one in checks:
            one(seen)

    return check


def protocol_token(seen: Transcript) -> None:
    assert seen.client().handshake.subprotocol == "bearer"
    assert seen.received() == ["welcome alice"]


def subprotocol(expected: str | None) -> Check:
    def check(seen: Transcript) -> None:
        assert status_of(seen) == 101
        assert seen.client().handshake.subprotocol == expected
        assert seen.received()[0].endswith(f"we speak {expected}")

    return check


LONG = "x" * 100
CLAIMS: dict[str, tuple[str, list[dict[str, Any]], Check]] = {
    "one-connection": (
        "one_connection",
        [
            {"connect": "/ws"},
            {"receive": 1},
            {"send": "a"},
            {"receive": 1},
            {"send": "b"},
            {"receive": 1},
        ],
        one_port,
    ),
    "handshake-headers": (
        "handshake_headers",
        [{"connect": "/ws"}, {"receive_all": True}],
        handshake_headers,
    ),
    "close-returns": (
        "close_codes",
        [{"connect": "/returns"}, {"receive_all": True}],
        both(replies("done"), closed(1006, "", "abnormal")),
    ),
    "close-closes": ("close_codes", [{"connect": "/closes"}, {"receive_all": True}], closed(1000)),
    "close-going-away": (
        "close_codes",
        [{"connect": "/going-away"}, {"receive_all": True}],
        closed(1001, "server restarting"),
    ),
    "close-refuses": ("close_codes", [{"connect": "/refuses"}], refused),
    "close-crashes": ("close_codes", [{"connect": "/crashes"}, {"receive_all": True}], crash_drops),
    "close-reports": (
        "close_codes",
        [{"connect": "/reports"}, {"receive_all": True}],
        closed(1011, "internal error"),
    ),
    "goodbye-client-code": (
        "goodbye_codes",
        [
            {"connect": "/ws", "client": "alice"},
            {"close": 4000, "reason": "bye", "client": "alice"},
            {"sleep": 0.1},
            {"connect": "/last", "client": "bob"},
            {"receive": 1, "client": "bob"},
        ],
        goodbye_reported,
    ),
    "goodbye-quit": (
        "goodbye_codes",
        [
            {"connect": "/ws", "client": "alice"},
            {"send": "quit", "client": "alice"},
            {"expect_close": True, "client": "alice"},
            {"sleep": 0.1},
            {"connect": "/last", "client": "bob"},
            {"receive": 1, "client": "bob"},
        ],
        quit_closes,
    ),
    "request-data": (
        "request_data",
        [
            {
                "connect": "/items/42?limit=5",
                "headers": {"X-Team": "blue", "Cookie": "session=s3cr3t"},
            },
            {"receive_all": True},
        ],
        request_data,
    ),
    "request-data-not-int": ("request_data", [{"connect": "/items/abc"}], refused),
    "request-data-over-limit": ("request_data", [{"connect": "/items/7?limit=50"}], refused),
    "dependency-no-token": ("token_dependency", [{"connect": "/ws"}], refused),
    "dependency-cookie": (
        "token_dependency",
        [
            {"connect": "/ws", "headers": {"Cookie": "session=t-bob"}},
            {"send": "yo"},
            {"receive": 1},
        ],
        replies("bob: yo"),
    ),
    "dependency-after-accept": (
        "token_dependency",
        [
            {"connect": "/ws?token=t-alice"},
            {"send": "hi"},
            {"receive": 1},
            {"send": "admin"},
            {"expect_close": True},
        ],
        admin_refused,
    ),
    "dead-socket": (
        "room_dead_socket",
        [
            {"connect": "/chat", "client": "alice"},
            {"connect": "/chat", "client": "bob"},
            {"connect": "/chat", "client": "carol"},
            {"close": 1000, "client": "bob"},
            {"sleep": 0.1},
            {"send": "hi", "client": "alice"},
            {"receive": 1, "client": "alice"},
            {"receive": 1, "client": "carol", "timeout": 0.5},
            {"expect_close": True, "client": "alice"},
        ],
        dead_socket,
    ),
    "skip-while-iterating": (
        "room_skip",
        [{"connect": "/chat", "client": c} for c in ("ann", "ben", "cat", "dan")]
        + [
            {"close": 1000, "client": "ben"},
            {"sleep": 0.1},
            {"send": "hi", "client": "ann"},
            {"receive": 1, "client": "ann"},
            {"receive": 1, "client": "dan"},
            {"receive": 1, "client": "cat", "timeout": 0.5},
            {"send": "again", "client": "ann"},
            {"receive": 1, "client": "ann"},
            {"receive": 1, "client": "dan"},
            {"receive": 1, "client": "cat"},
        ],
        skipped,
    ),
    "rooms-done-right": (
        "rooms_done_right",
        [
            {"connect": "/chat/r1", "client": "alice"},
            {"connect": "/chat/r1", "client": "bob"},
            {"connect": "/chat/r2", "client": "carol"},
            {"send": "hello", "client": "alice"},
            {"receive": 1, "client": "alice"},
            {"receive": 1, "client": "bob"},
            {"close": 1000, "client": "bob"},
            {"receive": 1, "client": "alice"},
            {"send": "still here", "client": "alice"},
            {"receive": 1, "client": "alice"},
            {"receive": 1, "client": "carol", "timeout": 0.5},
        ],
        rooms_right,
    ),
    "used-after-close": (
        "used_after_close",
        [
            {"connect": "/after-close", "client": "a"},
            {"expect_close": True, "client": "a"},
            {"sleep": 0.2},
            {"connect": "/last", "client": "b"},
            {"receive": 1, "client": "b"},
        ],
        misuse_reported('WebSocket is not connected. Need to call "accept" first.'),
    ),
    "used-after-leave": (
        "used_after_close",
        [
            {"connect": "/after-leave", "client": "a"},
            {"close": 1000, "client": "a"},
            {"sleep": 0.2},
            {"connect": "/last", "client": "b"},
            {"receive": 1, "client": "b"},
        ],
        misuse_reported('Cannot call "receive" once a disconnect message has been received.'),
    ),
    "push-ticker": ("push_ticker", [{"connect": "/ticks"}, {"receive_all": True}], ticks(3)),
    "push-ticker-count": (
        "push_ticker",
        [{"connect": "/ticks?count=5"}, {"receive_all": True}],
        ticks(5),
    ),
    "push-in-turn": (
        "push_in_turn",
        [{"connect": "/ws"}, {"send": "hi"}, {"receive": 4}],
        second_reply("tick 2"),
    ),
    "push-alongside": (
        "push_alongside",
        [{"connect": "/ws"}, {"send": "hi"}, {"receive": 4}],
        second_reply("Echo: hi"),
    ),
    "idle-timeout": (
        "idle_timeout",
        [
            {"connect": "/ws"},
            {"send": "hi"},
            {"receive": 1},
            {"sleep": 0.2},
            {"send": "still"},
            {"receive": 1},
            {"expect_close": True, "timeout": 5},
        ],
        idle_closed,
    ),
    "iter-text": (
        "iter_messages",
        [{"connect": "/lines"}, {"send": "abc"}, {"receive": 1}],
        replies("cba"),
    ),
    "iter-json": (
        "iter_messages",
        [
            {"connect": "/sum"},
            {"send_json": {"amount": 5}},
            {"receive": 1},
            {"send_json": {"amount": 7}},
            {"receive": 1},
        ],
        replies('{"total":5}', '{"total":12}'),
    ),
    "subprotocol-preferred": (
        "subprotocols",
        [{"connect": "/ws", "subprotocols": ["chat.v1", "chat.v2"]}, {"receive_all": True}],
        subprotocol("chat.v2"),
    ),
    "subprotocol-none": (
        "subprotocols",
        [{"connect": "/ws", "subprotocols": ["mqtt"]}, {"receive_all": True}],
        subprotocol(None),
    ),
    "auth-strict": ("token_auth", [{"connect": "/strict"}], refused),
    "auth-polite": (
        "token_auth",
        [{"connect": "/polite?token=nope"}, {"expect_close": True}],
        closed(1008, "invalid token"),
    ),
    "auth-first-message": (
        "token_auth",
        [{"connect": "/first-message"}, {"send": "s3cret"}, {"receive_all": True}],
        replies("welcome alice"),
    ),
    "auth-protocol": (
        "token_auth",
        [{"connect": "/protocol", "subprotocols": ["bearer", "s3cret"]}, {"receive_all": True}],
        protocol_token,
    ),
    "auth-protocol-wrong": (
        "token_auth",
        [{"connect": "/protocol", "subprotocols": ["bearer", "nope"]}],
        refused,
    ),
    "testing-once": (
        "under_test",
        [{"connect": "/once"}, {"receive": 2}],
        both(replies("only one"), closed(1006, "", "abnormal")),
    ),
    "testing-members": ("under_test", [{"connect": "/members"}], refused),
    "testing-no-route": ("under_test", [{"connect": "/nope"}], refused),
    "testing-crash": ("under_test", [{"connect": "/crash"}, {"receive_all": True}], crash_drops),
    "router-prefix": (
        "router_mount",
        [{"connect": "/api/v1/ws"}, {"receive_all": True}],
        replies("you reached /api/v1/ws"),
    ),
    "router-no-prefix": ("router_mount", [{"connect": "/ws"}], refused),
    "size-limit": (
        "size_limit",
        [
            {"connect": "/ws"},
            {"send": "short"},
            {"receive": 1},
            {"send": LONG},
            {"expect_close": True},
        ],
        both(replies("ok: 5 characters"), closed(1009, "over 64 characters")),
    ),
}


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_what_the_lessons_say_their_examples_do(lab: Lab, claim: str) -> None:
    example, steps, check = CLAIMS[claim]
    seen = lab.observe(AppSpec.parse(find_example(example, ROOT)), Scenario.from_steps(steps, 5.0))
    check(seen)


def test_every_example_of_the_curriculum_lessons_has_its_claims_checked() -> None:
    checked = {example for example, _, _ in CLAIMS.values()}
    mine = set(TOPICS) - {"first-reply", "message-types", "receive-loop", "chat-room"}
    examples = {name for lesson in LESSONS if lesson.name in mine for name in lesson.examples}
    assert examples | {"iter_messages"} <= checked, examples - checked
