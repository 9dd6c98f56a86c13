"""Rich views of the core's data. Nothing here runs a server or decides a verdict."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.style import Style
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from wsquiz.errors import AppLoadError
from wsquiz.transcript import ClientRecord, Close, CloseSent, Handshake, Offer, Transcript

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from wsquiz.lessons import Lesson
    from wsquiz.menu import Item, Menu
    from wsquiz.session import Event as SessionEvent

if TYPE_CHECKING:
    from wsquiz.content import Option, Problem, Question, Quiz
    from wsquiz.judge import Observation, Run, Verdict

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
    for warning in transcript.server.warnings:
        parts.append(Text(warning, "yellow"))
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


# ---- code ------------------------------------------------------------------------------------

WRAP_MARK = "↪ "
MIN_WRAPPED = 20  # a continuation row keeps at least this much room, however deep the indent


class CodeView:
    """Source code as the file reads, optionally with line numbers. A line wider than the
    terminal goes on in rows that start at the line's own indentation behind a `↪` mark, so the
    indentation (Python's syntax) is never lost and a continuation is never mistaken for a line
    of the file. Rich's own word wrap restarts every row at the code's left edge."""

    def __init__(
        self,
        source: str,
        lexer: str = "python",
        *,
        theme: str = "ansi_dark",
        line_numbers: bool = True,
    ) -> None:
        self.source = source.expandtabs(4)
        self.syntax = Syntax(self.source, lexer, theme=theme)
        self.base = Syntax.get_theme(theme).get_background_style()
        self.line_numbers = line_numbers

    @property
    def gutter(self) -> int:
        """Cells left of the code: as Rich draws it, two spaces, the number and a space."""
        if not self.line_numbers:
            return 0
        return len(str(max(1, len(self.source.splitlines())))) + 3

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(line) for line in self.source.splitlines()), default=0)
        return Measurement(self.gutter + MIN_WRAPPED, self.gutter + widest)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        base = self.base
        number_style = base + Style(dim=True)
        width = max(1, options.max_width - self.gutter)
        mark = "> " if options.ascii_only else WRAP_MARK
        highlighted = self.syntax.highlight(self.source)
        for number, line in enumerate(highlighted.split("\n"), 1):
            for index, row in enumerate(wrap_code_line(line, width, mark)):
                gutter = ""
                if self.line_numbers:
                    shown = str(number) if index == 0 else ""
                    gutter = f"  {shown.rjust(self.gutter - 3)} "
                text = Text.assemble((gutter, number_style), row, style=base)
                text.no_wrap, text.overflow, text.end = True, "crop", "\n"
                if not base.transparent_background:
                    text.pad_right(options.max_width - text.cell_len)
                yield text


def wrap_code_line(line: Text, width: int, mark: str = WRAP_MARK) -> list[Text]:
    """A code line cut into rows of at most `width` cells, after a space or a call's opening
    bracket where there is one, each row after the first indented as the line is, behind
    `mark`."""
    plain = line.plain
    if cell_len(plain) <= width:
        return [line]
    indent = len(plain) - len(plain.lstrip(" "))
    hang = max(0, min(indent, width - len(mark) - MIN_WRAPPED))
    lead = " " * hang + mark
    room = max(1, width - cell_len(lead))
    rows: list[Text] = []
    start, limit = 0, width
    while start < len(plain):
        end, used = start, 0
        while end < len(plain) and used + cell_len(plain[end]) <= limit:
            used += cell_len(plain[end])
            end += 1
        end = max(end, start + 1)
        rest = end
        if end < len(plain):
            first_word = start + (indent if start == 0 else 0) + 1
            breaks = [at for at in range(first_word, end + 1) if _breaks_after(plain, at)]
            if breaks:
                end = rest = breaks[-1]
            while rest < len(plain) and plain[rest] == " ":
                rest += 1
        piece = line[start:end]
        piece.rstrip()
        rows.append(piece if not rows else Text.assemble((lead, "dim"), piece))
        start, limit = rest, room
    return rows


def _breaks_after(plain: str, at: int) -> bool:
    """May a row end just before `plain[at]`? After a space; after the bracket of a call or a
    subscript (`f(`, `x[`) unless it closes at once; anywhere else only a word longer than a
    whole row is cut."""
    before = plain[at - 1]
    if before == " ":
        return True
    return (
        before in "(["
        and at >= 2
        and (plain[at - 2].isalnum() or plain[at - 2] == "_")
        and (at == len(plain) or plain[at] not in ")]")
    )


# ---- lessons, the welcome menu, progress ----------------------------------------------------

MARKS = {"done": ("✓", "green"), "started": ("•", "yellow"), "new": (" ", "dim")}
KIND_STYLE = {"lesson": "cyan", "quiz": "magenta", "exercise": "blue"}


def _mark(item: Item) -> Text:
    mark, style = MARKS["done" if item.done else "started" if item.started else "new"]
    return Text(mark, style)


def example_panel(name: str, path: Path, command: str, shown_path: str = "") -> Panel:
    """An example exactly as the file on disk reads, with the command that runs it."""
    source = path.read_text(encoding="utf-8").rstrip("\n")
    return Panel(
        CodeView(source),
        title=f"[bold]{name}[/] [dim]{shown_path or path.name}[/]",
        title_align="left",
        subtitle=f"run it: [bold]{command}[/]",
        subtitle_align="left",
        border_style="cyan",
    )


def lesson_view(lesson: Lesson, next_lesson: Lesson | None = None) -> Group:
    from rich.rule import Rule

    from wsquiz.markdown_view import CourseMarkdown

    root = lesson.path.parent.parent
    parts: list[RenderableType] = [
        Rule(f"[bold]lesson {lesson.number}: {lesson.title}[/]", style="cyan"),
        Text(""),
    ]
    for kind, value in lesson.segments():
        if kind == "markdown":
            parts.append(CourseMarkdown(value))
            parts.append(Text(""))
            continue
        path = lesson.examples[value]
        try:
            shown = str(path.relative_to(root))
        except ValueError:
            shown = str(path)
        parts.append(example_panel(value, path, lesson.run_command(value), shown))
        parts.append(Text(""))
    parts.append(lesson_next_view(lesson, next_lesson))
    return Group(*parts)


def lesson_next_view(lesson: Lesson, next_lesson: Lesson | None) -> Panel:
    lines: list[Text] = []
    if lesson.quiz:
        lines.append(
            Text.assemble(
                ("next: ", "bold"),
                (f"wsquiz quiz {lesson.quiz}", "bold green"),
                "   test what you just read against a live server",
            )
        )
    for name in lesson.exercises:
        lines.append(
            Text.assemble(
                ("exercise: ", "bold"),
                (f"wsquiz exercise start {name}", "bold blue"),
                "   write it yourself; wsquiz check runs it live",
            )
        )
    if lesson.examples:
        lines.append(
            Text.assemble(
                ("change an example: ", "bold"),
                (f"wsquiz learn {lesson.name} --copy", "bold magenta"),
                "   a copy of its files here, to edit and run",
            )
        )
    if next_lesson is not None:
        lines.append(
            Text.assemble(
                ("next lesson: ", "bold"),
                (f"wsquiz learn {next_lesson.name}", "bold cyan"),
                f"   {next_lesson.title}",
            )
        )
    if not lines:
        lines.append(Text("That was the last lesson. `wsquiz` shows where you stand.", "bold"))
    return Panel(Group(*lines), title="what next", title_align="left", border_style="green")


def lessons_table(lessons: tuple[Lesson, ...], read: dict[str, str]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, title_justify="left")
    table.add_column("", width=1)
    table.add_column("#", justify="right", style="dim")
    table.add_column("lesson", style="bold cyan", no_wrap=True)
    table.add_column("title", ratio=1)
    table.add_column("examples", style="dim")
    table.add_column("quiz", style="magenta")
    for lesson in lessons:
        done = lesson.name in read
        table.add_row(
            Text("✓", "green") if done else "",
            str(lesson.number),
            lesson.name,
            lesson.title,
            ", ".join(lesson.examples),
            lesson.quiz or "",
        )
    return table


def menu_table(menu: Menu) -> Table:
    """The course in order, a line per lesson and quiz; the exercises that follow a lesson
    share one line, so the whole course fits a screen or so (`wsquiz progress` lists each)."""
    table = Table(show_edge=False, pad_edge=False, box=None)
    table.add_column("", width=1)
    table.add_column("", style="dim", no_wrap=True)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("title", ratio=1)
    table.add_column("progress", no_wrap=True)
    groups: list[list[Item]] = []
    for item in menu.items:
        if item.kind == "exercise" and groups and groups[-1][0].kind == "exercise":
            groups[-1].append(item)
        else:
            groups.append([item])
    for group in groups:
        first = group[0]
        if first.kind == "exercise" and len(group) > 1:
            table.add_row(*_exercises_row(group, menu.next))
            continue
        here = menu.next is not None and first == menu.next
        table.add_row(
            _mark(first),
            Text(first.kind, KIND_STYLE[first.kind]),
            Text(first.name, "bold reverse" if here else "bold"),
            Text(first.title, no_wrap=True, overflow="ellipsis"),  # one line per step
            _status(first),
        )
    return table


def _status(item: Item) -> Text:
    if not item.usable:
        return Text(item.status, "red")
    return Text(item.status, "green" if item.done else "yellow" if item.started else "dim")


def _exercises_row(group: list[Item], next_item: Item | None) -> tuple[Text, ...]:
    names = Text(no_wrap=False, overflow="fold")
    for index, item in enumerate(group):
        if index:
            names.append(" · ", "dim")
        style = "bold reverse" if item == next_item else "green" if item.done else "bold"
        names.append(("✓ " if item.done else "") + item.name, style)
    passed = sum(1 for item in group if item.done)
    started = any(item.started for item in group)
    if passed == len(group):
        status = Text("all passed", "green")
    elif started:
        status = Text(f"{passed}/{len(group)} passed", "yellow")
    else:
        status = Text("new", "dim")
    done = passed == len(group)
    mark = _mark(group[0]) if done else Text(*MARKS["started" if started else "new"])
    return mark, Text("exercises", KIND_STYLE["exercise"]), Text(""), names, status


def next_text(menu: Menu) -> Text:
    if menu.next is None:
        if not any(item.usable for item in menu.items) and menu.problems:
            return Text("Nothing in this course can be used yet: see the problems below.", "bold")
        if not menu.items:
            return Text("This course is empty: add lessons/ or quizzes/ to it.", "bold")
        return Text.assemble(
            ("All done. ", "bold green"),
            "Retry a quiz any time, or start over with ",
            ("wsquiz reset", "bold"),
            ".",
        )
    lead = "start here: " if menu.new else "next: "
    return Text.assemble(
        (lead, "bold"),
        (menu.next.command, "bold green"),
        f"   ({menu.next.kind}: {menu.next.title})",
    )


def welcome_view(menu: Menu) -> Group:
    done = sum(1 for item in menu.items if item.done)
    greeting = (
        "Welcome! Every answer here is checked against a real FastAPI server on your machine: "
        "read a lesson, predict what the server does, then watch it."
        if menu.new
        else f"Welcome back: {done} of {menu.steps} steps done."
    )
    parts: list[RenderableType] = [
        Panel(
            Text(greeting),
            title="[bold]wsquiz[/]: FastAPI WebSockets, checked live",
            title_align="left",
            border_style="cyan",
        ),
        next_text(menu),  # at the top, where it does not scroll away; at the bottom too
        Text(""),
        menu_table(menu),
        Text(""),
        next_text(menu),
    ]
    parts += problem_lines(menu)
    parts += [
        Text(""),
        Text(
            "more: wsquiz learn · wsquiz quiz --list · wsquiz run EXAMPLE · wsquiz progress · "
            "wsquiz --help",
            "dim",
        ),
    ]
    return Group(*parts)


def _bar(part: int, whole: int, width: int = 10) -> Text:
    filled = round(width * part / whole) if whole else 0
    return Text.assemble(("█" * filled, "green"), ("░" * (width - filled), "dim"))


def progress_view(menu: Menu) -> Group:
    table = Table(show_edge=False, pad_edge=False, box=None)
    table.add_column("", width=1)
    table.add_column("", style="dim", no_wrap=True)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("progress", ratio=1)
    for item in menu.items:
        if item.kind == "quiz":
            bar = _bar(item.correct, item.total)
        elif item.kind == "exercise":
            bar = _bar(1 if item.done else 0, 1)
        else:
            bar = Text("")
        table.add_row(
            _mark(item), Text(item.kind, KIND_STYLE[item.kind]), item.name, bar, item.status
        )
    done = sum(1 for item in menu.items if item.done)
    parts: list[RenderableType] = [
        Text(f"{done} of {menu.steps} steps done", "bold"),
        Text(""),
        table,
        Text(""),
        next_text(menu),
    ]
    parts += problem_lines(menu)
    return Group(*parts)


def problem_lines(menu: Menu) -> list[Text]:
    """What in the course cannot be used, a line each, and where to see the details."""
    if not menu.problems:
        return []
    lines = [Text(f"warning: {problem}", "yellow") for problem in menu.problems]
    lines.append(Text.assemble("  details and fixes: ", (f"wsquiz validate {menu.root}", "bold")))
    return lines


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
        error = event.error
        where = f" at line {error.line}" if error.line else ""
        return Text(f"server raised {error.type}{where}: {error.message}", "bold red")
    if kind == "warning":
        return Text(f"server warning: {event.text}", "yellow")
    if kind == "log":
        return Text(f"server: {event.text}", "dim")
    if kind == "truncated":
        return Text(f"server: {event.text}", "dim")
    if kind == "exited":
        return Text(f"server: {event.text}", "bold red")
    return Text(event.text, "dim")


# ---- quizzes --------------------------------------------------------------------------------


def code_panel(path: Path, title: str = "", style: str = "cyan") -> Panel:
    """The exact file a question runs, syntax highlighted."""
    try:
        source = path.read_text(encoding="utf-8").rstrip("\n")
    except OSError as exc:
        return Panel(Text(f"cannot read {path}: {exc}", "red"), title=title or path.name)
    return Panel(CodeView(source), title=title or path.name, title_align="left", border_style=style)


def question_view(question: Question, number: int, total: int) -> Group:
    """A question as the learner first sees it: prompt, code, options."""
    head = Text.assemble(
        (f"{question.quiz} {number}/{total}", "bold magenta"),
        ("  ", ""),
        (question.id, "dim"),
        ("  ", ""),
        (question.kind, "dim italic"),
    )
    parts: list[RenderableType] = [head, Text(question.prompt, "bold")]
    if question.app is not None:
        parts.append(code_panel(question.app))
    for option in question.options:
        label = f"{option.letter}) {option.text}"
        if option.app is not None:
            parts.append(code_panel(option.app, title=f"{label}  [dim]{option.app.name}[/]"))
        else:
            parts.append(option_line(option.letter, option.text))
    return Group(*parts)


def option_line(letter: str, text: str, style: str = "", indent: str = "  ") -> Table:
    """`  B) text`, where a text too long for a line goes on under the text, not the letter."""
    line = Table.grid(padding=(0, 1))
    line.add_column(no_wrap=True)
    line.add_column()
    line.add_row(Text(f"{indent}{letter})", style), Text(text, style))
    return line


def answer_help(question: Question, hint_shown: bool = False) -> Text:
    if question.options:
        letters = ", ".join(o.letter for o in question.options)
        ask = f"answer with a letter ({letters})"
    else:
        ask = "type your prediction"
    keys = "q quit" if hint_shown or not question.hint else "h hint, q quit"
    return Text(f"{ask}; {keys}", "dim")


def run_view(run: Run, title: str) -> RenderableType:
    if run.load_error is not None:
        view = load_error_view(run.load_error)
        view.title = f"{title}: the app did not load"
        return view
    if run.transcript is None:
        return Panel(Text(run.failure or "not run", "red"), title=title, border_style="red")
    return transcript_view(run.transcript, title=title)


def live_check_view(question: Question, observation: Observation) -> Group:
    """What the server(s) really did for this question."""
    parts: list[RenderableType] = []
    if observation.main is not None:
        parts.append(run_view(observation.main, f"live check: {observation.main.app.name}"))
    for option, run in zip(question.options, observation.variants, strict=True):
        if run is not None:
            parts.append(run_view(run, f"live check {option.letter}) {run.app.name}"))
    if question.kind == "choice":
        parts.append(options_check_view(question, observation))
    return Group(*parts)


def _run_summary(run: Run | None) -> str:
    from wsquiz.judge import value_of

    if run is None:
        return "not run"
    if run.load_error is not None:
        return f"did not start: {run.load_error.problem}"
    if run.failure is not None:
        return run.failure
    status = value_of("handshake_status", run) or "no handshake"
    error = value_of("server_error", run)
    raised = f", raised {error}" if error and error != "none" else ""
    return f"handshake {status}{raised}"


NARROW = 70  # below this many columns, a table's side column goes under its row instead


def _evidence(question: Question, option: Option, run: Run | None) -> str:
    """What decides the option: the value of each thing its claim is about (the question's
    own condition included), as observed; for an option's own app that did not run, why."""
    from wsquiz.judge import claim_holds

    claims = option.claims + (question.answer.where if question.answer else ())
    if option.app is not None and (run is None or not run.started or not claims):
        return _run_summary(run)
    return "\n".join(
        f"{f'{c.client}: ' if c.client else ''}{c.of} = {claim_holds(c, run)[1] or 'nothing'}"
        for c in claims
    )


def options_check_view(question: Question, observation: Observation) -> RenderableType:
    """Each option checked against the server: does its claim hold, and on what evidence?"""
    from wsquiz.judge import option_holds

    rows: list[tuple[Text, Table, Text]] = []
    for option in question.options:
        holds = option_holds(question, option, observation)
        seen = _evidence(question, option, observation.run_for(option))
        mark = Text("✔", "green") if holds else Text("✘", "red")
        rows.append((mark, option_line(option.letter, option.text, indent=""), Text(seen, "dim")))

    def build(width: int) -> RenderableType:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("", width=2)
        table.add_column("option")
        if width < NARROW:  # the evidence under the option's text, not squeezed beside it
            for mark, line, seen in rows:
                table.add_row(mark, Group(line, Text.assemble("   ", seen)))
            return table
        table.add_column("observed", max_width=max(20, width * 2 // 5))
        for row in rows:
            table.add_row(*row)
        return table

    return ByWidth(build)


class ByWidth:
    """A renderable laid out once the width it gets is known (a table that changes its shape
    on a narrow terminal rather than squeezing a column to a word per line)."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.build(options.max_width))


def verdict_view(
    question: Question, verdict: Verdict, observation: Observation, chosen: str = ""
) -> Group:
    """The live check, the verdict, the explanation (and what the original text got wrong)."""
    parts: list[RenderableType] = [live_check_view(question, observation)]
    mark, style = ("✔", "bold green") if verdict.correct else ("✘", "bold red")
    parts.append(Text(f"{mark} {verdict.message}", style))
    if question.kind == "concept" and not verdict.correct:
        right = next((o for o in question.options if o.correct), None)
        if right is not None:
            parts.append(option_line(right.letter, right.text, "green"))
    from wsquiz.judge import check_quote, letters_of

    picked = letters_of(chosen) or frozenset()
    for option in question.options:
        if option.explanation and (option.letter in picked or option.app is not None):
            parts.append(option_line(option.letter, option.explanation, "dim"))
    quote = check_quote(question, observation)
    if quote is not None and not quote.same:
        shown = quote.observed if quote.observed is not None else "(nothing)"
        parts.append(
            Panel(
                Text.assemble(
                    (f"{quote.source.capitalize()} quotes:\n  ", ""),
                    (quote.quoted, "italic"),
                    (f"\nThe installed server ({quote.versions}) printed:\n  ", ""),
                    (shown, "bold"),
                ),
                title="versions differ",
                border_style="yellow",
                title_align="left",
            )
        )
    if question.explanation:
        parts.append(
            Panel(Text(question.explanation), title="why", title_align="left", border_style="green")
        )
    return Group(*parts)


def hint_view(question: Question) -> Text:
    return Text(f"hint: {question.hint or 'no hint for this one'}", "yellow")


def quiz_summary_view(
    quiz: Quiz,
    results: dict[str, bool],
    answered_now: int,
    retried: Collection[str] = (),
    next_step: Item | None = None,
    all_done: bool = False,
) -> Group:
    """The quiz's end: each question's result, the score, and where to go next."""
    table = Table(title=f"{quiz.title}: summary", title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("question")
    table.add_column("result")
    for number, question in enumerate(quiz.questions, 1):
        state = results.get(question.id)
        cell = (
            Text("not answered", "dim")
            if state is None
            else Text("✔ right on retry", "yellow")
            if state and question.id in retried
            else Text("✔ right", "green")
            if state
            else Text("✘ wrong", "red")
        )
        table.add_row(str(number), question.id, cell)
    right = sum(1 for q in quiz.questions if results.get(q.id))
    total = len(quiz.questions)
    line = Text(f"{right}/{total} right ({answered_now} answered in this session).", "bold")
    parts: list[RenderableType] = [table, line]
    if next_step is not None:
        parts.append(step_text(next_step))
    elif all_done:
        parts.append(
            Text("All done: every lesson, quiz and exercise. `wsquiz` shows it all.", "bold green")
        )
    return Group(*parts)


def step_text(item: Item, lead: str = "next: ") -> Text:
    return Text.assemble(
        (lead, "bold"), (item.command, "bold green"), f"   ({item.kind}: {item.title})"
    )


def problems_view(problems: list[Problem], root: str) -> Group:
    parts: list[RenderableType] = []
    for problem in problems:
        parts.append(Text(str(problem).split("\n")[0], "red"))
        if problem.fix:
            parts.append(Text(f"  fix: {problem.fix}", "green"))
    noun = "problem" if len(problems) == 1 else "problems"
    parts.append(Text(f"{len(problems)} {noun} in {root}", "bold red"))
    return Group(*parts)


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
