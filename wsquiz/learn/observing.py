"""Playing a question live: the runs of its app and of every option's own app, and the value
of each observable source (`reply`, `close_code`, `server_error`, ...) read from a run."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsquiz.course.quizzes import LETTERS, Option, Question
from wsquiz.engine.transcript import ServerError, Transcript
from wsquiz.errors import AppLoadError, LabError, ObservationError
from wsquiz.learn.matching import first_number, format_number

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab

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
    except ObservationError:
        raise  # nothing was observed: never an answer
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
    # Every run ends (and stops its server) before a failure to observe is raised.
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
    if failed is not None:
        raise failed
    results = [o for o in outcomes if isinstance(o, Run)]
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
        number = first_number(reply)
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
