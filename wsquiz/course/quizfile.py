"""The quiz TOML format as pydantic models: a quiz, its questions, their options, answers,
claims and quotes. Loading is `quizzes.py`; the checks a model cannot make (app files exist,
scenarios are well formed, what each kind of question needs) are `quizcheck.py`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from wsquiz.course.problems import quoted
from wsquiz.course.schema import ContentModel, as_text, invalid, one_or_many

Kind = Literal["choice", "predict", "concept"]

# What in the observation answers a question (`answer.from`) or a claim is about (`claim.of`);
# docs/authoring.md says what each one reads.
Source = Literal[
    "reply",
    "reply_number",
    "received_count",
    "connections",
    "close_code",
    "close_reason",
    "closed_by",
    "handshake_status",
    "server_error",
    "server_error_message",
    "warning",
    "option",
]
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
LETTERS = "ABCDEFG"  # h and q are keys of the interactive quiz


class Claim(ContentModel):
    """A statement about the observation: `{ of = "close_code", is = 1000 }`.

    `is` (or its synonym `says`, for claims made by an explanation) compares as an answer
    would be judged; `contains` looks for the text inside the observed value.
    """

    of: Source
    index: int = 0
    client: str | None = None
    is_: str | None = Field(None, alias="is")
    says: str | None = None
    contains: str | None = None
    # Where the claim holds, when behaviour differs between supported stacks: version bounds
    # (`when = "starlette >= 1.7"`, `"uvicorn < 0.60"`) or the implementation (`"ws != wsproto"`);
    # all must hold. Elsewhere the claim is not made (neither checked nor used for a key).
    when: tuple[str, ...] = ()

    @field_validator("is_", "says", "contains", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return as_text(value)

    @field_validator("when", mode="before")
    @classmethod
    def _bounds(cls, value: Any) -> Any:
        from wsquiz.engine.versions import FLOORS, Condition

        bounds = [value] if isinstance(value, str) else value
        for text in bounds if isinstance(bounds, (list, tuple)) else ():
            if isinstance(text, str) and not Condition.parse(text).reachable():
                name = text.split()[0] if text.split() else text
                raise ValueError(
                    f"{text!r} never holds: wsquiz supports {name} >= {FLOORS.get(name)}"
                )
        return bounds

    @property
    def expected(self) -> str:
        return next(v for v in (self.is_, self.says, self.contains) if v is not None)

    @property
    def test(self) -> Literal["is", "contains"]:
        return "contains" if self.contains is not None else "is"

    def describe(self) -> str:
        verb = "contains" if self.test == "contains" else "is"
        bounds = f" (when {', '.join(self.when)})" if self.when else ""
        return f"{self.of} {verb} {quoted(self.expected)}{bounds}"


class Answer(ContentModel):
    """Where the answer is read from: `{ from = "reply", index = 0 }`."""

    from_: Source = Field(alias="from")
    index: int = 0
    client: str | None = None
    where: tuple[Claim, ...] = ()
    # "ignore" where the protocol ignores case (a header's value, a URL's scheme); "exact"
    # where the server sent exact text, and a case-only difference is "nearly"
    case: Literal["exact", "ignore"] = "exact"

    @field_validator("where", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return one_or_many(value)


class Quote(ContentModel):
    """Text that other material (an older Starlette, a book) prints, shown next to what the
    installed server prints: `source` names that material for the learner."""

    of: Source
    text: str
    source: str = "older Starlette versions"
    index: int = 0
    client: str | None = None


class OptionFile(ContentModel):
    text: str
    app: str | None = None
    claim: tuple[Claim, ...] = ()
    correct: bool = False
    explanation: str = ""

    @field_validator("claim", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return one_or_many(value)


class QuestionFile(ContentModel):
    id: str
    kind: Kind
    prompt: str
    lesson: str | None = None  # the lesson that teaches it: validate checks the course order
    app: str | None = None
    scenario: list[dict[str, Any]] | None = None
    timeout: float | None = Field(None, gt=0, le=60)
    answer: Answer | None = None
    options: tuple[OptionFile, ...] = ()
    hint: str = ""
    explanation: str = ""
    claims: tuple[Claim, ...] = ()
    quote: Quote | None = None

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.match(ID_PATTERN, value):
            raise invalid(
                f"id {quoted(value)} is not a slug",
                "use lowercase letters, digits and dashes, e.g. echo-reply",
            )
        return value

    @field_validator("options")
    @classmethod
    def _few_enough(cls, value: tuple[OptionFile, ...]) -> tuple[OptionFile, ...]:
        if len(value) > len(LETTERS):
            raise invalid(f"at most {len(LETTERS)} options", "remove some options")
        return value


class QuizFile(ContentModel):
    title: str
    description: str = ""
    questions: tuple[QuestionFile, ...]

    @field_validator("questions")
    @classmethod
    def _some(cls, value: tuple[QuestionFile, ...]) -> tuple[QuestionFile, ...]:
        if not value:
            raise invalid("the quiz has no questions", "add at least one [[questions]] table")
        return value
