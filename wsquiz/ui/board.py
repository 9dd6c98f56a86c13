"""The teacher's board in a terminal: the live view of the class, and single-key commands.

A WebSocket client of the host (`classroom.py`), like the student's terminal
(`classroom_client.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from wsquiz.classroom.student import MAX_INCOMING, OPEN_TIMEOUT, endpoint
from wsquiz.errors import UsageError
from wsquiz.ui.student import Lines

if TYPE_CHECKING:
    pass


def _terminal_fd(stream: Any) -> int | None:
    try:
        fd = int(stream.fileno())
        return fd if os.isatty(fd) else None
    except (AttributeError, OSError, ValueError):
        return None


@contextlib.contextmanager
def single_keys(stream: Any = None) -> Iterator[int | None]:
    """A terminal in cbreak mode: each key arrives as it is typed (no Enter), unechoed.

    Yields the terminal's descriptor, or None when the stream is no terminal (piped input is
    read as lines). Ctrl-C still interrupts (signals stay on), and the terminal's mode is put
    back on the way out, whatever ends the block.
    """
    fd = _terminal_fd(sys.stdin if stream is None else stream)
    if fd is None:
        yield None
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield fd
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Keys:
    """Keys typed on a terminal in cbreak mode, turned into the board's commands.

    A letter is a command at once; Enter alone is "next"; digits gather (shown by `typing`)
    until Enter makes them "go to question N"; Backspace and Esc edit them. Arrow keys and other
    escape sequences are skipped. Delivered on `queue` like `Lines`; None when input ends.
    With `numbers` off (no question to go to), a digit is a key like any other.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, fd: int, typing: Callable[[str], None] | None = None
    ) -> None:
        import codecs

        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.digits = ""
        self.numbers = True
        self._typing = typing or (lambda digits: None)
        self._loop = loop
        self._fd = fd
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._escape = ""  # "" | "esc" | "seq": inside an escape sequence
        loop.add_reader(fd, self._ready)

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self._fd)

    def _ready(self) -> None:
        try:
            data = os.read(self._fd, 1024)
        except OSError:
            data = b""
        if not data:
            self.close()
            self.queue.put_nowait(None)
            return
        for char in self._decode.decode(data):
            self.key(char)

    def key(self, char: str) -> None:
        if self._escape == "esc":
            self._escape = "seq" if char in "[O" else ""
            if self._escape:
                return
        elif self._escape == "seq":
            if "@" <= char <= "~":
                self._escape = ""
            return
        if char == "\x1b":
            self._escape = "esc"
            self._edit("")
        elif char in "\r\n":
            self.queue.put_nowait(self.digits)
            self._edit("")
        elif char.isdigit() and self.numbers:
            self._edit(self.digits + char)
        elif char in "\x7f\b":
            self._edit(self.digits[:-1])
        elif char == "\x04":  # Ctrl-D
            self.queue.put_nowait(None)
        elif char.isprintable() and not char.isspace():
            self._edit("")
            self.queue.put_nowait(char)

    def _edit(self, digits: str) -> None:
        if digits != self.digits:
            self.digits = digits
            self._typing(digits)


# ---- the teacher's board ------------------------------------------------------------------


def bar_text(count: int, most: int, width: int = 24) -> str:
    filled = round(width * count / most) if most else 0
    return "█" * filled + "·" * (width - filled)


REPLY_WAIT = 3.0  # seconds a board whose input ended waits for the host's replies
KEYS_FOOTER = "Enter/n next · p previous · r reveal · N Enter go to question N · e end · q quit"
LINES_FOOTER = (
    "a command, then Enter: Enter/n next · p previous · r reveal · N go to question N"
    " · e end · q quit"
)
# An exercise is on screen from the start: nothing to step through or reveal (the host would
# only push the same exercise again).
EXERCISE_FOOTER = "e end · q quit"
ENDED_FOOTER = "q quit"
ENDED = "the session has ended: q leaves"


def footer(board: dict[str, Any] | None, single_keys: bool) -> str:
    """The keys that do something now: per mode, and only `q` once the session has ended."""
    if board is not None and board.get("ended"):
        return ENDED_FOOTER
    if board is not None and board.get("mode") != "quiz":
        return EXERCISE_FOOTER if single_keys else f"a command, then Enter: {EXERCISE_FOOTER}"
    return KEYS_FOOTER if single_keys else LINES_FOOTER


def commands_of(board: dict[str, Any] | None) -> frozenset[str]:
    """The teacher's commands the host acts on now (before the first board: all of them)."""
    if board is not None and board.get("ended"):
        return frozenset()
    if board is not None and board.get("mode") != "quiz":
        return frozenset({"end"})
    return frozenset({"next", "prev", "push", "reveal", "end"})


def board_view(
    board: dict[str, Any],
    events: deque[str] | None = None,
    *,
    single_keys: bool = False,
    typed: str = "",
) -> Group:
    """The teacher's live board: who joined, who answered or passed what, the spread."""
    head = Text.assemble(
        (board["title"], "bold"),
        "  ",
        (f"join: wsquiz classroom join {board['join']} --code {board['code']}", "cyan"),
    )
    parts: list[RenderableType] = [head]
    question = board.get("question")
    if board.get("ended"):
        parts.append(Text(ENDED, "bold red"))
    if question is None:
        if not board.get("ended"):
            parts.append(
                Text("no question yet: press Enter (or n) to push the first one", "yellow")
            )
    else:
        if board["mode"] == "quiz":
            state = "revealed" if board["revealed"] else "open"
            parts.append(
                Text.assemble(
                    (f"question {board['index'] + 1}/{board['total']} ", "bold magenta"),
                    (question["id"], "dim"),
                    f"  {state}; ",
                    f"{board['answered']} of {board['joined']} answered",
                    ("" if board.get("key") is None else f"; key: {board['key']}", "green"),
                )
            )
        else:
            parts.append(
                Text.assemble(
                    (f"exercise {question['id']}", "bold magenta"),
                    f": {board['answered']} of {board['joined']} passed every check",
                )
            )
        prompt = question["prompt"].strip().splitlines()
        parts.append(Text(prompt[0][:200] + (" …" if len(prompt) > 1 else ""), "bold"))
    spread = board.get("spread") or []
    if spread:
        most = max(s["count"] for s in spread) or 1
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("answer", max_width=30, no_wrap=True)
        table.add_column("bar")
        table.add_column("n", justify="right")
        for row in spread:
            style = "green" if row.get("correct") else "blue"
            mark = " ✔" if row.get("correct") else ""
            table.add_row(
                row["answer"], Text(bar_text(row["count"], most), style), f"{row['count']}{mark}"
            )
        parts.append(table)
    parts.append(Text(f"students: {board['online']} online, {board['joined']} joined", "bold"))
    students = Table(expand=False, box=None, pad_edge=False)
    students.add_column("name")
    if board["mode"] == "quiz":
        students.add_column("now")
        students.add_column("answered", justify="right")
        students.add_column("right", justify="right")
    else:
        students.add_column("best", justify="right")
        students.add_column("checks", justify="right")
    for row in board["students"]:
        name = Text(row["name"], "" if row["online"] else "dim")
        if board["mode"] == "quiz":
            now = row.get("answer", "✔" if row.get("done") else "…")
            style = "green" if row.get("right") else ("red" if row.get("right") is False else "")
            students.add_row(name, Text(str(now), style), str(row["answered"]), str(row["correct"]))
        else:
            best = f"{row['score']:g}/{row['max_score']:g}" if "score" in row else "-"
            students.add_row(
                name, Text(best, "green" if row.get("done") else ""), str(row["attempts"])
            )
    parts.append(students)
    if events:
        parts.append(Text("\n".join(events), "dim"))
    if typed:
        parts.append(Text(f"go to question {typed}▏ (Enter; Esc cancels)", "bold yellow"))
    parts.append(Text(footer(board, single_keys), "dim italic"))
    return Group(*parts)


def event_text(event: dict[str, Any]) -> str:
    kind = event.get("event")
    if kind == "join":
        return f"{event['name']} {'rejoined' if event.get('rejoined') else 'joined'}"
    if kind == "leave":
        return f"{event['name']} left"
    if kind == "answer":
        verdict = "right" if event["correct"] else "wrong"
        return f"{event['name']} answered {event['item']} ({verdict})"
    if kind == "check":
        return f"{event['name']} checked: {event['score']:g}/{event['max_score']:g}"
    if kind == "push":
        return f"question {event['index'] + 1} pushed"
    if kind == "reveal":
        return f"revealed {event['item']}: {event['key']}"
    if kind == "end":
        return "session ended"
    return str(event)


COMMANDS = {
    "": "next",
    "n": "next",
    "next": "next",
    "p": "prev",
    "prev": "prev",
    "r": "reveal",
    "reveal": "reveal",
    "e": "end",
    "end": "end",
}


@dataclass
class TeacherConsole:
    """Renders the private board and sends the teacher's commands.

    Commands are single keys when `keys` is a terminal in cbreak mode (see `single_keys`),
    else lines read from stdin (piped input).
    """

    url: str
    key: str
    console: Console
    live: bool = True
    keys: int | None = None  # the terminal's descriptor, in cbreak mode
    lines: Lines | Keys | None = None
    board: dict[str, Any] | None = None
    events: deque[str] = field(default_factory=lambda: deque(maxlen=8))
    _show_spread: bool = False
    _redraw: Callable[[], None] | None = None
    _ending: bool = False  # `e` pressed once: the next `e` ends the session

    async def run(self) -> None:
        address = endpoint(self.url, "/ws/teacher") + f"?key={self.key}"
        if self.lines is None:
            loop = asyncio.get_running_loop()
            self.lines = (
                Lines(loop)
                if self.keys is None
                else Keys(loop, self.keys, lambda digits: self._typed())
            )
        try:
            await self._connected(address)
        finally:
            if isinstance(self.lines, Keys):
                self.lines.close()

    async def _connected(self, address: str) -> None:
        try:
            ws = await connect(address, open_timeout=OPEN_TIMEOUT, max_size=MAX_INCOMING)
        except (OSError, InvalidHandshake, asyncio.TimeoutError) as exc:
            raise UsageError(f"the board cannot reach the host at {self.url}: {exc}") from None
        async with ws:
            if self.live and self.console.is_terminal:
                from rich.live import Live

                # no stdout redirection: the lab routes sys.stdout itself (app output capture)
                with Live(
                    console=self.console,
                    auto_refresh=False,
                    redirect_stdout=False,
                    redirect_stderr=False,
                ) as live:
                    self._redraw = lambda: live.update(self._view(), refresh=True)
                    await self._loop(ws, self._redraw)
            else:
                await self._loop(ws, None)

    def _view(self) -> RenderableType:
        if self.board is None:
            return Text("connecting…")
        typed = self.lines.digits if isinstance(self.lines, Keys) else ""
        return board_view(
            self.board, self.events, single_keys=isinstance(self.lines, Keys), typed=typed
        )

    def _typed(self) -> None:
        if self._redraw is not None:
            self._redraw()

    async def _loop(self, ws: ClientConnection, redraw: Callable[[], None] | None) -> None:
        assert self.lines is not None
        incoming: asyncio.Future[Any] = asyncio.ensure_future(ws.recv())
        line: asyncio.Future[Any] = asyncio.ensure_future(self.lines.queue.get())
        unanswered = 0  # commands sent that the host has not replied to (`done` or an error)
        try:
            while True:
                await asyncio.wait({incoming, line}, return_when=asyncio.FIRST_COMPLETED)
                if line.done():
                    text = line.result()
                    if text is None and unanswered:
                        # piped commands ran out: what the last ones did is still to be told
                        await self._replies(ws, incoming, unanswered, redraw)
                        return
                    if text is None or text.strip().lower() in ("q", "quit"):
                        return
                    command = self._command(text.strip().lower())
                    if command is not None and command["type"] not in commands_of(self.board):
                        command = None  # nothing the host would do in this mode
                    single = isinstance(self.lines, Keys)
                    confirming, self._ending = self._ending, False
                    if single and command == {"type": "end"} and not confirming:
                        # one stray key must not end the class for everyone
                        self._ending = True
                        self._say(
                            "press e again to end the session (any other key goes on)", redraw
                        )
                    elif command is None:
                        self._say(self._unknown(text.strip(), single), redraw)
                    else:
                        await ws.send(json.dumps(command))
                        unanswered += 1
                    line = asyncio.ensure_future(self.lines.queue.get())
                if incoming.done():
                    try:
                        message = json.loads(incoming.result())
                    except ConnectionClosed:
                        return
                    if message.get("type") in ("done", "error"):
                        unanswered = max(0, unanswered - 1)
                    self._message(message, redraw)
                    incoming = asyncio.ensure_future(ws.recv())
        finally:
            incoming.cancel()
            line.cancel()

    async def _replies(
        self,
        ws: ClientConnection,
        incoming: asyncio.Future[Any],
        unanswered: int,
        redraw: Callable[[], None] | None,
    ) -> None:
        """Read on until the host has answered every command sent (a few seconds at most)."""
        clock = asyncio.get_running_loop().time
        deadline = clock() + REPLY_WAIT
        try:
            while unanswered and clock() < deadline:
                done, _ = await asyncio.wait({incoming}, timeout=deadline - clock())
                if not done:
                    return
                try:
                    message = json.loads(incoming.result())
                except ConnectionClosed:
                    return
                if message.get("type") in ("done", "error"):
                    unanswered -= 1
                self._message(message, redraw)
                incoming = asyncio.ensure_future(ws.recv())
        finally:
            incoming.cancel()

    def _command(self, text: str) -> dict[str, Any] | None:
        if text.isdigit():
            return {"type": "push", "index": int(text) - 1}
        kind = COMMANDS.get(text)
        return {"type": kind} if kind else None

    def _unknown(self, text: str, single: bool) -> str:
        if self.board is not None and self.board.get("ended"):
            return ENDED
        what = "key" if single else "command"
        shown = repr(text) if text else "Enter"
        if self.board is not None and self.board.get("mode") != "quiz":
            return f"unknown {what} {shown}: e, q (an exercise has no questions to push)"
        keys = "Enter/n, p, r, NUMBER Enter, e, q" if single else "n, p, r, NUMBER, e, q"
        return f"unknown {what} {shown}: {keys}"

    def _say(self, text: str, redraw: Callable[[], None] | None) -> None:
        self.events.append(text)
        if redraw is None:
            self.console.print(text)
        else:
            redraw()

    def _message(self, message: dict[str, Any], redraw: Callable[[], None] | None) -> None:
        kind = message.get("type")
        if kind == "board":
            first = self.board is None
            was_open = self.board is not None and not self.board.get("ended")
            key_before = None if self.board is None else self.board.get("key")
            self.board = message
            if isinstance(self.lines, Keys):
                self.lines.numbers = "push" in commands_of(message)
            if redraw is not None:
                redraw()
            elif first:
                self.console.print(board_view(message, single_keys=isinstance(self.lines, Keys)))
            else:
                if self._show_spread:
                    self._show_spread = False
                    for row in message.get("spread") or []:
                        mark = " (right)" if row.get("correct") else ""
                        self.console.print(f"  {row['answer']}: {row['count']}{mark}")
                key = message.get("key")
                if key is not None and key != key_before:  # observed since: a plain log says it
                    self.console.print(f"key: {key}", markup=False, highlight=False)
                if was_open and message.get("ended"):
                    self.console.print(ENDED)
        elif kind == "event":
            text = event_text(message)
            self._say(text, redraw)
            if redraw is None and message.get("event") == "reveal":
                self._show_spread = True  # a plain log prints the spread the next board shows
        elif kind == "error":
            self._say(f"host: {message.get('message')}", redraw)
