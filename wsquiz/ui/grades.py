"""Rich views of a grading run: the progress bar, the results table, the score histogram.

What students wrote (their names, answers, and the feedback quoting them) is shown literally:
as `Text`, never markup, each control character as its escape.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from wsquiz.grading.gradebook import StudentResult
from wsquiz.grading.summary import ClassSummary, histogram, summarize

MAX_ROWS = 40
MAX_NAMES = 10  # students named in the summary line
BAR_WIDTH = 40


# Format characters that reorder what follows them (a name shown backwards); others (the
# joiners of emoji) are harmless.
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def literal(text: str, *, lines: bool = False) -> str:
    """Untrusted `text` made harmless to print: each control character (and bidirectional
    override) written as its escape, `\\x1b`, so none moves the cursor, clears the screen or
    rings the bell; newlines kept only with `lines`."""
    out = []
    for char in text:
        if (char == "\n" and lines) or not (
            char in BIDI or unicodedata.category(char) in ("Cc", "Cs")
        ):
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def progress_line(result: StudentResult) -> str:
    """The last student graded, for the progress bar (shown without markup)."""
    return literal(f"{result.student}: {result.score:g}/{result.max_score:g}")


def progress(console: Any) -> Progress:
    return Progress(
        TextColumn("[bold]grading[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def results_table(results: Sequence[StudentResult], title: str) -> Table:
    """Every student (or, for a big class, only those with a problem to look at)."""
    shown = list(results)
    caption = None
    if len(shown) > MAX_ROWS:
        shown = [r for r in results if r.error][:MAX_ROWS]
        caption = (
            f"{len(results)} students: showing the {len(shown)} with an error; "
            "export them all with --format csv --out FILE"
        )
    table = Table(title=title, caption=caption, expand=False)
    table.add_column("student", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("%", justify="right")
    table.add_column("failed checks / error", overflow="fold")
    for result in shown:
        failed = ", ".join(c.name for c in result.checks if not c.passed)
        note = result.error or failed or "-"
        style = (
            "green"
            if result.max_score and result.score >= result.max_score
            else ("red" if result.error else "yellow")
        )
        table.add_row(
            Text(literal(result.student)),
            f"{_points(result.score)}/{_points(result.max_score)}",
            f"{result.percent:.0f}",
            Text(literal(note, lines=True), style=style),
        )
    return table


def histogram_view(results: Sequence[StudentResult]) -> Group:
    bands = histogram(results)
    most = max((count for _, count in bands), default=0) or 1
    lines = [Text("score histogram", style="bold")]
    for label, count in bands:
        bar = "█" * round(BAR_WIDTH * count / most) if count else ""
        line = Text(f"{label} │ ")
        line.append(bar, style="cyan")
        line.append(f" {count}" if count else "")
        lines.append(line)
    return Group(*lines)


def summary_text(summary: ClassSummary, skipped: int = 0, changed: Sequence[str] = ()) -> Text:
    text = Text(
        f"{summary.graded} graded, mean {summary.mean_percent:.0f}%, "
        f"{summary.full_marks} with full marks, {summary.errors} with an error"
    )
    if skipped:
        text.append(f"; {skipped} already in the gradebook (--resume)")
    if changed:
        text.append(f"; {len(changed)} changed since graded: regraded ({_names(changed)})")
    return text


def moved_text(moved: Sequence[str]) -> Text:
    """Students whose row came from another folder: two sections sharing one gradebook."""
    return Text(
        f"note: {_names(moved)} had been graded from another folder, and that grade is replaced; "
        "give each section its own gradebook (--db FILE)"
    )


def _names(students: Sequence[str]) -> str:
    shown = ", ".join(literal(student) for student in students[:MAX_NAMES])
    return shown + (f" and {len(students) - MAX_NAMES} more" if len(students) > MAX_NAMES else "")


def report(
    results: Sequence[StudentResult],
    title: str,
    skipped: int = 0,
    changed: Sequence[str] = (),
    moved: Sequence[str] = (),
    renewed: Sequence[str] = (),
) -> Group:
    parts: list[Any] = [
        results_table(results, title),
        Text(""),
        histogram_view(results),
        Text(""),
        summary_text(summarize(results), skipped, changed),
    ]
    if moved:
        parts.append(moved_text(moved))
    if renewed:
        parts.append(
            Text(
                f"note: {_names(renewed)} graded again from the same file: the exercise or quiz, "
                "or the limits, changed since"
            )
        )
    return Group(*parts)
