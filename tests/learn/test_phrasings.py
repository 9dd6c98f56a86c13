"""The judge's phrasing table: per kind of answer, what states the key and what hedges.

Each row is played against the bundled question's live server: the key is what it shows now.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import ROOT
from wsquiz.course.quizzes import Question, load_course
from wsquiz.learn.judge import Observation, judge, observe_question

QUESTIONS = {q.id: q for quiz in load_course(ROOT).quizzes for q in quiz.questions}

RIGHT, NEARLY, WRONG = "right", "nearly", "wrong"

# (question, answer, verdict): "nearly" is not right, but only the case differs
TABLE: list[tuple[str, str, str]] = [
    # reply: exact text the server sent; alone, quoted or inside a sentence
    ("echo-reply", "Message received: hello", RIGHT),
    ("echo-reply", "it sends back Message received: hello", RIGHT),
    ("echo-reply", 'the client receives "Message received: hello".', RIGHT),
    ("echo-reply", "Message received hello", RIGHT),  # punctuation between words
    ("echo-reply", "It echoes back: Message received: hello", RIGHT),
    ("echo-reply", "the server gives Message received: hello to the client", RIGHT),
    ("echo-reply", "message received: hello", NEARLY),
    ("echo-reply", "it sends back message received: hello", NEARLY),
    ("echo-reply", "hello", WRONG),
    ("echo-reply", "Message received: hello world", WRONG),
    ("echo-reply", "it does not send Message received: hello", WRONG),
    ("echo-reply", "Message received: hello or hello", WRONG),
    ("echo-reply", '"hello" or "Message received: hello"', WRONG),
    ("chat-user-left", "A user left r1", RIGHT),
    ("chat-user-left", "bob gets A user left r1", RIGHT),
    ("chat-user-left", "a user left r1", NEARLY),
    ("chat-user-left", "A user left r2", WRONG),
    ("client-close-code", "4000 bye", RIGHT),
    ("client-close-code", "4000, bye", RIGHT),
    ("client-close-code", "it reports 4000, bye.", RIGHT),
    ("client-close-code", "1000 bye", WRONG),
    ("client-close-code", "4000 Bye", NEARLY),
    ("ticks-in-turn", "tick 2", RIGHT),
    ("ticks-in-turn", "tick 1, then tick 2", WRONG),
    # a header value and a URL scheme: the protocol ignores their case
    ("upgrade-header", "websocket", RIGHT),
    ("upgrade-header", "Websocket", RIGHT),
    ("upgrade-header", "the Upgrade header says WebSocket", RIGHT),
    ("upgrade-header", "not websocket", WRONG),
    ("upgrade-header", "websocket or http", WRONG),
    ("ws-scheme", "WS", RIGHT),
    ("ws-scheme", "wss", WRONG),
    # numbers: digits or words, one number, no negation
    ("count-messages", "3", RIGHT),
    ("count-messages", "three", RIGHT),
    ("count-messages", "Messages received: 3", RIGHT),
    ("count-messages", "3 or 4", WRONG),
    ("count-messages", "not 3", WRONG),
    ("return-without-close", "1006", RIGHT),
    ("return-without-close", "1006, no close frame", RIGHT),
    ("return-without-close", "1000 or 1006", WRONG),
    ("return-without-close", "not 1000 but 1006", WRONG),
    ("handshake-status", "101", RIGHT),
    ("handshake-status", "HTTP/1.1 101 Switching Protocols", RIGHT),
    ("handshake-status", "accepted", RIGHT),
    ("handshake-status", "not accepted", WRONG),
    ("close-before-accept", "HTTP 403", RIGHT),
    ("close-before-accept", "403 or 500", WRONG),
    # a close reason: exact text
    ("auth-after-accept", "invalid token", RIGHT),
    ("auth-after-accept", 'the reason is "invalid token"', RIGHT),
    ("auth-after-accept", "Invalid token", NEARLY),
    ("auth-after-accept", "unknown token", WRONG),
    # a class: named alone, in a sentence, as called or printed; case ignored; a base counts
    ("disconnect-exception", "WebSocketDisconnect", RIGHT),
    ("disconnect-exception", "websocketdisconnect", RIGHT),
    ("disconnect-exception", "the WebSocketDisconnect exception", RIGHT),
    ("disconnect-exception", "WebSocketDisconnect(1000)", RIGHT),
    ("disconnect-exception", "starlette.websockets.WebSocketDisconnect", RIGHT),
    ("disconnect-exception", "it raises a WebSocketDisconnect with code 1000", RIGHT),
    ("disconnect-exception", "WebSocketDisconnect or RuntimeError", WRONG),
    ("disconnect-exception", "not WebSocketDisconnect", WRONG),
    ("disconnect-exception", "RuntimeError", WRONG),
    ("disconnect-exception", "Exception", WRONG),
    ("receive-after-close", "WebSocketDisconnected", RIGHT),
    ("receive-after-close", "a RuntimeError", RIGHT),  # its base
    ("receive-after-close", "WebSocketDisconnect", WRONG),
    ("receive-after-close", "WebSocketDisconnect and WebSocketDisconnected", WRONG),
    # letters: by letter or by the option's text
    ("first-call", "C", RIGHT),
    ("first-call", "c)", RIGHT),
    ("first-call", "option C", RIGHT),
    ("first-call", "A", WRONG),
    ("first-call", "A, C", WRONG),
    ("one-connection", "A, C", RIGHT),
    ("one-connection", "c and a", RIGHT),
    ("one-connection", "A", WRONG),
]


@pytest.fixture(scope="module")
def observed(lab: Any) -> dict[str, Observation]:
    wanted = {qid for qid, _, _ in TABLE}
    return {qid: observe_question(QUESTIONS[qid], lab) for qid in sorted(wanted)}


def verdict_of(question: Question, answer: str, observation: Observation) -> str:
    verdict = judge(question, answer, observation)
    if verdict.correct:
        return RIGHT
    return NEARLY if verdict.nearly else WRONG


@pytest.mark.parametrize(
    ("qid", "answer", "expected"), TABLE, ids=[f"{q}:{a}" for q, a, _ in TABLE]
)
def test_phrasing(qid: str, answer: str, expected: str, observed: dict[str, Observation]) -> None:
    assert verdict_of(QUESTIONS[qid], answer, observed[qid]) == expected


def test_names_alone_or_in_a_sentence() -> None:
    from wsquiz.learn.matching import matches

    assert matches("closed_by", "the server closed it", "server")
    assert matches("closed_by", "Server.", "server")
    assert not matches("closed_by", "the server or the client", "server")
    assert not matches("closed_by", "server client", "server")
    assert not matches("closed_by", "not the server", "server")


def test_every_kind_of_answer_has_rows() -> None:
    kinds = {QUESTIONS[qid].source for qid, _, _ in TABLE}
    assert {"reply", "reply_number", "close_code", "close_reason", "handshake_status"} <= kinds
    assert {"server_error", "option"} <= kinds
    for qid, _, expected in TABLE:
        assert expected in (RIGHT, NEARLY, WRONG), qid
