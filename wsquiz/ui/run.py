"""`wsquiz run`'s live printer: each event of the session as a line, the prompt kept last."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from wsquiz.ui.transcript import close_text, error_lines

if TYPE_CHECKING:
    from wsquiz.engine.repl import Event as SessionEvent


def session_line(event: SessionEvent, spec: str = "") -> Text:
    """One line of `wsquiz run`, wscat style: `>` sent, `<` received, the rest described."""
    kind = event.kind
    if kind == "serving":
        routes = ", ".join(event.data) if isinstance(event.data, tuple) and event.data else "none"
        return Text(f"serving {spec} at {event.text} (sandboxed); routes: {routes}", "dim")
    if kind == "connected":
        sub = f", subprotocol {event.text}" if event.text else ""
        return Text(f"connected to {event.data!s} (101{sub})", "green")
    if kind == "rejected":
        if event.status:
            return Text(f"rejected: HTTP {event.status} ({event.text})", "bold red")
        return Text(f"no handshake: {event.text}", "bold red")
    if kind in ("sent", "received"):
        arrow, style = (">", "cyan") if kind == "sent" else ("<", "yellow")
        data = event.data
        if isinstance(data, bytes):
            shown = data.decode("utf-8", "backslashreplace")
            return Text(f"{arrow} <{len(data)} bytes> {shown}", style)
        return Text(f"{arrow} {data}", style)
    if kind == "closed":
        style = "red" if event.close is not None and event.close.code == 1006 else "magenta"
        return Text(f"closed {close_text(event.close)}", style)
    if kind == "error" and event.error is not None:
        first, *more = error_lines(event.error)
        text = Text("server ", "bold red") + first
        for line in more:
            text.append("\n")
            text.append_text(line)
        return text
    if kind == "warning":
        return Text(f"server warning: {event.text}", "yellow")
    if kind == "log":
        return Text(f"server: {event.text}", "dim")
    if kind == "truncated":
        return Text(f"server: {event.text}", "dim")
    if kind == "exited":
        return Text(f"server: {event.text}", "bold red")
    return Text(event.text, "dim")


class LivePrinter:
    """Prints `wsquiz run` events as they come (from the lab's thread) without garbling the
    line being typed: at a terminal the prompt and the typed text are redrawn below."""

    def __init__(self, console: Console, spec: str, interactive: bool, prompt: str = "> ") -> None:
        self.console = console
        self.spec = spec
        self.interactive = interactive
        self.prompt = prompt
        self.reading = False
        self._lock = threading.Lock()

    def show(self, event: SessionEvent) -> None:
        if self.interactive and event.kind == "sent" and event.text == "text":
            return  # the terminal already shows what was typed
        if event.kind == "log" and _UVICORN_CHATTER.match(event.text):
            return  # said better by the lines about the handshake, the close and the error
        with self._lock:
            redraw = self.interactive and self.reading
            if redraw:
                self.console.file.write("\r\x1b[K")
            self.console.print(session_line(event, self.spec), soft_wrap=True)
            if redraw:
                self.console.file.write(self.prompt + _typed())
                self.console.file.flush()

    def start_reading(self) -> None:
        """Before a line is read: a prompt an event redrew after the last Enter is cleared,
        or the new prompt would stand beside it (`> >`)."""
        with self._lock:
            self.console.file.write("\r\x1b[K")
            self.reading = True

    def note(self, text: str) -> None:
        with self._lock:
            self.console.print(Text(text, "dim"))  # wrapped at words, unlike the frames


_UVICORN_CHATTER = re.compile(
    r"INFO: (connection (open|closed)|connection rejected \(.*\)"
    r'|.* - "WebSocket .*" (\[\w+\]|\d{3})'
    r"|(Waiting for application|Application) (startup|shutdown).*)$"
    r"|ERROR: Exception in ASGI application$"
)


def _typed() -> str:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return ""
    return readline.get_line_buffer()
