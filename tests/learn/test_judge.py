"""Every bundled question played live; the key is what the server shows; answers normalised."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import FIXTURE, ROOT
from wsquiz.course.quizzes import Question, load_course
from wsquiz.learn.judge import (
    audit,
    check_quote,
    judge,
    key_of,
    letters_of,
    matches,
    observe_question,
    value_of,
)

COURSE = load_course(ROOT)
QUESTIONS = [q for quiz in COURSE.quizzes for q in quiz.questions]


def question(qid: str) -> Question:
    return next(q for q in QUESTIONS if q.id == qid)


@pytest.mark.parametrize("q", QUESTIONS, ids=[q.id for q in QUESTIONS])
def test_bundled_question_live(q: Question, lab: Any) -> None:
    observation = observe_question(q, lab)
    key = key_of(q, observation)
    assert (key and key != "none") or q.source in ("server_error", "warning"), key
    verdict = judge(q, key, observation)
    assert verdict.correct, verdict
    assert audit(q, observation, str(q.file)) == []
    wrong = "Z" if q.options else "certainly not this"
    if q.options:
        wrong = next(o.letter for o in q.options if o.letter not in key)
    assert not judge(q, wrong, observation).correct


def test_echo_reply_is_read_from_the_server(lab: Any) -> None:
    q = question("echo-reply")
    observation = observe_question(q, lab)
    assert key_of(q, observation) == "Message received: hello"
    assert judge(q, '  "Message   received: hello" ', observation).correct
    verdict = judge(q, "hello", observation)
    assert not verdict.correct
    assert verdict.observed == "Message received: hello"
    assert "Message received: hello" in verdict.message


def test_runtime_error_matches_its_subclass(lab: Any) -> None:
    q = question("receive-after-close")
    observation = observe_question(q, lab)
    assert observation.main is not None and observation.main.first_error is not None
    error = observation.main.first_error
    assert error.is_a("RuntimeError")
    printed = f"{error.name}: {error.message}"  # as Python prints it
    for answer in (
        "RuntimeError",
        "runtimeerror",
        error.name,
        error.type,
        "RuntimeError.",
        printed,
    ):
        assert judge(q, answer, observation).correct, answer
    assert "subclass of RuntimeError" in judge(q, "RuntimeError", observation).message
    # true of every error, so no answer at all
    for answer in ("ValueError", "none", "WebSocketDisconnect", "Exception", "BaseException"):
        assert not judge(q, answer, observation).correct, answer


def test_quote_shows_the_installed_text(lab: Any) -> None:
    q = question("receive-after-close")
    observation = observe_question(q, lab)
    quote = check_quote(q, observation)
    assert quote is not None
    assert quote.quoted == "Cannot call receive_text() after connection is closed"
    assert observation.main is not None and observation.main.first_error is not None
    assert quote.observed == observation.main.first_error.message
    assert "starlette" in quote.versions and "uvicorn" in quote.versions


def test_four_variants_each_fail_their_own_way(lab: Any) -> None:
    q = question("accept-receive-syntax")
    observation = observe_question(q, lab)
    runs = dict(zip((o.letter for o in q.options), observation.variants, strict=True))
    no_await, sync_def, correct, no_parens = (runs[x] for x in "ABCD")
    assert no_await is not None and no_await.transcript is not None
    assert value_of("handshake_status", no_await) == "500"
    assert any("never awaited" in w for w in no_await.transcript.server.warnings)
    assert sync_def is not None and sync_def.load_error is not None
    assert value_of("server_error", sync_def) == "SyntaxError"
    assert correct is not None and value_of("handshake_status", correct) == "101"
    assert value_of("reply", correct) == "Received: hello"
    assert no_parens is not None and value_of("server_error", no_parens) == "TypeError"
    assert key_of(q, observation) == "C"


def test_numbers_letters_and_nothing() -> None:
    assert matches("close_code", "1006 abnormal", "1006")
    assert matches("handshake_status", "HTTP 500", "500")
    assert matches("handshake_status", "accepted", "101")
    assert not matches("close_code", "1000", "1006")
    assert matches("reply_number", "count is 3", "3")
    assert matches("closed_by", "Server", "server")
    assert matches("server_error", "none", "none")
    assert matches("reply", "none", None)
    assert not matches("reply", "hello", None)
    assert matches("close_code", "three", "3") and matches("reply_number", "Three.", "3")
    assert not matches("close_code", "1000 or 1006", "1000")  # a hedge is not an answer
    assert not matches("close_code", "1006 or 1000", "1000")
    assert matches("handshake_status", "HTTP/1.1 403 Forbidden", "403")
    assert matches("close_reason", "'4000 bye'.", "4000 bye")  # a sentence's full stop
    assert matches("reply", 'bob receives "[r1] hello"', "[r1] hello")  # the one text quoted
    assert not matches("reply", 'not "[r1] hello" but "[r2] hi"', "[r1] hello")
    assert matches("closed_by", "Server.", "server")
    assert matches("reply", "", "")  # an empty reply, answered as such
    assert matches("reply", "none", "none")  # a server that literally replied "none"
    assert not matches("reply", "nothing", "")  # an empty reply is still a reply
    assert letters_of("c") == frozenset("C")
    assert letters_of("Option C)") == frozenset("C")
    assert letters_of("a, c") == frozenset("AC")
    assert letters_of("hello") is None


def test_only_bundled_content_runs_in_process() -> None:
    from wsquiz.learn.judge import trusted

    assert all(trusted(q) for q in QUESTIONS)
    fixture = load_course(FIXTURE)
    assert not any(trusted(q) for quiz in fixture.quizzes for q in quiz.questions)
