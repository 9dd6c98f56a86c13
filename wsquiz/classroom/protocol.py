"""The classroom's wire protocol: its limits and close codes, the messages clients send (pydantic
models), and reading one message off a socket.

A breach of a limit is a Starlette `WebSocketException` (the close code and reason); a message
that parses but is not one the protocol knows is an `Invalid` with the reason, which the host
answers with an error and goes on.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.exceptions import WebSocketException
from starlette.websockets import WebSocket

from wsquiz.classroom.text import check_name

MAX_MESSAGE = 64 * 1024  # bytes of one message from a client; more closes with 1009
RATE_PER_S = 10.0  # messages a student may send per second, on average
RATE_BURST = 30  # ... and in a burst; more closes with 1008
MAX_ANSWER = 500
MAX_SOURCE = 48 * 1024

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_UNSUPPORTED = 1003
CLOSE_TRY_LATER = 1013
CLOSE_REPLACED = 4001
CLOSE_ENDED = 4002
CLOSE_REMOVED = 4003


def refusal(code: int, reason: str) -> WebSocketException:
    """A close with `code` and `reason`, the reason cut to the 123 bytes a close frame holds."""
    short = reason.encode()[:123].decode("utf-8", "ignore")
    return WebSocketException(code, short)


def clean_name(raw: object) -> str:
    """A student's name as kept; a refusal (1008) saying what is wrong with it."""
    try:
        return check_name(raw)
    except ValueError as exc:
        raise refusal(CLOSE_POLICY, str(exc)) from None


class Bucket:
    """A token bucket: `take()` is False once a client sends faster than the limit."""

    def __init__(self, rate: float = RATE_PER_S, burst: int = RATE_BURST) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# ---- what a student sends


class Join(Message):
    type: Literal["join"]
    code: Any = ""
    name: str
    token: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, raw: object) -> str:
        return check_name(raw)

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, raw: object) -> str | None:
        return raw if isinstance(raw, str) else None

    @property
    def given_code(self) -> str:
        return self.code.strip().upper() if isinstance(self.code, str) else ""


class AnswerMessage(Message):
    type: Literal["answer"]
    item: Any = None
    answer: Annotated[str, Field(strict=True)]
    correct: bool | None = None  # what the student's own terminal judged: kept, never trusted

    @field_validator("answer")
    @classmethod
    def _answer(cls, given: str) -> str:
        given = given.strip()
        if not given or len(given) > MAX_ANSWER:
            raise ValueError(f"an answer is text of 1 to {MAX_ANSWER} characters")
        return given

    @field_validator("correct", mode="before")
    @classmethod
    def _claim(cls, raw: object) -> bool | None:
        return raw if isinstance(raw, bool) else None


class CheckMessage(Message):
    type: Literal["check"]
    source: Annotated[str, Field(strict=True)]
    file: str | None = None

    @field_validator("source")
    @classmethod
    def _source(cls, source: str) -> str:
        if not source.strip() or len(source) > MAX_SOURCE:
            raise ValueError(f"a check sends the source of your app (up to {MAX_SOURCE} bytes)")
        return source

    @field_validator("file", mode="before")
    @classmethod
    def _file(cls, raw: object) -> str | None:
        return raw if isinstance(raw, str) else None


class Ping(Message):
    type: Literal["ping"]


# ---- what the teacher sends


class StepMessage(Message):
    type: Literal["next", "prev", "reveal", "end", "lock", "unlock"]


class Push(Message):
    type: Literal["push"]
    index: Annotated[int, Field(strict=True)]


class Move(Message):
    """Several next/prev keys at once (a key held down): `by` questions forward or back."""

    type: Literal["move"]
    by: Annotated[int, Field(strict=True)]


class Kick(Message):
    type: Literal["kick"]
    name: Annotated[str, Field(strict=True, min_length=1)]


class Rename(Message):
    type: Literal["rename"]
    name: Annotated[str, Field(strict=True, min_length=1)]
    to: str

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, raw: object) -> str:
        return check_name(raw)


class Hide(Message):
    type: Literal["hide", "show"]
    answer: Annotated[str, Field(strict=True, min_length=1)]


StudentMessage = Join | AnswerMessage | CheckMessage | Ping
ANSWER_OR_CHECK: dict[str, type[Message]] = {
    "answer": AnswerMessage,
    "check": CheckMessage,
    "ping": Ping,
}
TeacherCommand = StepMessage | Push | Move | Kick | Rename | Hide

STUDENT_MESSAGES: dict[str, type[Message]] = {
    "join": Join,
    "answer": AnswerMessage,
    "check": CheckMessage,
    "ping": Ping,
}
COMMAND_HELP = (
    "commands: next, prev, push {index}, move {by}, reveal, end, kick {name}, rename {name, to}, "
    "lock, unlock, hide {answer}, show {answer}"
)
TEACHER_COMMANDS: dict[str, type[Message]] = {
    **dict.fromkeys(("next", "prev", "reveal", "end", "lock", "unlock"), StepMessage),
    "push": Push,
    "move": Move,
    "kick": Kick,
    "rename": Rename,
    "hide": Hide,
    "show": Hide,
}
PUSH_HELP = "push needs an index (0-based)"


class Invalid(Exception):
    """A message the protocol does not take, with what to send instead."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reason_of(exc: ValidationError) -> str:
    """The first problem pydantic found, in the words of the validator that raised it."""
    first = exc.errors(include_url=False)[0]
    error = (first.get("ctx") or {}).get("error")
    if isinstance(error, ValueError):
        return str(error)
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))


def parse(data: dict[str, Any], kinds: dict[str, type[Message]], unknown: str) -> Message:
    """The message `data` is, as its model; Invalid says why it is none of `kinds`."""
    kind = data.get("type")
    model = kinds.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise Invalid(unknown)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(reason_of(exc)) from None


def parse_join(data: dict[str, Any]) -> Join:
    """The join message; a refusal (1008) with the reason when it is not one."""
    if data.get("type") != "join":
        raise refusal(CLOSE_POLICY, 'join first: {"type": "join", "code", "name"}')
    try:
        return Join.model_validate(data)
    except ValidationError as exc:
        raise refusal(CLOSE_POLICY, reason_of(exc)) from None


def parse_command(data: dict[str, Any]) -> TeacherCommand:
    try:
        command = parse(data, TEACHER_COMMANDS, COMMAND_HELP)
    except Invalid as exc:
        if data.get("type") == "push":
            raise Invalid(PUSH_HELP) from None
        raise exc
    assert isinstance(command, (StepMessage, Push, Move, Kick, Rename, Hide))
    return command


async def receive_json(ws: WebSocket, bucket: Bucket | None) -> dict[str, Any] | None:
    """The next JSON object from a client, None when it left.

    A breach of the limits (binary, too big, too fast) raises the WebSocketException to close
    with; text that is no JSON object raises Invalid. `bucket` None: no rate limit (the
    teacher, whose controls must never fail).
    """
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    if text is None:
        raise refusal(CLOSE_UNSUPPORTED, "send JSON text frames only")
    if len(text) > MAX_MESSAGE:
        raise refusal(CLOSE_TOO_BIG, f"message over {MAX_MESSAGE} bytes")
    if bucket is not None and not bucket.take():
        raise refusal(CLOSE_POLICY, "too many messages: slow down")
    try:
        data = json.loads(text)
    except ValueError:
        raise Invalid("not JSON") from None
    if not isinstance(data, dict):
        raise Invalid("send a JSON object")
    return data


def same(given: str, secret: str) -> bool:
    """Compare in constant time; any text (compare_digest refuses non-ASCII str)."""
    return secrets.compare_digest(given.encode("utf-8", "replace"), secret.encode())


def error(message: str) -> dict[str, Any]:
    return {"type": "error", "message": message}
