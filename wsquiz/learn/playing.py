"""Playing an exercise's checks against the learner's server, always sandboxed.

A per-check exercise gets a fresh server per check, the checks played at once (`_EachCheck`); a
"once" exercise plays every check in turn on one server. A server that stops answering (its event
loop blocked) is found by a plain HTTP probe, said once, and the checks after it are not played.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from wsquiz.course.exercises import Check
from wsquiz.errors import AppLoadError, LabError, WsquizError
from wsquiz.learn.reports import STALLED

if TYPE_CHECKING:
    from wsquiz.engine.appfile import AppSpec
    from wsquiz.engine.serving import Limits, Served
    from wsquiz.engine.transcript import Transcript

PROBE_TIMEOUT = 0.5  # a server whose event loop runs answers a plain HTTP request well within


class Stalled(LabError):
    """The server stopped answering in an earlier check: the later checks are not played."""


async def cancelled(*tasks: asyncio.Future[Any]) -> None:
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in pending:
        if not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" at exit


# A per-check exercise plays this many checks at once (each against a server of its own), at
# most: enough for every bundled exercise, few enough for a class graded several at a time.
AT_ONCE = 6


async def observe_each(
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
            await cancelled(*tasks)
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


async def observe_once(
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
