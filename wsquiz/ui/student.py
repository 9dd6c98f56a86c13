"""The student's terminal in a classroom: join, answer, check, shown with Rich (the teacher's
is `wsquiz.ui.board`; the protocol's plumbing without a view is `wsquiz.classroom.student`).

It needs no FastAPI to talk; it starts a lab only to check answers live on the student's own
machine. Whatever the host relays from other students is shown as literal text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from wsquiz.classroom.student import (
    FINAL_CLOSES,
    MAX_INCOMING,
    OPEN_TIMEOUT,
    HostRefused,
    endpoint,
    has_port,
    load_token,
    picks_letters,
    refusal_fix,
    save_token,
    unreachable,
    why_closed,
)
from wsquiz.classroom.text import literal
from wsquiz.errors import UsageError, WsquizError

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab


class Lines:
    """stdin lines, read by a thread, delivered to the event loop; None at end of input."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read: Callable[[], str] | None = None):
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = loop
        self._read = read or sys.stdin.readline
        threading.Thread(target=self._pump, name="wsquiz-stdin", daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                line = self._read()
            except (OSError, ValueError):
                line = ""
            if self._loop.is_closed():
                return
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(
                    self.queue.put_nowait, line.rstrip("\n") if line else None
                )
            if not line:
                return


# ---- the student --------------------------------------------------------------------------


@dataclass
class Current:
    message: dict[str, Any]
    question: Any = None  # content.Question rebuilt from the bundle, when it can be checked here
    observation: asyncio.Future[Any] | None = None
    answered: bool = False
    sent: bool = False  # the answer is on its way: the host's verdict or error is awaited
    revealed: bool = False
    bundle: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None  # where the question was rebuilt (again at the reveal)


@dataclass
class StudentClient:
    url: str
    name: str
    code: str
    console: Console
    lab: Lab | None = None
    file: Path | None = None
    retry_s: float = 60.0
    lines: Lines | None = None
    token: str | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    current: Current | None = None
    mode: str = "quiz"
    feedback: str = "reveal"  # when the host tells right or wrong: "reveal" or "instant"
    _work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wsquiz-class-")))
    _local_exercise: Any = None
    _done: bool = False
    _eof: bool = False
    _joined: bool = False  # welcomed once: a lost connection is then rejoined by itself

    async def run(self) -> int:
        try:
            return await self._run()
        finally:  # the questions rebuilt here, and the apps they ran
            shutil.rmtree(self._work, ignore_errors=True)

    async def _run(self) -> int:
        address = endpoint(self.url, "/ws/student")
        from wsquiz.classroom.text import NAME_RULE, check_name

        try:
            self.name = check_name(self.name)
        except ValueError as exc:  # the host would refuse it: say why before connecting
            raise UsageError(
                f"the name {self.name!r} cannot join a class: {exc}",
                fix=f"pick a name of {NAME_RULE}",
            ) from None
        self.token = self.token or load_token(self.code, self.name, address)
        if self.lines is None:
            self.lines = Lines(asyncio.get_running_loop())
        waited_since: float | None = None
        while not self._done:
            try:
                async with connect(
                    address, open_timeout=OPEN_TIMEOUT, max_size=MAX_INCOMING, ping_interval=20
                ) as ws:
                    await self._join(ws)
                    waited_since = None
                    await self._session(ws)
            except HostRefused:
                raise
            except InvalidStatus as exc:
                if exc.response.status_code == 503:  # the host is at its connection limit
                    raise UsageError(
                        f"the classroom at {self.url} is full right now (HTTP 503)",
                        fix="try again in a minute, or ask the teacher",
                    ) from None
                if not self._joined and not has_port(self.url):
                    raise unreachable(self.url, self.name, exc) from None
                raise UsageError(
                    f"{self.url} is not a wsquiz classroom (HTTP {exc.response.status_code} "
                    "to the WebSocket handshake)",
                    fix="give the address `wsquiz classroom host` printed",
                ) from None
            except (OSError, InvalidHandshake, asyncio.TimeoutError, ConnectionClosed) as exc:
                if isinstance(exc, ConnectionClosed) and exc.rcvd and exc.rcvd.code in FINAL_CLOSES:
                    raise HostRefused(
                        f"the host closed the connection: {exc.rcvd.reason or exc.rcvd.code}",
                        fix=refusal_fix(
                            exc.rcvd.code, exc.rcvd.reason, self.name, self.token is not None
                        ),
                    ) from None
                if self._done:
                    break
                if not self._joined:  # never in the class: nothing to rejoin, say why at once
                    raise unreachable(self.url, self.name, exc) from None
                now = time.monotonic()
                waited_since = waited_since or now
                if now - waited_since > self.retry_s:
                    raise UsageError(
                        f"cannot reach the classroom at {self.url}",
                        fix="check the address and that the teacher's host is running",
                    ) from None
                if now == waited_since:  # say it once, not at every attempt
                    self.console.print(
                        Text(
                            f"connection to the host lost ({why_closed(exc)}); "
                            "rejoining… (q to leave)",
                            "yellow",
                        )
                    )
                await self._pause(min(2.0, 0.2 + (now - waited_since) / 5))
            except InvalidURI as exc:
                raise UsageError(f"{self.url!r} is not a classroom address ({exc})") from None
        return 0

    async def _pause(self, seconds: float) -> None:
        """Wait before trying again; `q` typed meanwhile leaves."""
        if self.lines is None or self._eof:
            await asyncio.sleep(seconds)
            return
        try:
            text = await asyncio.wait_for(self.lines.queue.get(), seconds)
        except asyncio.TimeoutError:
            return
        if text is None:
            self._eof = True
        elif text.strip().lower() in ("q", "quit", "/quit"):
            self._done = True
        elif text.strip():
            self.console.print(Text("offline: that was not sent; wait to be back", "yellow"))

    async def _join(self, ws: ClientConnection) -> None:
        hello: dict[str, Any] = {"type": "join", "code": self.code, "name": self.name}
        if self.token:
            hello["token"] = self.token
        await ws.send(json.dumps(hello))
        try:
            welcome = json.loads(await ws.recv())
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            reason = exc.rcvd.reason if exc.rcvd else ""
            if code in FINAL_CLOSES:
                raise HostRefused(
                    f"the host refused to let you join: {reason or code}",
                    fix=refusal_fix(code, reason, self.name, self.token is not None),
                ) from None
            raise
        self.token = welcome["token"]
        self._joined = True
        save_token(self.code, self.name, welcome["token"])
        self.mode = welcome["mode"]
        self.feedback = str(welcome.get("feedback", "instant"))
        self.answers = dict(welcome.get("answers", {}))
        if welcome.get("rejoined"):
            restored = len(self.answers)
            self.console.print(
                Text(
                    f"welcome back, {self.name}: your place and {restored} answer(s) are restored",
                    "green",
                )
            )
        else:
            self.console.print(
                Text.assemble(
                    ("joined ", "green"), (welcome["title"], "bold"), (f" as {self.name}", "green")
                )
            )
            if self.mode == "quiz":
                self.console.print(
                    Text("wait for the teacher to push a question; q to leave", "dim")
                )

    async def _session(self, ws: ClientConnection) -> None:
        assert self.lines is not None
        incoming = asyncio.ensure_future(ws.recv())
        line: asyncio.Future[str | None] | None = None
        try:
            while True:
                # Always read: a line is handled as it comes, in the state it was typed in (a
                # line left waiting would answer whatever question comes next).
                if line is None and not self._eof:
                    line = asyncio.ensure_future(self.lines.queue.get())
                waiting: set[asyncio.Future[Any]] = {incoming} | ({line} if line else set())
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if line is not None and line.done():
                    text, line = line.result(), None
                    if text is None:
                        self._eof = True  # piped answers ran out: keep listening until the end
                    elif text.strip().lower() in ("q", "quit", "/quit"):
                        self._done = True
                        await ws.close(1000, "left")
                        return
                    else:
                        await self._input(ws, text)
                if incoming.done():
                    try:
                        await self._message(ws, json.loads(incoming.result()))
                    except (ValueError, KeyError, TypeError, AttributeError):
                        self.console.print(
                            Text(
                                "the host sent a message this wsquiz does not understand "
                                "(are both on the same version?)",
                                "yellow",
                            )
                        )
                    if self._done:
                        await ws.close(1000, "session ended")
                        return
                    incoming = asyncio.ensure_future(ws.recv())
        finally:
            for pending in (incoming, line):
                if pending is not None and not pending.done():
                    pending.cancel()

    # what the host sends

    async def _message(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "question":
            await self._question(message)
        elif kind == "verdict":
            self._verdict(message)
        elif kind == "renamed":
            self.name = str(message["name"])
            if self.token:
                save_token(self.code, self.name, self.token)
            self.console.print(Text(f"the teacher renamed you {self.name}", "yellow"))
        elif kind == "reveal":
            current = self.current
            here = current is not None and current.message["item"]["id"] == message["item"]
            if current is not None and here:
                current.revealed = True
            self.console.print(
                Text(f"the teacher revealed the answer: {self._key_text(message)}", "bold magenta")
            )
            spread = ", ".join(
                f"{literal(s['answer'], 60)}: {s['count']}" for s in message.get("spread", [])
            )
            if spread:
                self.console.print(Text(f"the class answered {spread}", "magenta"))
            if current is not None and here:
                self._explain(current, message)
        elif kind == "checked":
            score = f"{message['score']:g}/{message['max_score']:g}"
            style = "green" if message["passed"] else "yellow"
            self.console.print(Text(f"the host checked your file too: {score} recorded", style))
            if message.get("error"):
                self.console.print(Text(f"  {message['error']}", "red"))
        elif kind == "ended":
            self.console.print(Text("the teacher ended the session. Thank you!", "bold"))
            self._done = True
        elif kind == "error":
            self.console.print(Text(f"host: {literal(message.get('message'), 300)}", "red"))
            current = self.current
            if current is not None and current.sent:  # the answer sent was not recorded
                current.sent = False
                current.answered = "already answered" in str(message.get("message"))

    def _verdict(self, message: dict[str, Any]) -> None:
        """The host recorded an answer; right or wrong when the teacher lets it be told (at
        once in practice, else at the reveal)."""
        known = self.answers.get(message["item"], {})
        self.answers[message["item"]] = {**known, **message}
        if self.current is not None and self.current.message["item"]["id"] == message["item"]:
            self.current.sent = False
        answer = literal(message["answer"], 200)
        if "correct" not in message:  # quiz sessions: right or wrong waits for the reveal
            self.console.print(
                Text(f"recorded by the host: {answer!r}; right or wrong at the reveal", "green")
            )
            return
        mark, style = ("✔", "green") if message["correct"] else ("✘", "red")
        # right or wrong only: the key waits for the reveal, so no one can pass it on
        state = "right" if message["correct"] else "not right"
        if self.current is not None and self.current.revealed:
            self.console.print(Text(f"{mark} your answer {answer!r} is {state}", style))
            return
        self.console.print(Text(f"{mark} recorded by the host: {answer!r} is {state}", style))
        self.console.print(
            Text("wait for the teacher to reveal it: the key and why come then", "dim")
        )

    def _key_text(self, message: dict[str, Any]) -> str:
        """The revealed key, with its option's text, and where it comes from."""
        key = message.get("key")
        if key is None:
            return "(the host could not observe it)"
        text = str(key)
        current = self.current
        if current is not None and current.message["item"]["id"] == message.get("item"):
            options = {o["letter"]: o["text"] for o in current.message["item"]["options"]}
            if text in options:
                text = f"{text}) {options[text]}"
        # a concept question's key is a stored option: no server showed it
        return text if message.get("stored") else f"{text} (what the live server gives)"

    def _explain(self, current: Current, message: dict[str, Any]) -> None:
        """At the reveal: this machine's live check of the question in full, or the host's why."""
        from wsquiz.ui.quiz import live_check_view, verdict_view

        observation = current.observation
        if (
            current.question is not None
            and current.folder is not None
            and observation is not None
            and observation.done()
            and not observation.cancelled()
            and observation.exception() is None
        ):
            from wsquiz.classroom.material import question_from_bundle, restore_bundle
            from wsquiz.learn.judge import judge

            try:  # rebuilt with what was withheld: the explanations, claims and quote
                whole = restore_bundle(current.bundle, dict(message.get("withheld") or {}))
                question = question_from_bundle(whole, current.folder)
            except WsquizError:
                question = None
            if question is not None:
                seen = observation.result()
                given = self.answers.get(question.id, {}).get("answer")
                if isinstance(given, str):
                    verdict = judge(question, given, seen)
                    self.console.print(verdict_view(question, verdict, seen, given))
                    return
                self.console.print(live_check_view(question, seen))
        if message.get("explanation"):
            self.console.print(why_panel(message["explanation"]))

    async def _question(self, message: dict[str, Any]) -> None:
        item = message["item"]
        self.current = Current(message, revealed=bool(message.get("revealed")))
        if self.mode == "exercise":
            await self._exercise(message)
            return
        from rich.rule import Rule

        self.console.print(Rule(f"question {message['index'] + 1} of {message['total']}"))
        bundle = message.get("bundle") or {}
        if bundle and self.lab is not None:
            try:
                from wsquiz.classroom.material import (
                    observe_sandboxed,
                    question_from_bundle,
                    restore_bundle,
                )

                folder = self._work / f"q{message['index']}-{time.monotonic_ns()}"
                if self.current.revealed:  # joined after the reveal: nothing is withheld now
                    bundle = restore_bundle(bundle, dict(message.get("withheld") or {}))
                question = question_from_bundle(bundle, folder)
                self.current.question = question
                self.current.bundle, self.current.folder = bundle, folder
                self.current.observation = asyncio.ensure_future(
                    asyncio.to_thread(observe_sandboxed, question, self.lab)
                )
            except WsquizError as exc:
                self.console.print(Text(f"cannot check this one here: {exc.message}", "yellow"))
        if self.current.question is not None:
            from wsquiz.ui.quiz import question_view

            self.console.print(
                question_view(self.current.question, message["index"] + 1, message["total"])
            )
        else:
            from wsquiz.ui.quiz import option_line

            self.console.print(Text(item["prompt"], "bold"))
            for option in item["options"]:
                self.console.print(option_line(option["letter"], option["text"]))
        given = self.answers.get(item["id"])
        if given is not None:
            self.current.answered = True
            correct = given.get("correct")
            state = "" if correct is None else (" (right)" if correct else " (not right)")
            shown = literal(given["answer"], 200)
            self.console.print(Text(f"you answered {shown!r}{state}", "dim"))
        elif self.current.revealed:
            self.console.print(Text("the teacher has revealed this one: answers are closed", "dim"))
        if self.current.revealed:
            self.console.print(
                Text(f"the answer: {self._key_text(message)}", "bold magenta"),
            )
            if message.get("explanation"):
                self.console.print(why_panel(message["explanation"]))
        elif given is None:
            letters = ", ".join(o["letter"] for o in item["options"])
            ask = f"answer with a letter ({letters})" if letters else "type your prediction"
            hint = "; h hint" if self._hint() else ""
            self.console.print(Text(f"{ask}{hint}; q to leave", "dim"))
            deadline = message.get("deadline")
            if isinstance(deadline, (int, float)):
                left = max(0, round(deadline - time.time()))
                self.console.print(Text(f"you have {left} s to answer", "bold yellow"))

    def _hint(self) -> str:
        current = self.current
        if current is None:
            return ""
        if current.question is not None and current.question.hint:
            return str(current.question.hint)
        return str(current.message["item"].get("hint") or "")

    def _not_sent(self, why: str) -> None:
        self.console.print(Text(f"{why} (that was not sent)", "yellow"))

    async def _input(self, ws: ClientConnection, text: str) -> None:
        current = self.current
        if self.mode == "exercise":
            if current is None:
                self._not_sent("the exercise has not arrived yet")
            else:
                await self._check(ws)
            return
        if not text.strip():
            return
        if current is None:
            self._not_sent("no question is open yet: wait for the teacher to push one")
            return
        if text.strip().lower() in ("h", "hint"):
            from wsquiz.ui.quiz import hint_view

            if current.question is not None and current.question.hint:
                self.console.print(hint_view(current.question))
            elif self._hint():  # a concept question: no bundle, the hint comes with the item
                self.console.print(Text.assemble(("hint: ", "bold yellow"), self._hint()))
            else:
                self.console.print(Text("this question has no hint here", "yellow"))
            return
        if current.revealed:
            self._not_sent("answers to this question are closed: the teacher revealed it")
            return
        if current.answered:
            self._not_sent("you already answered: your first answer counts")
            return
        item = current.message["item"]
        letters = {str(o["letter"]) for o in item["options"]}
        if letters and not picks_letters(text, item["options"], letters):
            # sent, it would be recorded as wrong: the first answer is the one that counts
            shown = ", ".join(sorted(letters))
            self.console.print(Text(f"answer with a letter ({shown}): not sent", "yellow"))
            return
        claimed: bool | None = None
        if current.question is not None and current.observation is not None:
            from wsquiz.learn.judge import judge

            try:
                observation = await current.observation
            except WsquizError as exc:
                self.console.print(Text(f"the live check failed here: {exc.message}", "yellow"))
            else:
                # Right or wrong only, as the host says: the transcript shows the key, so it
                # waits for the reveal like everyone's key does.
                verdict = judge(current.question, text, observation)
                claimed = verdict.correct
                if self.feedback == "instant":
                    state = "right" if claimed else "not right"
                    said = f"checked live on this machine: {state}; sending it to the host…"
                else:  # right or wrong waits for the reveal, here as on the host
                    said = "checked live on this machine; sending it to the host…"
                self.console.print(Text(said, "dim"))
        current.answered = current.sent = True
        answer: dict[str, Any] = {"type": "answer", "item": item["id"], "answer": text.strip()}
        if claimed is not None:
            answer["correct"] = claimed
        await ws.send(json.dumps(answer))

    # exercises: shown and checked by `wsquiz.ui.student_exercise`

    async def _exercise(self, message: dict[str, Any]) -> None:
        from wsquiz.ui.student_exercise import show_exercise

        show_exercise(self, message)

    async def _check(self, ws: ClientConnection) -> None:
        from wsquiz.ui.student_exercise import check_file

        await check_file(self, ws)


def why_panel(text: str) -> Panel:
    return Panel(Text(text), title="why", title_align="left", border_style="green")
