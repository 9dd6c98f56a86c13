"""The live-check transcript as a table: each client's connect, frames and close in time order,
beside what the server raised, warned and printed."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from wsquiz.engine.transcript import ClientRecord, Close, CloseSent, Handshake, Offer, Transcript
from wsquiz.errors import AppLoadError

if TYPE_CHECKING:
    pass
if TYPE_CHECKING:
    pass


MAX_SHOWN = 40


def close_text(close: Close | None) -> str:
    if close is None:
        return "still open"
    label = {
        1000: "normal",
        1001: "going away",
        1005: "no status",
        1006: "abnormal",
        1008: "policy violation",
        1009: "too big",
        1011: "server error",
        1012: "service restart",
    }.get(close.code, "")
    code = f"{close.code} {label}".strip()
    reason = f" {close.reason!r}" if close.reason else ""
    who = {
        "client": "client closed",
        "server": "server closed",
        "abnormal": "no close frame: the connection just dropped",
    }[close.by]
    return f"{code}{reason} ({who})"


def handshake_text(handshake: Handshake) -> Text:
    if handshake.accepted:
        sub = f" (subprotocol {handshake.subprotocol})" if handshake.subprotocol else ""
        return Text(f"101 accepted{sub}", "green")
    if handshake.status:
        return Text(f"rejected: HTTP {handshake.status}", "red")
    return Text(f"no handshake: {handshake.body or 'the server did not answer'}", "red")


MAX_OFFERED = 40  # a header value past this many characters is cut (the JSON keeps it whole)


def offer_text(offer: Offer) -> Text:
    """What the client asked for in its handshake, a line each: the subprotocols in the order
    offered (the order can decide what the server picks), the headers the scenario set."""
    lines: list[str] = []
    if offer.subprotocols:
        lines.append("subprotocols: " + ", ".join(offer.subprotocols))
    for index, (name, value) in enumerate(offer.headers):
        lead = "headers: " if index == 0 else " " * len("headers: ")
        cut = value if len(value) <= MAX_OFFERED else value[: MAX_OFFERED - 1] + "…"
        lines.append(f"{lead}{name}: {cut}")
    return Text("\n".join(lines), "dim")


def _connect_cell(record: ClientRecord, who: str) -> Text:
    cell = Text(f"{who}connect {record.path}")
    offered = offer_text(record.offer)
    if offered:
        cell.append("\n")
        cell.append_text(offered)
    return cell


def _close_sent_text(sent: CloseSent, who: str) -> Text:
    reason = f" {sent.reason!r}" if sent.reason else ""
    why = {"step": "", "end": " (the scenario is over)", "limit": ""}[sent.cause]
    return Text(f"{who}close {sent.code}{reason}{why}", "magenta")


Row = tuple[float, str, RenderableType, RenderableType]  # when, kind, client cell, server cell


def transcript_rows(transcript: Transcript) -> list[Row]:
    """Every event of every client, in the order it happened: connects, frames, the close
    frames clients sent first, and how each connection ended."""
    many = len(transcript.clients) > 1
    rows: list[Row] = []
    for record in transcript.clients:
        who = f"{record.name}: " if many else ""
        rows.append(
            (
                record.connect_at_ms,
                "connect",
                _connect_cell(record, who),
                handshake_text(record.handshake),
            )
        )
        if record.close_sent is not None:
            rows.append(
                (record.close_sent.at_ms, "close", _close_sent_text(record.close_sent, who), "")
            )
        if record.close is not None:
            style = "red" if record.close.by == "abnormal" else "magenta"
            cell = Text(f"{who}closed {close_text(record.close)}", style)
            # The client's own close, with no close frame sent first (a frame over the size
            # limit): its side. Otherwise the end is the server's answer, or its doing.
            if record.close.by == "client" and record.close_sent is None:
                rows.append((record.close.at_ms, "closed", cell, ""))
            else:
                rows.append((record.close.at_ms, "closed", "", cell))
    for frame in transcript.frames:
        who = f"{frame.client}: " if many else ""
        body = frame.text if frame.kind == "text" else f"<{len(frame.data)} bytes> {frame.text}"
        if frame.direction == "sent":
            rows.append((frame.at_ms, "frame", Text(f"{who}> {body}", "cyan"), ""))
        else:
            rows.append((frame.at_ms, "frame", "", Text(f"< {who}{body}", "yellow")))
    # Stable: at the same millisecond a connect comes before its frames, a close after them.
    order = {"connect": 0, "frame": 1, "close": 2, "closed": 3}
    return sorted(rows, key=lambda row: (row[0], order[row[1]]))


def transcript_table(transcript: Transcript) -> Table:
    """The sequence as two columns, in time order: what each client did, what the server did."""
    table = Table(expand=True, show_edge=False, pad_edge=False, box=None)
    table.add_column("ms", justify="right", style="dim", width=7)
    table.add_column("client", ratio=1)
    table.add_column("server", ratio=1)
    frames = 0
    hidden = len(transcript.frames) - MAX_SHOWN
    for at_ms, kind, client_cell, server_cell in transcript_rows(transcript):
        if kind == "frame":
            frames += 1
            if frames == MAX_SHOWN + 1:
                table.add_row("", f"... {hidden} more frames", "")
            if frames > MAX_SHOWN:
                continue
        table.add_row(f"{at_ms:.1f}", client_cell, server_cell)
    return table


def server_panel(transcript: Transcript) -> RenderableType | None:
    parts: list[RenderableType] = []
    for error in transcript.server.errors:
        where = f" at line {error.line}" if error.line else ""
        parts.append(Text(f"raised {error.type}{where}: {error.message}", "bold red"))
    # the same warning 200 times (a loop that never awaits) is one line with its count
    for warning, count in Counter(transcript.server.warnings).items():
        parts.append(Text(warning + (f"  (x{count})" if count > 1 else ""), "yellow"))
    if transcript.server.exit_status:
        parts.append(Text(transcript.server.exit_status, "red"))
    if transcript.server.output_truncated:
        parts.append(Text("the server's output was cut: more than is kept was printed", "dim"))
    for record in transcript.clients:
        if record.truncated:
            parts.append(
                Text(
                    f"{record.name} stopped reading: the server sent more than is kept "
                    "(frames past the cap are not shown)",
                    "dim",
                )
            )
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
