"""The command line: one module per group of commands, registered here in `--help`'s order.

Each command parses, builds the core's objects, calls them and hands the result to a view. Heavy
imports (fastapi, uvicorn, pydantic) happen inside commands so `wsquiz --help` is quick."""

from __future__ import annotations

import sys

import typer

from wsquiz.cli import classroom, exercise, grade, lab, learn, quiz, watch
from wsquiz.cli._common import app, fail
from wsquiz.errors import WsquizError

__all__ = ["app", "main"]

# Registered here, in one place, so that `wsquiz --help` lists them in the course's order.
app.command()(lab.probe)
app.command()(learn.learn)
app.command("progress")(learn.progress_command)
app.command()(learn.reset)
app.command()(exercise.check)
app.command()(watch.watch)
app.command()(lab.run)
app.command()(grade.autograder)
app.command()(learn.validate)
app.command()(quiz.quiz)
app.add_typer(exercise.exercise_app, name="exercise")
app.add_typer(grade.grade_app)
app.add_typer(classroom.classroom_app, name="classroom")


def _stop_as_interrupted(number: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    import contextlib
    import signal

    # A terminal closed or a `kill` ends wsquiz the way Ctrl-C does: progress saved, servers
    # stopped, the terminal's mode put back (the default action would skip all of that).
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _stop_as_interrupted)
    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe that cannot take UTF-8 (PYTHONIOENCODING=ascii): `?` for ✓ and
        # the box lines, not a UnicodeEncodeError.
        if "utf" not in (getattr(stream, "encoding", None) or "utf").lower():
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    try:
        try:
            app()
        except WsquizError as exc:  # a command that did not catch its own
            try:
                fail(exc)
            except typer.Exit as done:
                sys.exit(done.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)
        finally:
            sys.stdout.flush()  # here, not at exit, where a broken pipe prints a traceback
    except BrokenPipeError:
        _quiet_broken_pipe()
        sys.exit(1)


def _quiet_broken_pipe() -> None:
    """The reader went away (`wsquiz ... | head`): whatever is still written goes nowhere."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
    except OSError:
        pass
