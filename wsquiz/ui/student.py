"""The student's terminal in a classroom: join, answer, check (the teacher's is
`classroom_board.py`).

A WebSocket client of the host (`classroom.py`). It needs no FastAPI to talk; it starts a lab
only to check answers live on the student's own machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from wsquiz._support.files import write_atomic
from wsquiz.errors import UsageError, WsquizError

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab

# Closes that mean "do not come back": the join was refused, or a limit was broken.
FINAL_CLOSES = {1003, 1008, 1009, 4001, 4002}
OPEN_TIMEOUT = 5.0
MAX_INCOMING = 4 * 1024 * 1024
MAX_SEND = 64 * 1024  # the host's limit on one message (classroom.MAX_MESSAGE)
TOKENS_FILE = "classroom-tokens.json"


def endpoint(url: str, path: str) -> str:
    """`http://host:port` (what the host prints) -> `ws://host:port/<path>`."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise UsageError(
            f"{url!r} is not a classroom address",
            fix="give the address the host printed, e.g. http://192.168.1.20:8765",
        )
    try:
        parts.port  # noqa: B018 - read for its check: a port out of 0-65535 raises
    except ValueError:
        raise UsageError(
            f"{url!r} is not a classroom address: its port is not a number from 0 to 65535",
            fix="give the address the host printed, e.g. http://192.168.1.20:8765",
        ) from None
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


class Refused(WsquizError):
    """The host closed the connection for good (bad code, name taken, a limit broken...)."""


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


def _picks_letters(text: str, options: list[dict[str, Any]], letters: set[str]) -> bool:
    """Whether an answer names options of the question: by letter, or by an option's text."""
    from wsquiz.learn.judge import letters_of, normalise

    wanted = normalise(text).casefold().rstrip(".")
    if any(wanted == normalise(str(o["text"])).casefold().rstrip(".") for o in options):
        return True
    picked = letters_of(text)
    return picked is not None and picked <= letters


def _tokens_path() -> Path:
    from wsquiz._support.paths import data_home

    return data_home() / TOKENS_FILE


def token_key(code: str, name: str) -> str:
    """A seat's token is kept by what names the session, its join code (the same when the host
    resumes it), and the name: whatever address the student types, the seat is theirs."""
    return f"code {code.strip().upper()} {name}"


def _tokens() -> dict[str, Any]:
    try:
        data = json.loads(_tokens_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_token(code: str, name: str, address: str = "") -> str | None:
    """The token kept for this name in this session; `address`: as an older wsquiz kept it, by
    the exact address typed."""
    data = _tokens()
    for key in (token_key(code, name), f"{address} {name}" if address else ""):
        token = data.get(key)
        if isinstance(token, str):
            return token
    return None


def save_token(code: str, name: str, token: str) -> None:
    path = _tokens_path()
    data = _tokens()
    data[token_key(code, name)] = token
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(data, indent=1), mode=0o600)  # tokens are secrets


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
        from wsquiz.classroom.store import NAME_RULE, check_name

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
            except Refused:
                raise
            except InvalidStatus as exc:
                if not self._joined and not _has_port(self.url):
                    raise unreachable(self.url, self.name, exc) from None
                raise UsageError(
                    f"{self.url} is not a wsquiz classroom (HTTP {exc.response.status_code} "
                    "to the WebSocket handshake)",
                    fix="give the address `wsquiz classroom host` printed",
                ) from None
            except (OSError, InvalidHandshake, asyncio.TimeoutError, ConnectionClosed) as exc:
                if isinstance(exc, ConnectionClosed) and exc.rcvd and exc.rcvd.code in FINAL_CLOSES:
                    raise Refused(
                        f"the host closed the connection: {exc.rcvd.reason or exc.rcvd.code}",
                        fix=_refusal_fix(
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
                            f"connection to the host lost ({_why(exc)}); rejoining… (q to leave)",
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
                raise Refused(
                    f"the host refused to let you join: {reason or code}",
                    fix=_refusal_fix(code, reason, self.name, self.token is not None),
                ) from None
            raise
        self.token = welcome["token"]
        self._joined = True
        save_token(self.code, self.name, welcome["token"])
        self.mode = welcome["mode"]
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
            self.answers[message["item"]] = message
            if self.current is not None and self.current.message["item"]["id"] == message["item"]:
                self.current.sent = False
            mark, style = ("✔", "green") if message["correct"] else ("✘", "red")
            # right or wrong only: the key waits for the reveal, so no one can pass it on
            self.console.print(
                Text(
                    f"{mark} recorded by the host: {message['answer']!r} is "
                    f"{'right' if message['correct'] else 'not right'}",
                    style,
                )
            )
            self.console.print(
                Text("wait for the teacher to reveal it: the key and why come then", "dim")
            )
        elif kind == "reveal":
            current = self.current
            here = current is not None and current.message["item"]["id"] == message["item"]
            if current is not None and here:
                current.revealed = True
            self.console.print(
                Text(f"the teacher revealed the answer: {self._key_text(message)}", "bold magenta")
            )
            spread = ", ".join(f"{s['answer']}: {s['count']}" for s in message.get("spread", []))
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
            self.console.print(Text(f"host: {message.get('message')}", "red"))
            current = self.current
            if current is not None and current.sent:  # the answer sent was not recorded
                current.sent = False
                current.answered = "already answered" in str(message.get("message"))

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
            state = "right" if given.get("correct") else "not right"
            self.console.print(Text(f"you answered {given['answer']!r} ({state})", "dim"))
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
            rebuilt = self.current.question
            hint = "; h hint" if rebuilt is not None and rebuilt.hint else ""
            self.console.print(Text(f"{ask}{hint}; q to leave", "dim"))

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
        if letters and not _picks_letters(text, item["options"], letters):
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
                self.console.print(
                    Text(
                        f"checked live on this machine: {'right' if claimed else 'not right'}; "
                        "sending it to the host…",
                        "dim",
                    )
                )
        current.answered = current.sent = True
        answer: dict[str, Any] = {"type": "answer", "item": item["id"], "answer": text.strip()}
        if claimed is not None:
            answer["correct"] = claimed
        await ws.send(json.dumps(answer))

    # exercises

    async def _exercise(self, message: dict[str, Any]) -> None:
        bundle = message.get("bundle") or {}
        name = str(bundle.get("exercise", message["item"]["id"]))
        from wsquiz.ui.markdown import CourseMarkdown

        body: list[RenderableType] = []
        if bundle.get("endpoint"):
            body.append(Text(f"endpoint: {bundle['endpoint']}", "cyan"))
        body.append(CourseMarkdown(message["item"]["prompt"]))
        checks = ", ".join(f"{c['name']} ({c['points']})" for c in bundle.get("checks", []))
        if checks:
            body.append(Text(f"checks: {checks}", "dim"))
        self.console.print(
            Panel(Group(*body), title=f"{name}: {bundle.get('title', '')}", border_style="blue")
        )
        if self.file is None:
            self.file = Path(f"{name.replace('-', '_')}.py")
        if not self.file.exists() and bundle.get("starter"):
            try:
                self.file.write_text(str(bundle["starter"]), encoding="utf-8")
            except OSError as exc:
                self.console.print(
                    Text(
                        f"cannot write the starter to {self.file} ({exc.strerror or exc}): "
                        "write your app there yourself, or rejoin with --file PATH",
                        "red",
                    )
                )
            else:
                self.console.print(Text(f"wrote the starter to {self.file}", "green"))
        self._local_exercise = _local_exercise(name, [c["name"] for c in bundle.get("checks", [])])
        self.console.print(
            Text(
                f"edit {self.file}, then press Enter to check it (it is checked here and on the "
                "host); q to leave",
                "dim",
            )
        )

    async def _check(self, ws: ClientConnection) -> None:
        assert self.file is not None
        try:
            source = self.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.console.print(Text(f"cannot read {self.file}: {exc}", "red"))
            return
        if self._local_exercise is not None and self.lab is not None:
            from wsquiz.engine.appfile import AppSpec
            from wsquiz.learn.checking import run_checks
            from wsquiz.ui.check import report_view

            try:
                report = await asyncio.to_thread(
                    run_checks, self._local_exercise, AppSpec.parse(str(self.file)), self.lab
                )
                self.console.print(report_view(report, self._local_exercise))
            except WsquizError as exc:
                self.console.print(Text(f"the check failed here: {exc.message}", "yellow"))
        else:
            self.console.print(Text("sending your file to the host to be checked…", "dim"))
        # its name as the student knows it: what the host's checks say names it so
        message = json.dumps({"type": "check", "source": source, "file": self.file.name})
        if len(message) > MAX_SEND:  # the host would close the connection (1009)
            self.console.print(
                Text(
                    f"{self.file} is too large to send ({len(message) // 1024} KiB as JSON; "
                    f"the host takes up to {MAX_SEND // 1024} KiB)",
                    "red",
                )
            )
            return
        await ws.send(message)


def why_panel(text: str) -> Panel:
    return Panel(Text(text), title="why", title_align="left", border_style="green")


def _local_exercise(name: str, checks: list[str]) -> Any:
    """The same exercise from this machine's course, if it has it (with the same checks)."""
    try:
        from wsquiz.course.exercises import find_exercise

        exercise = find_exercise(name)
    except WsquizError:
        return None
    return exercise if [c.name for c in exercise.checks] == checks else None


def _split(url: str) -> Any:
    return urlsplit(url.strip() if "://" in url else "http://" + url.strip())


def _has_port(url: str) -> bool:
    try:
        return _split(url).port is not None
    except ValueError:
        return False


def unreachable(url: str, name: str, exc: BaseException) -> UsageError:
    """The first connection failed: name the address, what went wrong, and the line to type."""
    parts = _split(url)
    secure = parts.scheme in ("https", "wss")
    port = parts.port if _has_port(url) else None
    tried = port or (443 if secure else 80)
    if isinstance(exc, ConnectionRefusedError):
        why = f"nothing listens on port {tried}" + (
            "" if port else ", tried as the address has no port"
        )
    elif isinstance(exc, socket.gaierror):
        why = f"no such host {parts.hostname!r}"
    elif isinstance(exc, asyncio.TimeoutError):
        why = f"no answer within {OPEN_TIMEOUT:g}s"
    elif isinstance(exc, InvalidStatus):
        why = f"HTTP {exc.response.status_code} there: no wsquiz classroom"
    else:
        why = _why(exc)
    if port is None and not isinstance(exc, ConnectionRefusedError):
        why += f"; the address has no port, so port {tried} was tried"
    example = urlunsplit(
        (
            "https" if secure else "http",
            f"{parts.netloc or 'HOST'}" + ("" if port else ":8765"),
            "",
            "",
            "",
        )
    )
    return UsageError(
        f"cannot reach a classroom at {url} ({why})",
        fix=f"type the join line the host printed, e.g. `wsquiz classroom join {example} "
        f"--code CODE --name {name}`, and check that the teacher's host is running",
    )


def _why(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed) and exc.rcvd is not None:
        return f"{exc.rcvd.code} {exc.rcvd.reason}".strip()
    return type(exc).__name__ if not str(exc) else str(exc)[:80]


def _refusal_fix(code: int, reason: str = "", name: str = "", token: bool = False) -> str:
    """What to do about a refusal: 1008 covers several, told apart by the host's reason.

    `token`: whether this terminal offered a token for `name` (one kept from an earlier join).
    """
    from wsquiz.classroom.store import NAME_RULE

    if code == 1008:
        if "taken" in reason:
            if token:
                return (
                    f"pick a name no one else in this class uses: the token kept here for "
                    f"{name!r} is not the one the host holds for it"
                )
            return (
                f"pick a name no one else in this class uses: no token for {name!r} is kept on "
                "this machine (in the wsquiz data folder), so the host cannot tell the name is "
                "yours; if it is, rejoin from the terminal you joined with"
            )
        if "too many wrong join codes" in reason:
            return "wait a minute, then type the join code the teacher's host printed"
        if "join code" in reason:
            return "type the join code the teacher's host printed (6 characters, any case)"
        if "a name" in reason:
            return f"pick a name of {NAME_RULE}"
        if "too many messages" in reason:
            return "rejoin: answers are limited to a few a second"
    return {
        1008: "check the join code and your name, or ask the teacher",
        1009: "a message was too large for the host",
        4001: "you joined again from another terminal; use that one",
        4002: "ask the teacher for the new session's address and code",
    }.get(code, "ask the teacher")
