"""The course's views: lessons, the welcome screen, progress, and content problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from wsquiz.ui.code import ByWidth, CodeView

if TYPE_CHECKING:
    from wsquiz.course.lessons import Lesson
    from wsquiz.course.problems import Problem
    from wsquiz.learn.menu import Item, Menu

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


@dataclass(frozen=True)
class LessonEnding:
    """Where a lesson leads, all from the course order: the steps that follow it up to the next
    lesson, the first unfinished step after it, an unfinished one left behind, the next lesson."""

    steps: tuple[Item, ...] = ()
    next: Item | None = None
    behind: Item | None = None
    next_lesson: Item | None = None


def lesson_view(lesson: Lesson, ending: LessonEnding | None = None) -> Group:
    from rich.rule import Rule

    from wsquiz.ui.markdown import CourseMarkdown

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
    parts.append(lesson_next_view(lesson, ending or LessonEnding()))
    return Group(*parts)


_WHY = {
    "quiz": "test what you just read against a live server",
    "exercise": "write it yourself; wsquiz check runs it live",
    "lesson": "",
}


def lesson_next_view(lesson: Lesson, ending: LessonEnding) -> Panel:
    lines: list[Text] = []
    if ending.next is not None:
        why = _WHY[ending.next.kind] or ending.next.title
        lines.append(
            Text.assemble(("next: ", "bold"), (ending.next.command, "bold green"), f"   {why}")
        )
    for item in ending.steps:
        if item == ending.next:
            continue
        lead = f"{item.kind}: "
        done = "   (done)" if item.done else f"   {_WHY[item.kind]}"
        style = "bold blue" if item.kind == "exercise" else "bold magenta"
        lines.append(Text.assemble((lead, "bold"), (item.command, style), done))
    if lesson.examples:
        lines.append(
            Text.assemble(
                ("change an example: ", "bold"),
                (f"wsquiz learn {lesson.name} --copy", "bold magenta"),
                "   a copy of its files here, to edit and run",
            )
        )
    if ending.next_lesson is not None:
        lines.append(
            Text.assemble(
                ("next lesson: ", "bold"),
                (ending.next_lesson.command, "bold cyan"),
                f"   {ending.next_lesson.title}",
            )
        )
    if ending.behind is not None:
        lines.append(
            Text.assemble(
                ("not done yet, earlier: ", "bold"),
                (ending.behind.command, "bold yellow"),
                f"   ({ending.behind.kind}: {ending.behind.title})",
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


NARROW = 80  # below this many columns the titles (and progress bars) are left out


def _widest(items: tuple[Item, ...]) -> int:
    return max((len(item.name) for item in items), default=4)


def menu_table(menu: Menu, width: int = NARROW) -> Table:
    """The course in order, a line per lesson and quiz; the exercises that follow a lesson
    share one line, so the whole course fits a screen or so (`wsquiz progress` lists each).
    Narrower than 80 columns, the titles are left out, and names are never split."""
    narrow = width < NARROW
    table = Table(show_edge=False, pad_edge=False, box=None)
    table.add_column("", width=1)
    table.add_column("", style="dim", no_wrap=True)
    table.add_column("name", style="bold", no_wrap=not narrow, min_width=_widest(menu.items))
    if not narrow:
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
            mark, kind, names, status = _exercises_row(group, menu.next)
            table.add_row(mark, kind, names, status) if narrow else table.add_row(
                mark, kind, Text(""), names, status
            )
            continue
        here = menu.next is not None and first == menu.next
        cells = [
            _mark(first),
            Text(first.kind, KIND_STYLE[first.kind]),
            Text(first.name, "bold reverse" if here else "bold"),
            Text(first.title, no_wrap=True, overflow="ellipsis"),  # one line per step
            _status(first),
        ]
        table.add_row(*(cells[:3] + cells[4:] if narrow else cells))
    return table


def _status(item: Item) -> Text:
    if not item.usable:
        return Text(item.status, "red")
    return Text(item.status, "green" if item.done else "yellow" if item.started else "dim")


def _exercises_row(group: list[Item], next_item: Item | None) -> tuple[Text, Text, Text, Text]:
    names = Text(no_wrap=False)  # wraps between names (at the spaces), never inside one
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
    return mark, Text("exercises", KIND_STYLE["exercise"]), names, status


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
        ByWidth(lambda width: menu_table(menu, width)),
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


def progress_table(menu: Menu, width: int = NARROW) -> Table:
    """Every step, a line each; narrower than 80 columns, without the progress bars."""
    narrow = width < NARROW
    table = Table(show_edge=False, pad_edge=False, box=None)
    table.add_column("", width=1)
    table.add_column("", style="dim", no_wrap=True)
    table.add_column("name", style="bold", no_wrap=True)
    if not narrow:
        table.add_column("", no_wrap=True)
    table.add_column("progress", ratio=1, no_wrap=narrow, overflow="ellipsis")
    for item in menu.items:
        if item.kind == "quiz":
            bar = _bar(item.correct, item.total)
        elif item.kind == "exercise":
            bar = _bar(1 if item.done else 0, 1)
        else:
            bar = Text("")
        cells: list[RenderableType] = [
            _mark(item),
            Text(item.kind, KIND_STYLE[item.kind]),
            Text(item.name),
            bar,
            Text(item.status),
        ]
        table.add_row(*(cells[:3] + cells[4:] if narrow else cells))
    return table


def progress_view(menu: Menu) -> Group:
    done = sum(1 for item in menu.items if item.done)
    parts: list[RenderableType] = [
        Text(f"{done} of {menu.steps} steps done", "bold"),
        Text(""),
        ByWidth(lambda width: progress_table(menu, width)),
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
