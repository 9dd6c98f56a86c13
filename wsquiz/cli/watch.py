"""`wsquiz watch`: the whole course's exercises, one after the other, as rustlings does: the
current exercise's file is checked on every save, the screen redrawn, and a pass moves on.

Keys are read one at a time from a terminal (h hint, l lesson, q quit), a line at a time from a
pipe; saves are watched in a thread, so a key and a save are both answered at once.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wsquiz.cli._common import ContentOption, _console, fail
from wsquiz.errors import WsquizError

if TYPE_CHECKING:
    from wsquiz.learn.coursewatch import CourseWatch
    from wsquiz.learn.reports import CheckReport

TICK_S = 0.1


def watch(
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="the folder of your exercise files (NAME.py)")
    ] = Path("."),
    content: ContentOption = None,
) -> None:
    """Work through every exercise in course order: each save is checked, a pass moves on
    (h hint, l lesson, q quit; progress is saved)."""
    from wsquiz._support.paths import content_root
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.coursewatch import CourseWatch
    from wsquiz.learn.progress import Progress

    console = _console()
    try:
        with Progress() as progress, Lab() as lab:
            folder = directory.expanduser().resolve()
            course = CourseWatch(content_root(content), folder, progress)
            if course.done:
                console.print(
                    f"All {course.total} exercises are passed already. "
                    "`wsquiz` shows the whole course.",
                    style="bold green",
                )
                return
            with _keys() as keys, _saves(course.folder) as saves:
                _loop(course, lab, console, keys, saves)
    except WsquizError as exc:
        fail(exc)
    except KeyboardInterrupt:
        console.print("stopped watching (progress is saved)")


def _loop(course: CourseWatch, lab: Any, console: Any, keys: Any, saves: Any) -> None:
    note = ""
    while True:
        wrote = course.ensure_file()
        step, file = course.current, course.file()
        stamp = _stamp(file)  # before the check: a save made while it runs is checked next
        report = _check(course, lab, console, note, wrote)
        if report.passed:
            after = course.advance()
            if after is None:
                console.print(
                    f"All {course.total} exercises passed. `wsquiz` shows the whole course.",
                    style="bold green",
                )
                return
            note = f"✓ {step.exercise.name} passed. Next: {after.exercise.name}."
            continue
        note = ""
        from wsquiz.ui.check import watch_footer_view

        console.print(watch_footer_view(file.name))
        if not _wait(course, report, console, keys, saves, file, stamp):
            console.print(
                f"Saved: {course.passed}/{course.total} exercises passed. "
                "Go on later with: wsquiz watch",
                style="cyan",
            )
            return


def _check(course: CourseWatch, lab: Any, console: Any, note: str, wrote: bool) -> CheckReport:
    from wsquiz.ui.check import report_view, watch_header_view

    step, file = course.current, course.file()
    console.clear()
    console.print(
        watch_header_view(step.number, course.total, course.passed, step.exercise, str(file), note)
    )
    if wrote:
        console.print(f"wrote the starter {file.name}: fill in its TODOs", style="cyan")
    console.print(step.exercise.statement.strip(), style="dim", markup=False, highlight=False)
    console.print()
    report = course.check(lab)
    console.print(report_view(report, step.exercise, hint=False, header=False))
    return report


def _wait(
    course: CourseWatch,
    report: CheckReport,
    console: Any,
    keys: Iterator[str | None],
    saves: queue.Queue[str],
    file: Path,
    stamp: tuple[int, int] | None,
) -> bool:
    """Until the file is saved again (True) or the learner quits (False); keys answered."""
    from wsquiz.ui.check import hint_for

    while True:
        key = next(keys)
        if key in ("q", "\x04"):
            return False
        if key == "h":
            hint = hint_for(report, course.current.exercise) or "no hint for this one"
            console.print(f"hint: {' '.join(hint.split())}", style="green", markup=False)
        elif key == "l":
            _show_lesson(course, console)
        with contextlib.suppress(queue.Empty):
            while True:
                saved = saves.get_nowait()
                if Path(saved) == file and _stamp(file) != stamp:
                    return True


def _show_lesson(course: CourseWatch, console: Any) -> None:
    from wsquiz.ui.course import lesson_view

    lesson = course.lesson()
    if lesson is None:
        console.print("no lesson links this exercise", style="yellow")
        return
    console.print(lesson_view(lesson))
    console.print(f"(that was lesson {lesson.name}; save your file to check it again)", style="dim")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


@contextlib.contextmanager
def _keys() -> Iterator[Iterator[str | None]]:
    """Keys as they are pressed (None each tick without one): a terminal in cbreak mode, put
    back as it was on the way out; a pipe read a line at a time (its first character)."""
    stream = sys.stdin
    try:
        fd: int | None = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's input): lines only
        fd = None
    saved: list[Any] | None = None
    if fd is not None and os.isatty(fd):
        import termios
        import tty

        saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)

    def read() -> Iterator[str | None]:
        ended = False
        while True:
            ready = not ended and (fd is None or select.select([fd], [], [], TICK_S)[0])
            if not ready:
                if ended:
                    threading.Event().wait(TICK_S)
                yield None
                continue
            if saved is not None and fd is not None:
                pressed = os.read(fd, 1)  # b"": the terminal went away
                yield pressed.decode(errors="replace").lower() if pressed else "q"
                continue
            line = stream.readline()
            ended = not line
            yield line.strip()[:1].lower() or None if line else "q"

    try:
        yield read()
    finally:
        if saved is not None and fd is not None:
            import termios

            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _saves(folder: Path) -> Iterator[queue.Queue[str]]:
    """The paths saved in `folder` (not its subfolders), from a watching thread."""
    from watchfiles import watch as watch_files

    found: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        for changes in watch_files(
            folder, stop_event=stop, recursive=False, rust_timeout=250, yield_on_timeout=True
        ):
            for _, path in changes:
                found.put(path)

    thread = threading.Thread(target=run, name="wsquiz-watch", daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(timeout=2)
