"""Code as the learner sees it: syntax-highlighted panels whose long lines go on at their own
indentation, and the layout that picks a renderable by the terminal's width."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Callable

if TYPE_CHECKING:
    pass


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


def code_panel(path: Path, title: str = "", style: str = "cyan") -> Panel:
    """The exact file a question runs, syntax highlighted."""
    try:
        source = path.read_text(encoding="utf-8").rstrip("\n")
    except OSError as exc:
        return Panel(Text(f"cannot read {path}: {exc}", "red"), title=title or path.name)
    return Panel(CodeView(source), title=title or path.name, title_align="left", border_style=style)


NARROW = 70  # below this many columns, a table's side column goes under its row instead


class ByWidth:
    """A renderable laid out once the width it gets is known (a table that changes its shape
    on a narrow terminal rather than squeezing a column to a word per line)."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.build(options.max_width))
