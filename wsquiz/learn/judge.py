"""Answers against observations: play a question live, read its key, judge an answer.

Nothing here stores a key a server can show: `key_of` reads it from the observation each time.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsquiz.course.problems import Problem
from wsquiz.course.quizzes import LETTERS, Claim, Option, Question
from wsquiz.engine.stack import applies
from wsquiz.engine.transcript import ServerError, Transcript
from wsquiz.errors import AppLoadError, LabError

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab

NUMERIC = {"reply_number", "received_count", "connections", "close_code", "handshake_status"}
NAMES = {"closed_by"}
NOTHING = {"none", "nothing", "no error", "no exception", "no warning", "no reply", "-", ""}
VERSIONED = ("fastapi", "starlette", "uvicorn", "websockets")


@cache
def installed_versions() -> tuple[tuple[str, str], ...]:
    """The versions of the stack that produced an observation."""
    from importlib.metadata import PackageNotFoundError, version

    found: list[tuple[str, str]] = []
    for name in VERSIONED:
        try:
            found.append((name, version(name)))
        except PackageNotFoundError:
            found.append((name, "not installed"))
    return tuple(found)


def versions_text(names: tuple[str, ...] | None = None) -> str:
    """The stack observed on: the four packages and the implementation (or just `names`)."""
    if names is None:
        from wsquiz.engine.stack import current

        return current().text()
    return ", ".join(f"{n} {v}" for n, v in installed_versions() if n in names)


@dataclass(frozen=True)
class Run:
    """One app played with the question's scenario: its transcript, or why it did not start."""

    app: Path
    transcript: Transcript | None = None
    load_error: AppLoadError | None = None
    failure: str | None = None  # the lab could not run it (lifespan failed, ...)

    @property
    def started(self) -> bool:
        return self.transcript is not None

    @property
    def first_error(self) -> ServerError | None:
        if self.transcript is not None and self.transcript.server.errors:
            return self.transcript.server.errors[0]
        return None

    @property
    def load_error_type(self) -> str | None:
        if self.load_error is None:
            return None
        match = re.match(r"([A-Za-z_][\w.]*)(?::| while importing)", self.load_error.problem)
        return match.group(1) if match else "AppLoadError"


@dataclass(frozen=True)
class Observation:
    """Everything a question's live check observed."""

    question: str
    main: Run | None
    variants: tuple[Run | None, ...]  # one per option: its own run when the option has an app
    versions: tuple[tuple[str, str], ...] = field(default_factory=installed_versions)
    elapsed_ms: float = 0.0

    def run_for(self, option: Option) -> Run | None:
        index = LETTERS.index(option.letter)
        own = self.variants[index] if index < len(self.variants) else None
        return own if own is not None else self.main


@dataclass(frozen=True)
class Verdict:
    question: str
    correct: bool
    answer: str
    observed: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.question,
            "answer": self.answer,
            "observed": self.observed,
            "correct": self.correct,
        }


# ---- observing ----------------------------------------------------------------------------


def trusted(question: Question) -> bool:
    """Bundled content runs in-process (fast); a course from elsewhere runs sandboxed."""
    from wsquiz._support.paths import bundled_root

    try:
        question.file.resolve().relative_to((bundled_root() / "quizzes").resolve())
    except ValueError:
        return False
    return True


async def _run(app: Path, question: Question) -> Run:
    from wsquiz.engine import lab
    from wsquiz.engine.appfile import AppSpec

    assert question.scenario is not None
    try:
        spec = AppSpec.parse(app)
        transcript = await lab.observe(spec, question.scenario, isolated=not trusted(question))
    except AppLoadError as exc:
        return Run(app=app, load_error=exc)
    except LabError as exc:
        return Run(app=app, failure=exc.message)
    except Exception as exc:  # the live check must report, not crash, whatever the app does
        return Run(app=app, failure=f"{type(exc).__name__}: {exc}")
    return Run(app=app, transcript=transcript)


async def observe_question_async(question: Question) -> Observation:
    """Run the question's app and every option's own app (concurrently) with its scenario."""
    start = time.perf_counter()
    if question.scenario is None:
        return Observation(question.id, None, tuple(None for _ in question.options))
    jobs: list[Any] = []
    if question.app is not None:
        jobs.append(_run(question.app, question))
    for option in question.options:
        if option.app is not None:
            jobs.append(_run(option.app, question))
    results = list(await asyncio.gather(*jobs))
    main = results.pop(0) if question.app is not None else None
    variants = tuple(results.pop(0) if o.app is not None else None for o in question.options)
    return Observation(
        question=question.id,
        main=main,
        variants=variants,
        elapsed_ms=(time.perf_counter() - start) * 1000,
    )


def observe_question(question: Question, lab: Lab) -> Observation:
    return lab.call(observe_question_async(question))


# ---- reading values -------------------------------------------------------------------------


def value_of(source: str, run: Run | None, index: int = 0, client: str | None = None) -> str | None:
    """The observed value of `source`, as text; None when nothing of the kind was observed."""
    if run is None:
        return None
    if source == "server_error":
        if run.load_error is not None:
            return run.load_error_type
        error = run.first_error
        return error.name if error else "none"
    if source == "server_error_message":
        if run.load_error is not None:
            return run.load_error.problem
        error = run.first_error
        return error.message if error else None
    transcript = run.transcript
    if transcript is None or not transcript.clients:
        return None
    if source == "warning":
        return transcript.server.warnings[0] if transcript.server.warnings else "none"
    if source == "connections":
        return str(sum(1 for c in transcript.clients if c.handshake.accepted))
    try:
        record = transcript.client(client)
    except StopIteration:
        return None
    if source == "handshake_status":
        return str(record.handshake.status) if record.handshake.status else None
    if source in ("close_code", "close_reason", "closed_by"):
        if record.close is None:
            return None
        return {
            "close_code": str(record.close.code),
            "close_reason": record.close.reason,
            "closed_by": record.close.by,
        }[source]
    received = transcript.received(record.name)
    if source == "received_count":
        return str(len(received))
    try:
        reply = received[index]
    except IndexError:
        return None
    if source == "reply":
        return reply
    if source == "reply_number":
        number = _number(reply)
        return None if number is None else format_number(number)
    return None


def describe_missing(source: str, run: Run | None) -> str:
    if run is not None and run.load_error is not None:
        return "nothing: the app did not start"
    if run is not None and run.failure is not None:
        return f"nothing: {run.failure}"
    return {
        "reply": "no reply",
        "reply_number": "no number (no reply with a number)",
        "close_code": "no close (the connection was never open or stayed open)",
        "handshake_status": "no handshake (the server did not answer)",
    }.get(source, "nothing")


# ---- comparing ------------------------------------------------------------------------------


def normalise(text: str) -> str:
    text = " ".join(text.split())
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


def _number(text: str) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    return float(match.group(0)) if match else None


# fmt: off
_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)
# fmt: on
WORD_NUMBERS = {word: index for index, word in enumerate(_WORDS)}
TOO_GENERAL = {"exception", "baseexception", "object"}  # true of any error: no answer at all


def answer_number(text: str) -> float | None:
    """The one number an answer gives, in digits or as a word ("three"); None when it gives
    none, or several different ones ("1000 or 1006" hedges: it is not an answer)."""
    text = re.sub(r"\bHTTP/\d\.\d\b", " ", text, flags=re.IGNORECASE)
    found = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?![\d.]*\d)", text)}
    found |= {
        float(WORD_NUMBERS[w]) for w in re.findall(r"[a-z]+", text.casefold()) if w in WORD_NUMBERS
    }
    return found.pop() if len(found) == 1 else None


def without_trailing_stop(text: str) -> str:
    """`'4000 bye'.` -> `4000 bye`: a sentence's full stop is not part of the answer."""
    return normalise(normalise(text).rstrip(".!").rstrip())


def quoted_texts(text: str) -> list[str]:
    return [m[1] for m in re.findall(r"([\"'`])(.*?)\1", text)]


def format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def _is_nothing(text: str | None) -> bool:
    return text is None or normalise(text).casefold().rstrip(".") in NOTHING


def _class_matches(expected: str, run: Run | None, observed: str | None) -> bool:
    """The class named (or a meaningful base of it, as RuntimeError for its subclasses); also
    as Python prints it, `RuntimeError: the message`."""
    named = without_trailing_stop(expected).split(":", 1)[0].strip()
    wanted = named.rstrip("()").rsplit(".", 1)[-1].casefold()
    if run is not None and run.load_error is not None:
        return wanted == (run.load_error_type or "").casefold()
    error = run.first_error if run is not None else None
    if error is None:
        return observed is not None and wanted == observed.casefold()
    if wanted in TOO_GENERAL:
        return wanted == error.type.rsplit(".", 1)[-1].casefold()
    return error.is_a(wanted)


def matches(source: str, expected: str, observed: str | None, run: Run | None = None) -> bool:
    """Does `expected` (an answer, or a claim's value) agree with what was observed?"""
    nothing_expected = _is_nothing(expected)
    if source in ("server_error", "warning") and nothing_expected:
        return _is_nothing(observed)
    if source == "server_error":
        return not _is_nothing(observed) and _class_matches(expected, run, observed)
    if observed is None:
        return nothing_expected
    if source not in NUMERIC and normalise(expected) == normalise(observed):
        return True  # an empty reply answered with an empty string, or text that reads "none"
    if nothing_expected:
        return False
    if source in NUMERIC:
        wanted, seen = answer_number(expected), _number(observed)
        if source == "handshake_status" and wanted is None:
            accepted = without_trailing_stop(expected).casefold() in (
                "accepted",
                "open",
                "upgraded",
            )
            return accepted and seen == 101
        return wanted is not None and wanted == seen
    if source in NAMES:
        return without_trailing_stop(expected).casefold() == normalise(observed).casefold()
    if source == "option":
        return letters_of(expected) == letters_of(observed)
    shown = normalise(observed)
    if without_trailing_stop(expected) == shown:
        return True
    quoted = quoted_texts(expected)  # `bob receives "[r1] hello"`: the one text it quotes
    return len(quoted) == 1 and normalise(quoted[0]) == shown


def claim_holds(claim: Claim, run: Run | None) -> tuple[bool, str | None]:
    observed = value_of(claim.of, run, claim.index, claim.client)
    if claim.test == "contains":
        holds = observed is not None and claim.expected.casefold() in observed.casefold()
    else:
        holds = matches(claim.of, claim.expected, observed, run)
    return holds, observed


def chosen_letters(question: Question, answer: str) -> frozenset[str] | None:
    """The options an answer picks: by letter, or by the option's own text."""
    wanted = normalise(answer).casefold().rstrip(".")
    for option in question.options:
        if wanted and wanted == normalise(option.text).casefold().rstrip("."):
            return frozenset(option.letter)
    return letters_of(answer)


def letters_of(answer: str) -> frozenset[str] | None:
    """`c`, `C)`, `option C`, `A, C`, `a and c` -> the letters; None if it is not letters."""
    text = re.sub(r"\b(options?|and|or)\b", " ", answer.casefold())
    text = re.sub(r"[\s,;.)(/&+]+", "", text)
    if not text or not text.isalpha() or len(set(text)) != len(text):
        return None
    return frozenset(text.upper())


# ---- keys and verdicts ----------------------------------------------------------------------


def option_holds(question: Question, option: Option, observation: Observation) -> bool:
    run = observation.run_for(option)
    claims = option.claims + (question.answer.where if question.answer else ())
    claims = tuple(c for c in claims if applies(c.when))  # a claim bounded to other stacks
    return bool(claims) and all(claim_holds(c, run)[0] for c in claims)


def key_letters(question: Question, observation: Observation) -> list[str]:
    if question.kind == "concept":
        return [o.letter for o in question.options if o.correct]
    return [o.letter for o in question.options if option_holds(question, o, observation)]


def key_of(question: Question, observation: Observation) -> str:
    """The answer key as observed live (a stored letter only for concept questions)."""
    if question.kind in ("choice", "concept"):
        return ", ".join(key_letters(question, observation)) or "none"
    assert question.answer is not None
    answer = question.answer
    value = value_of(answer.from_, observation.main, answer.index, answer.client)
    return value if value is not None else "none"


def judge(question: Question, answer: str, observation: Observation) -> Verdict:
    observed = key_of(question, observation)
    given = answer.strip()
    if question.kind in ("choice", "concept"):
        chosen = chosen_letters(question, given)
        valid = {o.letter for o in question.options}
        correct = chosen is not None and chosen == frozenset(key_letters(question, observation))
        if chosen is not None and not chosen <= valid:
            message = f"answer with a letter of {', '.join(sorted(valid))}"
        elif correct:
            message = "Right."
        else:
            message = f"Not quite: the answer is {observed}."
        return Verdict(question.id, correct, given, observed, message)
    assert question.answer is not None
    source = question.answer.from_
    run = observation.main
    raw = value_of(source, run, question.answer.index, question.answer.client)
    correct = matches(source, given, raw, run)
    shown = observed if raw is not None else describe_missing(source, run)
    if correct:
        message = f"Right: the server shows {shown}."
        if source == "server_error" and run is not None and run.first_error is not None:
            error = run.first_error
            wanted = normalise(given).rsplit(".", 1)[-1].casefold()
            if wanted != error.name.casefold():
                base = next(
                    (
                        b.rsplit(".", 1)[-1]
                        for b in error.bases
                        if b.rsplit(".", 1)[-1].casefold() == wanted
                    ),
                    normalise(given),
                )
                message = f"Right: the server raised {error.name}, a subclass of {base}."
    else:
        message = f"Not quite: you said {given or '(nothing)'}; the server shows {shown}."
    return Verdict(question.id, correct, given, observed, message)


# ---- auditing content against the live server ----------------------------------------------


@dataclass(frozen=True)
class QuoteCheck:
    quoted: str
    source: str
    observed: str | None
    same: bool
    versions: str
    package: str = ""  # the package that printed it, with its version (`starlette 1.10.0`)


def check_quote(question: Question, observation: Observation) -> QuoteCheck | None:
    quote = question.quote
    if quote is None:
        return None
    from wsquiz.engine.stack import responsible

    observed = value_of(quote.of, observation.main, quote.index, quote.client)
    same = observed is not None and normalise(quote.text) == normalise(observed)
    error = observation.main.first_error if observation.main is not None else None
    package = responsible(quote.of, *((error.type, error.traceback) if error else ()))
    return QuoteCheck(quote.text, quote.source, observed, same, versions_text(), package)


def audit(question: Question, observation: Observation, file: str) -> list[Problem]:
    """Where the stored content contradicts what the installed server does now."""
    problems: list[Problem] = []
    where = f'question "{question.id}"'
    now = f"({versions_text()})"

    def add(key: str, message: str, fix: str) -> None:
        problems.append(Problem(file, where, key, message, fix))

    runs = [observation.main, *observation.variants]
    for run in runs:
        if run is not None and run.failure is not None:
            add(
                "app",
                f"{run.app.name} could not be run: {run.failure}",
                "run `wsquiz probe` on it and correct the app",
            )
    if question.kind == "predict" and question.answer is not None:
        answer = question.answer
        value = value_of(answer.from_, observation.main, answer.index, answer.client)
        if value is None:
            add(
                "answer",
                f"the answer is read from {answer.from_}, but the server shows "
                f"{describe_missing(answer.from_, observation.main)} {now}",
                "correct the scenario (does it receive?) or the answer's source and index",
            )
    if question.kind == "choice":
        letters = key_letters(question, observation)
        if not letters:
            add(
                "options",
                f"no option's claim holds against the live server {now}",
                "correct the options' claims (or answer.where) to what the server does",
            )
    for i, claim in enumerate(question.claims):
        if not applies(claim.when):
            continue  # not claimed on this stack
        holds, observed = claim_holds(claim, observation.main)
        if not holds:
            seen = (
                observed if observed is not None else describe_missing(claim.of, observation.main)
            )
            add(
                f"claims[{i}]",
                f'the content claims {claim.describe()}, but the server now shows "{seen}" {now}',
                "update the claim and the explanation to what the server does, or the app",
            )
    return problems
