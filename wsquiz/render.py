"""Rich views of the core's data. Nothing here runs a server or decides a verdict."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from wsquiz.errors import AppLoadError
from wsquiz.transcript import Close, Handshake, Transcript

MAX_SHOWN = 40


def close_text(close: Close | None) -> str:
    if close is None:
        return "still open"
    label = {1000: "normal", 1001: "going away", 1005: "no status", 1006: "abnormal",
             1008: "policy violation", 1009: "too big", 1011: "server error",
             1012: "service restart"}.get(close.code, "")
    code = f"{close.code} {label}".strip()
    reason = f" {close.reason!r}" if close.reason else ""
    who = {"client": "client closed", "server": "server closed",
           "abnormal": "no close frame: the connection just dropped"}[close.by]
    return f"{code}{reason} ({who})"


def handshake_text(handshake: Handshake) -> Text:
    if handshake.accepted:
        sub = f" (subprotocol {handshake.subprotocol})" if handshake.subprotocol else ""
        return Text(f"101 accepted{sub}", "green")
    if handshake.status:
        return Text(f"rejected: HTTP {handshake.status}", "red")
    return Text(f"no handshake: {handshake.body or 'the server did not answer'}", "red")


def transcript_table(transcript: Transcript) -> Table:
    """The sequence as two columns: what each client did, what the server did."""
    table = Table(expand=True, show_edge=False, pad_edge=False, box=None)
    table.add_column("ms", justify="right", style="dim", width=7)
    table.add_column("client", ratio=1)
    table.add_column("server", ratio=1)
    many = len(transcript.clients) > 1
    for record in transcript.clients:
        who = f"{record.name}: " if many else ""
        table.add_row("", f"{who}connect {record.path}", handshake_text(record.handshake))
    shown = transcript.frames[:MAX_SHOWN]
    for frame in shown:
        who = f"{frame.client}: " if many else ""
        body = frame.text if frame.kind == "text" else f"<{len(frame.data)} bytes> {frame.text}"
        if frame.direction == "sent":
            table.add_row(f"{frame.at_ms:.1f}", Text(f"{who}> {body}", "cyan"), "")
        else:
            table.add_row(f"{frame.at_ms:.1f}", "", Text(f"< {who}{body}", "yellow"))
    if len(transcript.frames) > MAX_SHOWN:
        table.add_row("", f"... {len(transcript.frames) - MAX_SHOWN} more frames", "")
    for record in transcript.clients:
        if record.close is not None:
            who = f"{record.name}: " if many else ""
            style = "red" if record.close.by == "abnormal" else "magenta"
            cell = Text(f"{who}closed {close_text(record.close)}", style)
            if record.close.by == "client":
                table.add_row(f"{record.close.at_ms:.1f}", cell, "")
            else:
                table.add_row(f"{record.close.at_ms:.1f}", "", cell)
    return table


def server_panel(transcript: Transcript) -> RenderableType | None:
    parts: list[RenderableType] = []
    for error in transcript.server.errors:
        where = f" at line {error.line}" if error.line else ""
        parts.append(Text(f"raised {error.type}{where}: {error.message}", "bold red"))
    for warning in transcript.server.warnings:
        parts.append(Text(warning, "yellow"))
    if transcript.server.exit_status:
        parts.append(Text(transcript.server.exit_status, "red"))
    for note in transcript.timed_out:
        parts.append(Text(f"timeout: {note}", "dim"))
    return Group(*parts) if parts else None


def transcript_view(transcript: Transcript, title: str = "live check") -> Panel:
    parts: list[RenderableType] = [transcript_table(transcript)]
    extra = server_panel(transcript)
    if extra is not None:
        parts += [Text(""), extra]
    return Panel(Group(*parts), title=title, border_style="blue")


def load_error_view(error: AppLoadError) -> Panel:
    parts: list[RenderableType] = [Text(str(error.message), "bold red")]
    if error.detail:
        parts.append(Syntax(error.detail.rstrip(), "pytb", theme="ansi_dark", word_wrap=True))
    if error.fix:
        parts.append(Text(f"fix: {error.fix}", "green"))
    return Panel(Group(*parts), title="the app did not load", border_style="red")
