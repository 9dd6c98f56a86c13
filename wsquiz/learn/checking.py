"""Checking a learner's file against an exercise, live.

The answer key of every check is the exercise's reference solution, served live (in-process: it
is trusted content) and observed with the same scenario as the learner's server (always served
in a sandboxed process).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from wsquiz.course.exercises import Check, Exercise
from wsquiz.errors import AppLoadError, ContentError, LabError, ObservationError, WsquizError

if TYPE_CHECKING:
    from wsquiz.engine.appfile import AppSpec
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.scenario import Scenario
    from wsquiz.engine.serving import Limits, Served
    from wsquiz.engine.transcript import Transcript

STALLED = "the server stopped responding (a blocking loop in the handler?)"
PROBE_TIMEOUT = 0.5  # a server whose event loop runs answers a plain HTTP request well within


class Stalled(LabError):
    """The server stopped answering in an earlier check: the later checks are not played."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    points: int
    max_points: int
    message: str
    expected: str = ""
    observed: str = ""
    transcript: Transcript | None = None
    description: str = ""
    traceback: str = ""  # the learner's server error, trimmed to the learner's file

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "passed": self.passed,
            "points": self.points,
            "max_points": self.max_points,
            "message": self.message,
            "expected": self.expected,
            "observed": self.observed,
            "traceback": self.traceback,
            "transcript": self.transcript.to_dict() if self.transcript else None,
        }


@dataclass(frozen=True)
class CheckReport:
    exercise: str
    app: str
    results: tuple[CheckResult, ...]
    error: str | None = None  # the app never served (did not load, did not start)
    error_detail: str = ""  # for a load error: the trimmed traceback or the syntax error
    error_fix: str = ""

    @property
    def score(self) -> int:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.max_points for r in self.results)

    @property
    def passed(self) -> bool:
        return self.error is None and all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "app": self.app,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "error": self.error,
            "error_detail": self.error_detail,
            "error_fix": self.error_fix,
            "checks": [r.to_dict() for r in self.results],
        }


# ---- checking -----------------------------------------------------------------------------

# The reference solution is trusted and its observations do not change within one lab, so a
# grader checking many files observes it once per check, still live.
_reference_cache: weakref.WeakKeyDictionary[
    Any, dict[tuple[str, int, str], asyncio.Future[Transcript]]
] = weakref.WeakKeyDictionary()


def run_checks(
    exercise: Exercise, spec: AppSpec, lab: Lab, limits: Limits | None = None
) -> CheckReport:
    """Check the learner's app (served sandboxed) against the exercise's reference solution."""
    task = lab.call(_spawn(check_app(exercise, spec, lab, limits)))
    try:
        return lab.call(_join(task))
    except KeyboardInterrupt:
        # Stop the servers this check started before the interrupt goes on up.
        lab.loop.call_soon_threadsafe(task.cancel)
        lab.call(asyncio.wait([task], timeout=5))
        raise


async def _spawn(coro: Coroutine[Any, Any, CheckReport]) -> asyncio.Task[CheckReport]:
    return asyncio.ensure_future(coro)


async def _join(task: asyncio.Task[CheckReport]) -> CheckReport:
    return await asyncio.shield(task)


async def check_app(
    exercise: Exercise, spec: AppSpec, lab: Lab, limits: Limits | None = None
) -> CheckReport:
    """`run_checks` for a caller already on the lab's event loop."""
    observing = _observe_once if exercise.serve == "once" else _observe_each
    # The reference's observations and the learner's run at the same time: their waits overlap.
    expected, observed = await _together(
        _references(exercise, lab), observing(spec, exercise.checks, limits)
    )
    results: list[CheckResult] = []
    for index, (check, outcome) in enumerate(zip(exercise.checks, observed, strict=True)):
        if isinstance(outcome, AppLoadError):
            return _unserved(exercise, spec, outcome)
        if isinstance(outcome, Stalled):
            results.append(_failed(check, outcome.message))
            continue
        if isinstance(outcome, WsquizError):
            if index == 0:
                return _unserved(exercise, spec, outcome)
            results.append(_failed(check, f"the server did not start: {outcome.message}"))
            continue
        results.append(judge_check(check, expected[index], outcome))
    return CheckReport(exercise=exercise.name, app=str(spec), results=tuple(results))


async def _together(
    references: Coroutine[Any, Any, list[Transcript]],
    learner: Coroutine[Any, Any, list[Transcript | WsquizError]],
) -> tuple[list[Transcript], list[Transcript | WsquizError]]:
    """Both at once; when one fails (or the whole is cancelled) the other is cancelled, and
    waited for, so that every server it started is stopped before this returns."""
    first = asyncio.ensure_future(references)
    second = asyncio.ensure_future(learner)
    try:
        return await first, await second
    finally:
        await _cancelled(first, second)


async def _cancelled(*tasks: asyncio.Future[Any]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in pending:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" at exit


async def _references(exercise: Exercise, lab: Lab) -> list[Transcript]:
    from wsquiz.engine.appfile import AppSpec as Spec

    reference = Spec(exercise.solution)
    tasks = [asyncio.ensure_future(_reference(lab, reference, c)) for c in exercise.checks]
    try:
        return list(await asyncio.gather(*tasks))
    except ObservationError:
        raise  # nothing could be observed, the solution is not at fault
    except WsquizError as exc:
        raise ContentError(
            f"exercise {exercise.name!r}: its reference solution did not serve: {exc.message}",
            fix=f"correct {exercise.solution}",
        ) from None
    finally:
        await _cancelled(*tasks)


# A per-check exercise plays this many checks at once (each against a server of its own), at
# most: enough for every bundled exercise, few enough for a class graded several at a time.
AT_ONCE = 6


async def _observe_each(
    spec: AppSpec, checks: tuple[Check, ...], limits: Limits | None
) -> list[Transcript | WsquizError]:
    """A fresh sandboxed server for every check, the checks played at the same time: no state
    carries over, and their waits overlap. The first server starts alone, so an app that does
    not load, or never serves, is found once rather than by every check at once."""
    from wsquiz.engine.lab import serve

    try:
        first = await serve(spec, isolated=True, limits=limits)
    except OSError as exc:  # the file went away (a save in progress)
        return [_unreadable(spec, exc)] * len(checks)
    except (AppLoadError, LabError) as exc:  # the next checks would only wait as long
        return [exc] * len(checks)
    return await _EachCheck(spec, checks, limits).observe(first)


class _EachCheck:
    """The checks of a per-check exercise, each on its own server, played at once.

    When a check's server stops answering (see `_stalled`), the checks after it in order are
    not checked, as when the checks ran one after the other: their servers, running the same
    code, are stopped at once instead of waiting out their own timeouts."""

    def __init__(self, spec: AppSpec, checks: tuple[Check, ...], limits: Limits | None) -> None:
        self.spec = spec
        self.checks = checks
        self.limits = limits
        self.gate = asyncio.Semaphore(AT_ONCE)
        self.playing: dict[int, Served] = {}
        self.stalled: int | None = None  # the first check, in order, whose server stalled
        self.stopping: list[asyncio.Task[None]] = []

    async def observe(self, first: Served) -> list[Transcript | WsquizError]:
        tasks = [
            asyncio.ensure_future(self.one(index, first if index == 0 else None))
            for index in range(len(self.checks))
        ]
        try:
            outcomes: list[Transcript | WsquizError] = list(await asyncio.gather(*tasks))
        finally:
            await _cancelled(*tasks)
            if not tasks[0].done() or tasks[0].cancelled():
                await first.stop()  # cancelled before its check began
            await asyncio.gather(*self.stopping, return_exceptions=True)
        if self.stalled is not None:
            outcomes[self.stalled + 1 :] = [_stalled_in(self.checks[self.stalled])] * (
                len(self.checks) - self.stalled - 1
            )
        return outcomes

    def _skipped(self, index: int) -> bool:
        return self.stalled is not None and index > self.stalled

    async def one(self, index: int, served: Served | None) -> Transcript | WsquizError:
        from wsquiz.engine.lab import play_against, serve

        async with self.gate:
            if self._skipped(index):
                return _stalled_in(self.checks[index])  # replaced in `observe`
            if served is None:
                try:
                    served = await serve(self.spec, isolated=True, limits=self.limits)
                except OSError as exc:
                    return _unreadable(self.spec, exc)
                except (AppLoadError, LabError) as exc:
                    return exc
            self.playing[index] = served
            try:
                if self._skipped(index):
                    return _stalled_in(self.checks[index])
                transcript = await play_against(served, self.checks[index].scenario)
                stalled = await _stalled(served, transcript)
            finally:
                self.playing.pop(index, None)
                await served.stop()
        if not stalled:
            return transcript
        if self.stalled is None or index < self.stalled:
            self.stalled = index
            for later, other in list(self.playing.items()):
                if later > index:  # the same code: it would stall as well
                    self.stopping.append(asyncio.ensure_future(other.stop()))
        return _said_stalled(transcript)


async def _stalled(served: Served, transcript: Transcript) -> bool:
    """True when a check timed out because the server stopped answering altogether: its event
    loop no longer answers even a plain HTTP request (a handler busy in a loop that never
    awaits, or blocked in a sleep), rather than a handler that awaits something else."""
    if not transcript.timed_out or not served.recorder.active or served.exit_status():
        return False  # nothing waited, or no handler still runs, or the server is gone
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", served.port), PROBE_TIMEOUT
        )
    except (OSError, asyncio.TimeoutError):
        return True
    try:
        writer.write(b"GET /.wsquiz-alive HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await asyncio.wait_for(reader.read(1), PROBE_TIMEOUT)  # any answer, even a close
    except asyncio.TimeoutError:
        return True
    except OSError:
        return False
    finally:
        writer.close()
    return False


def _said_stalled(transcript: Transcript) -> Transcript:
    """One note for the stalled server, instead of a timeout for every step it left waiting."""
    return replace(transcript, timed_out=(STALLED,))


def _stalled_in(check: Check) -> Stalled:
    return Stalled(
        f"not checked: the server had stopped responding in check {check.name!r}",
        fix="make every loop in the handler await something",
    )


def _all_failed(
    outcomes: list[Transcript | WsquizError], checks: tuple[Check, ...], error: WsquizError
) -> list[Transcript | WsquizError]:
    return outcomes + [error] * (len(checks) - len(outcomes))


def _unreadable(spec: AppSpec, exc: OSError) -> AppLoadError:
    return AppLoadError(
        spec.path, f"cannot read the file ({exc.strerror or exc})", fix="save the file again"
    )


async def _observe_once(
    spec: AppSpec, checks: tuple[Check, ...], limits: Limits | None
) -> list[Transcript | WsquizError]:
    """One sandboxed server plays every check in turn (restarted if it dies on the way)."""
    from wsquiz.engine.lab import play_against, serve

    outcomes: list[Transcript | WsquizError] = []
    served: Served | None = None
    try:
        for check in checks:
            if served is None or served.exit_status():
                if served is not None:
                    await served.stop()
                    served = None
                try:
                    served = await serve(spec, isolated=True, limits=limits)
                except OSError as exc:
                    return _all_failed(outcomes, checks, _unreadable(spec, exc))
                except AppLoadError as exc:
                    return _all_failed(outcomes, checks, exc)
                except LabError as exc:
                    if not outcomes:
                        return _all_failed(outcomes, checks, exc)
                    outcomes.append(exc)
                    continue
            recorder = served.recorder
            marks = (len(recorder.errors), len(recorder.warnings), len(recorder.logs))
            transcript = await play_against(served, check.scenario)
            server = replace(
                transcript.server,
                errors=transcript.server.errors[marks[0] :],
                warnings=transcript.server.warnings[marks[1] :],
                logs=transcript.server.logs[marks[2] :],
            )
            transcript = replace(transcript, server=server)
            if await _stalled(served, transcript):
                outcomes.append(_said_stalled(transcript))
                return _all_failed(outcomes, checks, _stalled_in(check))
            outcomes.append(transcript)
    finally:
        if served is not None:
            await served.stop()
    return outcomes


async def _reference(lab: Lab, spec: AppSpec, check: Check) -> Transcript:
    from wsquiz.engine.lab import observe

    cache = _reference_cache.setdefault(lab, {})
    key = (str(spec.path), spec.path.stat().st_mtime_ns, check.name)
    if key not in cache:
        # Kept as a task: checks of several files at once share one observation.
        cache[key] = asyncio.ensure_future(observe(spec, check.scenario, isolated=False))
    task = cache[key]
    try:
        return await asyncio.shield(task)
    except BaseException:
        if task.done() and (task.cancelled() or task.exception() is not None):
            cache.pop(key, None)  # not kept: the next check observes it again
        raise


def _unserved(exercise: Exercise, spec: AppSpec, error: WsquizError) -> CheckReport:
    """Every check failed with 0 points: the app never served."""
    results = tuple(_failed(c, f"not checked: {error.message}") for c in exercise.checks)
    detail = error.detail if isinstance(error, AppLoadError) else ""
    return CheckReport(
        exercise=exercise.name,
        app=str(spec),
        results=results,
        error=error.message,
        error_detail=detail,
        error_fix=error.fix,
    )


def _failed(check: Check, message: str) -> CheckResult:
    return CheckResult(
        name=check.name,
        passed=False,
        points=0,
        max_points=check.points,
        message=message,
        description=check.description,
    )


@dataclass
class _Judgement:
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # message, exp, obs

    def fail(self, message: str, expected: str, observed: str) -> None:
        self.failures.append((message, expected, observed))


def judge_check(check: Check, reference: Transcript, learner: Transcript) -> CheckResult:
    """Compare the learner's observation of one check with the reference's."""
    expect = check.expect
    verdict = _Judgement()
    clients = list(check.scenario.clients)
    learner_clients = {c.name: c for c in learner.clients}
    reference_clients = {c.name: c for c in reference.clients}

    if learner.server.exit_status:
        verdict.fail(
            f"the server process ended: {learner.server.exit_status}",
            "the server keeps running",
            learner.server.exit_status,
        )
    if expect.handshake == "reference":
        for name in clients:
            want, got = reference_clients.get(name), learner_clients.get(name)
            if want is None or got is None:
                continue
            if (want.handshake.accepted, want.handshake.status, want.handshake.subprotocol) != (
                got.handshake.accepted,
                got.handshake.status,
                got.handshake.subprotocol,
            ):
                verdict.fail(
                    f"{_who(name, clients)}connection to {got.path}: "
                    f"{_handshake(got.handshake)}, the reference {_handshake(want.handshake)}",
                    f"{name}: {_handshake(want.handshake)}",
                    f"{name}: {_handshake(got.handshake)}",
                )
    errors = learner.server.errors
    if expect.server_errors == "none" and errors:
        verdict.fail(
            f"the server raised {_error_text(errors[0])}",
            "no uncaught error in the server log",
            _error_text(errors[0]),
        )
    elif expect.server_errors == "reference":
        allowed = {e.type for e in reference.server.errors}
        extra = [e for e in errors if e.type not in allowed]
        if extra:
            what = "nothing" if not allowed else ", ".join(sorted(allowed))
            verdict.fail(
                f"the server raised {_error_text(extra[0])} (the reference raised {what})",
                f"server errors: {what}",
                _error_text(extra[0]),
            )
    for name in expect.silent:
        got_messages = learner.received(name) if name in learner_clients else []
        if got_messages:
            verdict.fail(
                f"{name} should receive nothing but received {_messages(got_messages)}",
                f"{name}: nothing",
                f"{name}: {_messages(got_messages)}",
            )
    if expect.replies != "ignore":
        compared = list(expect.clients) if expect.clients is not None else clients
        exact = expect.replies if isinstance(expect.replies, dict) else None
        if exact is not None:
            compared = [n for n in compared if n in exact]
        want_lines: list[str] = []
        got_lines: list[str] = []
        differ: list[tuple[str, list[str], list[str]]] = []
        for name in compared:
            if name in expect.silent:
                continue
            count = _asked(check.scenario, name)
            wanted = list(exact[name]) if exact is not None else _received(reference, name)
            received = _received(learner, name)
            wanted, seen = wanted[:count], received[:count]
            want_lines.append(f"{name}: {_messages(wanted)}")
            # What the client really received, the messages not compared included: the summary
            # must not say "nothing" where the transcript shows a message.
            got_lines.append(f"{name}: {_received_line(seen, received[len(seen) :])}")
            if wanted != seen:
                differ.append((name, wanted, seen))
        if differ:
            name, wanted, seen = differ[0]
            source = "expected" if exact is not None else "the reference solution sent"
            verdict.fail(
                f"{_subject(name, clients)} received {_messages(seen)}; "
                f"{source} {_messages(wanted)}",
                "\n".join(want_lines),
                "\n".join(got_lines),
            )
    if expect.concurrent:
        waited = _served_in_turn(learner, list(expect.concurrent))
        if waited is not None:
            verdict.fail(*waited)
    if expect.close != "ignore":
        for name in clients:
            got_close = learner_clients[name].close if name in learner_clients else None
            if isinstance(expect.close, dict):
                if name not in expect.close:
                    continue
                want_code: int | None = expect.close[name]
            elif isinstance(expect.close, int):
                want_code = expect.close
            else:
                want_record = reference_clients.get(name)
                want_close = want_record.close if want_record else None
                want_code = want_close.code if want_close else None
                if (
                    want_close
                    and got_close
                    and (want_close.by, got_close.by) == ("server", "client")
                ):
                    # the code is the client's own: compared, it would say something untrue
                    verdict.fail(
                        *_never_closed(check.scenario, name, clients, want_close, got_close)
                    )
                    continue
                # "reference" also compares the reason the reference's server gave
                if (
                    want_close
                    and got_close
                    and want_close.code == got_close.code
                    and (want_close.by == "server" and want_close.reason != got_close.reason)
                ):
                    verdict.fail(
                        f"{_who(name, clients)}connection closed with {got_close.code} and "
                        f"reason {got_close.reason!r}, expected reason {want_close.reason!r}",
                        f"{name}: close {want_code} {want_close.reason!r}",
                        f"{name}: close {got_close.code} {got_close.reason!r}",
                    )
            got_code = got_close.code if got_close else None
            if want_code != got_code:
                verdict.fail(
                    f"{_who(name, clients)}connection closed with {got_code}, expected {want_code}",
                    f"{name}: close {want_code}",
                    f"{name}: close {got_code}",
                )
    traceback = errors[0].traceback if errors else ""
    if not verdict.failures:
        return CheckResult(
            name=check.name,
            passed=True,
            points=check.points,
            max_points=check.points,
            message="passed",
            transcript=learner,
            description=check.description,
            traceback=traceback,
        )
    message = "; ".join(f[0] for f in verdict.failures)
    if STALLED in learner.timed_out:
        message += f"; {STALLED}"
    elif (
        learner.timed_out
        and any("waited" in note for note in learner.timed_out)
        and "never closed" not in message  # which says the same, in words
    ):
        message += f" (timeout: {learner.timed_out[0]})"
    return CheckResult(
        name=check.name,
        passed=False,
        points=0,
        max_points=check.points,
        message=message,
        expected="\n".join(f[1] for f in verdict.failures),
        observed="\n".join(f[2] for f in verdict.failures),
        transcript=learner,
        description=check.description,
        traceback=traceback,
    )


def _asked(scenario: Scenario, name: str) -> int | None:
    """How many messages the scenario waits for on this client (None: all, until closed).

    Messages past those (arriving while the clients are being closed, say) are not compared:
    when they arrive is a matter of timing, not of the code.
    """
    count = 0
    for step in scenario.steps:
        if step.client != name:
            continue
        if step.receive_all or step.expect_close:
            return None
        count += step.receive or 0
    return count


BLOCKED = "something blocks the event loop (a time.sleep(), or a loop that never awaits?)"


def _served_in_turn(learner: Transcript, names: list[str]) -> tuple[str, str, str] | None:
    """The first of these clients that was served only after another had been: its handshake
    went unanswered, or its first message came after the other's last. An event loop that is
    free serves them at the same time, so their messages interleave."""
    spans: dict[str, tuple[float, float]] = {}
    unanswered: list[str] = []
    for name in names:
        record = next((c for c in learner.clients if c.name == name), None)
        times = [f.at_ms for f in learner.frames if f.client == name and f.direction == "received"]
        if times:
            spans[name] = (times[0], times[-1])
        elif record is not None and not record.handshake.accepted and not record.handshake.status:
            unanswered.append(name)
    together = f"{' and '.join(names)} served at the same time"
    for name in unanswered:
        other = next(iter(spans), None)
        if other is not None:
            return (
                f"{name}'s handshake got no answer while {other} was being served: "
                f"{name} waited for {other}, so {BLOCKED}",
                together,
                f"{name} not served while {other} was",
            )
    for later in names:
        for earlier in names:
            if later == earlier or later not in spans or earlier not in spans:
                continue
            first, last = spans[later][0], spans[earlier][1]
            if first > last:
                return (
                    f"{later} waited for {earlier}: its first message came at {first:.0f} ms, "
                    f"after {earlier}'s last at {last:.0f} ms, so {BLOCKED}",
                    together,
                    f"{later} served after {earlier} ({first:.0f} ms > {last:.0f} ms)",
                )
    return None


def _received_line(compared: list[str], rest: list[str]) -> str:
    """The messages a client received: those compared, then any the scenario did not wait for."""
    if not rest:
        return _messages(compared)
    extra = f"{_messages(rest)} (not waited for, not compared)"
    return extra if not compared else f"{_messages(compared)}, then {extra}"


def _never_closed(
    scenario: Scenario, name: str, clients: list[str], want: Any, got: Any
) -> tuple[str, str, str]:
    """The reference's server closed this connection; the learner's never did, and the client
    closed it itself: its code is the client's own, so say that instead of comparing it."""
    subject = _subject(name, clients)
    waited = _close_wait(scenario, name)
    how = f"gave up after {waited:g}s and closed it" if waited else "closed it at the end"
    connection = "the connection" if subject == "the client" else f"{name}'s connection"
    return (
        f"your server never closed {connection} ({subject} {how}); the reference's server "
        f"closed it with {want.code} and reason {want.reason!r}",
        f"{name}: the server closes {want.code} {want.reason!r}",
        f"{name}: the server never closed; the client {how} ({got.code} {got.reason!r})",
    )


def _close_wait(scenario: Scenario, name: str) -> float | None:
    """How long the scenario waits for the server to close this client's connection."""
    waited = None
    for step in scenario.steps:
        if step.client == name and (step.receive_all or step.expect_close):
            waited = step.timeout if step.timeout is not None else scenario.timeout
    return waited


def _received(transcript: Transcript, name: str) -> list[str]:
    if not any(c.name == name for c in transcript.clients):
        return []
    return transcript.received(name)


def _subject(name: str, clients: list[str]) -> str:
    return "the client" if len(clients) == 1 and name == "client" else name


def _who(name: str, clients: list[str]) -> str:
    return f"{_subject(name, clients)}'s "


def _messages(messages: list[str]) -> str:
    if not messages:
        return "nothing"
    shown = ", ".join(repr(m if len(m) <= 80 else m[:77] + "...") for m in messages[:6])
    more = f" and {len(messages) - 6} more" if len(messages) > 6 else ""
    return f"[{shown}]{more}"


def _handshake(handshake: Any) -> str:
    if handshake.accepted:
        if handshake.subprotocol:
            return f"accepted with subprotocol {handshake.subprotocol!r}"
        return "accepted"
    if handshake.status:
        return f"rejected with HTTP {handshake.status}"
    return "no answer to the handshake"


def _error_text(error: Any) -> str:
    where = f" at line {error.line}" if error.line else ""
    message = f": {error.message}" if error.message else ""
    return f"{error.name}{where}{message}"


# ---- proving an exercise ------------------------------------------------------------------


@dataclass(frozen=True)
class Proof:
    """`wsquiz exercise verify` for one exercise: its solution passes, its starter fails."""

    name: str
    problems: tuple[str, ...]
    solution: CheckReport | None = None
    starter: CheckReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def prove(exercise: Exercise, lab: Lab) -> Proof:
    from wsquiz.engine.appfile import AppSpec as Spec

    problems: list[str] = []
    try:
        solution = run_checks(exercise, Spec(exercise.solution), lab)
        starter = run_checks(exercise, Spec(exercise.starter), lab)
    except WsquizError as exc:
        return Proof(exercise.name, (exc.message,))
    if solution.error:
        problems.append(f"the solution did not serve: {solution.error}")
    for result in solution.results:
        if not result.passed and not solution.error:
            problems.append(f"the solution fails check {result.name!r}: {result.message}")
    if starter.error:
        problems.append(f"the starter must run (to show the learner a transcript): {starter.error}")
    elif starter.passed:
        problems.append("the starter passes every check: it must leave something to do")
    return Proof(exercise.name, tuple(problems), solution, starter)
