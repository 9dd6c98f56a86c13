"""One check judged: the learner's transcript compared with the reference's (or the exercise's
exact expectations), each difference said as expected against observed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from wsquiz.course.exercises import Check
from wsquiz.learn.diagnosis import differing, near_miss
from wsquiz.learn.reports import STALLED, CheckResult

if TYPE_CHECKING:
    from wsquiz.engine.scenario import Scenario
    from wsquiz.engine.transcript import Transcript


@dataclass
class _Judgement:
    """The differences found in one check, and the one near miss among the replies."""

    check: Check
    reference: Transcript
    learner: Transcript
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # message, exp, obs
    near: tuple[str, str] | None = None  # expected, observed: alike but for a slip

    def fail(self, message: str, expected: str, observed: str) -> None:
        self.failures.append((message, expected, observed))

    @property
    def clients(self) -> list[str]:
        return list(self.check.scenario.clients)

    def learner_client(self, name: str) -> Any:
        return next((c for c in self.learner.clients if c.name == name), None)

    def reference_client(self, name: str) -> Any:
        return next((c for c in self.reference.clients if c.name == name), None)


def judge_check(check: Check, reference: Transcript, learner: Transcript) -> CheckResult:
    """Compare the learner's observation of one check with the reference's."""
    verdict = _Judgement(check, reference, learner)
    if learner.server.exit_status:
        verdict.fail(
            f"the server process ended: {learner.server.exit_status}",
            "the server keeps running",
            learner.server.exit_status,
        )
    _judge_handshakes(verdict)
    _judge_errors(verdict)
    _judge_silent(verdict)
    _judge_replies(verdict)
    if check.expect.concurrent:
        waited = _served_in_turn(learner, list(check.expect.concurrent))
        if waited is not None:
            verdict.fail(*waited)
    _judge_closes(verdict)
    errors = learner.server.errors
    passed = CheckResult(
        name=check.name,
        passed=True,
        points=check.points,
        max_points=check.points,
        message="passed",
        transcript=learner,
        description=check.description,
        traceback=errors[0].traceback if errors else "",
        hint=check.hint,
    )
    if not verdict.failures:
        return passed
    message = "; ".join(f[0] for f in verdict.failures)
    if STALLED in learner.timed_out:
        message += f"; {STALLED}"
    elif (
        learner.timed_out
        and any("waited" in note for note in learner.timed_out)
        and "never closed" not in message  # which says the same, in words
    ):
        message += f" (timeout: {learner.timed_out[0]})"
    return replace(
        passed,
        passed=False,
        points=0,
        message=message,
        expected="\n".join(f[1] for f in verdict.failures),
        observed="\n".join(f[2] for f in verdict.failures),
        near_miss=verdict.near,
    )


def _judge_handshakes(verdict: _Judgement) -> None:
    if verdict.check.expect.handshake != "reference":
        return
    clients = verdict.clients
    for name in clients:
        want, got = verdict.reference_client(name), verdict.learner_client(name)
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


def _judge_errors(verdict: _Judgement) -> None:
    expect, errors = verdict.check.expect, verdict.learner.server.errors
    if expect.server_errors == "none" and errors:
        verdict.fail(
            f"the server raised {_error_text(errors[0])}",
            "no uncaught error in the server log",
            _error_text(errors[0]),
        )
    elif expect.server_errors == "reference":
        allowed = {e.type for e in verdict.reference.server.errors}
        extra = [e for e in errors if e.type not in allowed]
        if extra:
            what = "nothing" if not allowed else ", ".join(sorted(allowed))
            verdict.fail(
                f"the server raised {_error_text(extra[0])} (the reference raised {what})",
                f"server errors: {what}",
                _error_text(extra[0]),
            )


def _judge_silent(verdict: _Judgement) -> None:
    for name in verdict.check.expect.silent:
        known = verdict.learner_client(name) is not None
        got_messages = verdict.learner.received(name) if known else []
        if got_messages:
            verdict.fail(
                f"{name} should receive nothing but received {_messages(got_messages)}",
                f"{name}: nothing",
                f"{name}: {_messages(got_messages)}",
            )


def _judge_replies(verdict: _Judgement) -> None:
    check, expect, learner = verdict.check, verdict.check.expect, verdict.learner
    if expect.replies == "ignore":
        return
    clients = verdict.clients
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
        wanted = list(exact[name]) if exact is not None else _received(verdict.reference, name)
        received = _received(learner, name)
        wanted, seen = wanted[:count], received[:count]
        want_lines.append(f"{name}: {_messages(wanted)}")
        # What the client really received, the messages not compared included: the summary
        # must not say "nothing" where the transcript shows a message.
        got_lines.append(f"{name}: {_received_line(seen, received[len(seen) :])}")
        if wanted != seen:
            differ.append((name, wanted, seen))
    if not differ:
        return
    name, wanted, seen = differ[0]
    source = "expected" if exact is not None else "the reference solution sent"
    said = f"{_subject(name, clients)} received {_messages(seen)}; {source} {_messages(wanted)}"
    pair = next(((w, s) for w, s in zip(wanted, seen, strict=False) if w != s), None)
    if pair is not None and near_miss(*pair):
        verdict.near = pair
        said += f" (nearly: {pair[1]!r} for {pair[0]!r}, {_slip(*pair)})"
    verdict.fail(said, "\n".join(want_lines), "\n".join(got_lines))


def _slip(expected: str, observed: str) -> str:
    if expected.casefold() == observed.casefold():
        return "only the case differs"
    changed = sum(max(len(a), len(b)) for a, b, differs in differing(expected, observed) if differs)
    return f"{changed} character{'s' if changed != 1 else ''} differ"


def _judge_closes(verdict: _Judgement) -> None:
    expect, clients = verdict.check.expect, verdict.clients
    if expect.close == "ignore":
        return
    for name in clients:
        got_record = verdict.learner_client(name)
        got_close = got_record.close if got_record is not None else None
        if isinstance(expect.close, dict):
            if name not in expect.close:
                continue
            want_code: int | None = expect.close[name]
        elif isinstance(expect.close, int):
            want_code = expect.close
        else:
            want_record = verdict.reference_client(name)
            want_close = want_record.close if want_record else None
            want_code = want_close.code if want_close else None
            if want_close and got_close and (want_close.by, got_close.by) == ("server", "client"):
                # the code is the client's own: compared, it would say something untrue
                verdict.fail(
                    *_never_closed(verdict.check.scenario, name, clients, want_close, got_close)
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
    extra = f"{_messages(rest, shown=2)} (not waited for, not compared)"
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


def _messages(messages: list[str], shown: int = 6) -> str:
    if not messages:
        return "nothing"
    listed = ", ".join(repr(m if len(m) <= 80 else m[:77] + "...") for m in messages[:shown])
    more = f" and {len(messages) - shown} more" if len(messages) > shown else ""
    return f"[{listed}]{more}"


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
