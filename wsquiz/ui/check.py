"""Rich views of an exercise check: what the learner sees after `wsquiz check`."""

from __future__ import annotations

import re

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from wsquiz.course.exercises import Exercise
from wsquiz.learn.checking import CheckReport, CheckResult
from wsquiz.learn.diagnosis import Cause
from wsquiz.ui.code import ByWidth
from wsquiz.ui.transcript import transcript_view


def header_view(exercise: Exercise, app: str) -> Group:
    count = len(exercise.checks)
    return Group(
        Text.assemble((f"{exercise.name}", "bold"), f": {exercise.title}"),
        Text(f"checking {app} ({count} checks, against the reference solution, live)", "dim"),
        Text(""),
    )


def report_view(
    report: CheckReport, exercise: Exercise, *, hint: bool = True, header: bool = True
) -> Group:
    """Check by check: passed or failed, expected against observed, and for a failed check
    the transcript and the learner's own traceback."""
    parts: list[RenderableType] = [header_view(exercise, report.app)] if header else []
    if report.error:
        parts.append(_unserved_view(report))
        parts.append(Text(""))
    elif report.cause is not None:  # the likely cause first, the checks after it
        parts.append(cause_view(report.cause))
        parts.append(Text(""))
    for result in report.results:
        parts.append(_result_line(result))
        if not result.passed and not report.error:
            parts.append(Padding(_failure_view(result), (0, 0, 1, 4)))
    parts.append(Text(""))
    parts.append(_summary(report))
    chosen = hint_for(report, exercise) if hint else None
    if chosen:
        parts.append(Text.assemble(("hint: ", "green"), _unwrapped(chosen)))
    return Group(*parts)


def hint_for(report: CheckReport, exercise: Exercise) -> str | None:
    """The hint for what failed: none for a file that did not load (its error says what to
    fix), else the first failed check's own hint, else the exercise's."""
    if report.passed or report.error_kind == "load":
        return None
    failed = next((r for r in report.results if not r.passed), None)
    if failed is not None and failed.hint:
        return failed.hint
    return exercise.hint or None


def cause_view(cause: Cause) -> Panel:
    """What most likely made the checks fail, said before them."""
    return Panel(
        Group(Text(cause.message, "bold"), Text(f"fix: {cause.fix}", "green")),
        title=f"likely cause: {cause.title}",
        title_align="left",
        border_style="red",
    )


def near_miss_view(expected: str, observed: str) -> Table:
    """The two texts one above the other, the differing characters marked with ^ beneath."""
    from wsquiz.learn.diagnosis import differing

    want, got, marks = Text(), Text(), Text()
    for a, b, differs in differing(expected, observed):
        width = max(len(a), len(b))
        style = "bold reverse" if differs else ""
        want.append(a.ljust(width), style)
        got.append(b.ljust(width), style)
        marks.append(("^" if differs else " ") * width, "bold red")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(no_wrap=True, overflow="fold")
    table.add_row("expected", want)
    table.add_row("observed", got)
    table.add_row("", marks)
    return table


def _unwrapped(text: str) -> str:
    """Join the lines of each paragraph: the terminal wraps them again at its own width."""
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()))


NAME_WIDTH = 30
MIN_DESCRIPTION = 30  # narrower than this beside the name, the description goes under it


def _result_line(result: CheckResult) -> RenderableType:
    mark, style = ("✓ passed", "green") if result.passed else ("✗ failed", "red")
    points = f"{result.points:g}/{result.max_points:g}"
    description = Text(result.description, "dim")

    def build(width: int) -> RenderableType:
        beside = width - (9 + 1 + NAME_WIDTH + 1 + len(points) + 1)
        wide = beside >= MIN_DESCRIPTION or not result.description
        line = Table.grid(padding=(0, 1))
        line.add_column(width=9, no_wrap=True)
        line.add_column(no_wrap=wide, overflow="fold")  # narrow: a long name folds, not cut
        line.add_column(justify="right", no_wrap=True)
        if wide:
            line.add_column(ratio=1)
            name = Text(f"{result.name:<{NAME_WIDTH}}", "bold")
            line.add_row(Text(mark, style), name, points, description)
            return line
        pad = max(0, min(NAME_WIDTH, width - (9 + 1 + 1 + len(points))))
        line.add_row(Text(mark, style), Text(f"{result.name:<{pad}}", "bold"), points)
        return Group(line, Padding(description, (0, 0, 0, 10)))

    return ByWidth(build)


def _failure_view(result: CheckResult) -> RenderableType:
    parts: list[RenderableType] = [Text(result.message, "red")]
    if result.near_miss is not None:
        parts.append(near_miss_view(*result.near_miss))
    if result.expected or result.observed:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("expected", Text(result.expected, "green"))
        table.add_row("observed", Text(result.observed, "yellow"))
        parts.append(table)
    if result.transcript is not None:
        parts.append(transcript_view(result.transcript, title=f"your server: {result.name}"))
    if result.traceback:
        parts.append(Text("your server raised:", "bold red"))
        parts.append(Syntax(result.traceback.rstrip(), "pytb", theme="ansi_dark", word_wrap=True))
    return Group(*parts)


def _unserved_view(report: CheckReport) -> Panel:
    parts: list[RenderableType] = [Text(report.error or "", "bold red")]
    if report.error_detail:
        parts.append(
            Syntax(report.error_detail.rstrip(), "pytb", theme="ansi_dark", word_wrap=True)
        )
    if report.error_fix:
        parts.append(Text(f"fix: {report.error_fix}", "green"))
    title = (
        "your app did not serve: the file did not load, nothing was checked"
        if report.error_kind == "load"
        else "your app did not serve"
    )
    return Panel(Group(*parts), title=title, border_style="red")


def _summary(report: CheckReport) -> Text:
    failed = sum(1 for r in report.results if not r.passed)
    total = len(report.results)
    score = f"score {report.score:g}/{report.max_score:g}: "
    if report.passed:
        return Text(score + f"all {total} checks passed", "bold green")
    if report.error and report.error_kind == "load":
        return Text(score + "nothing was checked, your file did not load", "bold red")
    if report.error:
        return Text(score + "nothing was checked, your app did not serve", "bold red")
    return Text(score + f"{failed} of {total} checks failed", "bold red")


def statement_view(exercise: Exercise) -> Panel:
    from wsquiz.ui.markdown import CourseMarkdown  # Markdown's parser: only where it is drawn

    body: list[RenderableType] = [CourseMarkdown(exercise.statement)]
    if exercise.endpoint:
        body.insert(0, Text(f"endpoint: {exercise.endpoint}", "cyan"))
    points = ", ".join(f"{c.name} ({c.points})" for c in exercise.checks)
    body.append(Text(f"checks: {points}", "dim"))
    return Panel(Group(*body), title=f"{exercise.name}: {exercise.title}", border_style="blue")


def watch_header_view(
    number: int, total: int, passed: int, exercise: Exercise, file: str, note: str = ""
) -> Group:
    """The top of `wsquiz watch`'s screen: where the learner stands in the course."""
    parts: list[RenderableType] = []
    if note:
        parts.append(Text(note, "bold green"))
    parts.append(
        Text.assemble(
            (f"exercise {number}/{total}", "bold magenta"),
            f" ({passed} passed)  ",
            (exercise.name, "bold"),
            f": {exercise.title}",
        )
    )
    parts.append(Text(f"your file: {file}", "dim"))
    return Group(*parts)


def watch_footer_view(file: str) -> Text:
    return Text(f"watching {file}: save it to check again; h hint, l lesson, q quit", "dim")
