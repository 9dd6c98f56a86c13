"""The teacher's board in a terminal: single-key commands, and the client that sends them to
the host and shows its board (drawn by `board_view`).

Keys held down never flood the host: one command is in flight at a time, and the steps typed
meanwhile (n, p) are sent as one move when its reply comes.
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
from typing import Any

from rich.console import Console, RenderableType
from rich.text import Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from wsquiz.classroom.student import MAX_INCOMING, OPEN_TIMEOUT, endpoint
from wsquiz.classroom.text import literal
from wsquiz.errors import UsageError
from wsquiz.ui.board_view import ENDED, board_view, commands_of, event_text
from wsquiz.ui.student import Lines

__all__ = ["Keys", "TeacherConsole", "board_view", "single_keys"]


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


ENTRY_KEYS = {"k": "kick", "m": "rename", "h": "hide"}


class Keys:
    """Keys typed on a terminal in cbreak mode, turned into the board's commands.

    A letter is a command at once; Enter alone is "next"; digits gather (shown by `typing`)
    until Enter makes them "go to question N"; Backspace and Esc edit them. Arrow keys and other
    escape sequences are skipped. Delivered on `queue` like `Lines`; None when input ends.
    With `numbers` off (no question to go to), a digit is a key like any other.
    `k`, `m` and `h` open a line for the seat's number (and the new name): `kick 3`,
    `rename 3 Ada`, `hide 2` arrive when Enter is pressed.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, fd: int, typing: Callable[[str], None] | None = None
    ) -> None:
        import codecs

        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.digits = ""
        self.entry = ""  # "kick" | "rename" | "hide" while its line is typed
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
            self.entry = ""
            self._edit("")
        elif char in "\r\n":
            self.queue.put_nowait(f"{self.entry} {self.digits}" if self.entry else self.digits)
            self.entry = ""
            self._edit("")
        elif self.entry and char in "\x7f\b":
            self._edit(self.digits[:-1])
        elif self.entry and char.isprintable():
            self._edit(self.digits + char)
        elif not self.digits and (char in ENTRY_KEYS and (self.numbers or char != "h")):
            self.entry = ENTRY_KEYS[char]
            self._typing(self.digits)
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

REPLY_WAIT = 3.0  # seconds a board whose input ended waits for the host's replies
MOVES = {"next": 1, "prev": -1}


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
    _steps: int = 0  # n and p keys held while a command is in flight: sent as one move

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
        typed = ""
        if isinstance(self.lines, Keys):
            entry, digits = self.lines.entry, self.lines.digits
            typed = f"{entry} {digits}" if entry else (f"go to question {digits}" if digits else "")
        size = self.console.size
        return board_view(
            self.board,
            self.events,
            single_keys=isinstance(self.lines, Keys),
            typed=typed,
            height=size.height,
            width=size.width,
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
                    command = self._command(text.strip())
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
                    elif single and unanswered and command["type"] in MOVES:
                        # a key held down: the steps go as one move once the host replies
                        self._steps += MOVES[command["type"]]
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
                    if not unanswered and self._steps:
                        await ws.send(json.dumps({"type": "move", "by": self._steps}))
                        unanswered, self._steps = 1, 0
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
        words = text.split(maxsplit=2)
        head = words[0].lower() if words else ""
        if head in ("l", "lock", "unlock"):
            if head == "l":
                head = "unlock" if self.board is not None and self.board.get("locked") else "lock"
            return {"type": head}
        if head in ("kick", "hide", "show") and len(words) >= 2:
            rest = text.split(maxsplit=1)[1].strip()
            if head == "kick":
                return {"type": "kick", "name": rest}
            return {"type": head, "answer": self._bar(rest)}
        if head == "rename" and len(words) == 3:
            return {"type": "rename", "name": words[1], "to": words[2].strip()}
        kind = COMMANDS.get(text.lower())
        return {"type": kind} if kind else None

    def _bar(self, given: str) -> str:
        """The spread's bar `given` names: its number on the board, or its own text."""
        spread = (self.board or {}).get("spread") or []
        if given.isdigit() and 1 <= int(given) <= len(spread):
            return str(spread[int(given) - 1]["answer"])
        return given

    def _unknown(self, text: str, single: bool) -> str:
        if self.board is not None and self.board.get("ended"):
            return ENDED
        what = "key" if single else "command"
        shown = repr(text) if text else "Enter"
        if self.board is not None and self.board.get("mode") != "quiz":
            return f"unknown {what} {shown}: e, q (an exercise has no questions to push)"
        keys = (
            "Enter/n, p, r, NUMBER Enter, k, m, l, h, e, q"
            if single
            else "n, p, r, NUMBER, kick, rename, lock, unlock, hide, show, e, q"
        )
        return f"unknown {what} {shown}: {keys}"

    def _say(self, text: str, redraw: Callable[[], None] | None) -> None:
        self.events.append(text)
        if redraw is None:
            self.console.print(Text(text), soft_wrap=True)
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
                single = isinstance(self.lines, Keys)
                self.console.print(
                    board_view(message, single_keys=single, width=self.console.width)
                )
            else:
                if self._show_spread:
                    self._show_spread = False
                    for row in message.get("spread") or []:
                        mark = " (right)" if row.get("correct") else ""
                        shown = literal(row["answer"], 80)
                        self.console.print(Text(f"  {shown}: {row['count']}{mark}"))
                key = message.get("key")
                if key is not None and key != key_before:  # observed since: a plain log says it
                    self.console.print(Text(f"key: {literal(key, 200)}"), highlight=False)
                if was_open and message.get("ended"):
                    self.console.print(ENDED)
        elif kind == "event":
            text = event_text(message)
            self._say(text, redraw)
            if redraw is None and message.get("event") == "reveal":
                self._show_spread = True  # a plain log prints the spread the next board shows
        elif kind == "error":
            self._say(f"host: {literal(message.get('message'), 300)}", redraw)
