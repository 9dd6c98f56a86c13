"""`wsquiz classroom host|join|export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from wsquiz.cli._common import App, ContentOption, WsOption, _console, emit_json, fail, use_stack
from wsquiz.errors import WsquizError

classroom_app = App(
    help="A live class over WebSockets: the teacher hosts, students join, answers checked live.",
    no_args_is_help=True,
)


@classroom_app.command("host")
def classroom_host(
    quiz_name: Annotated[
        str | None, typer.Option("--quiz", help="the quiz the class takes")
    ] = None,
    exercise_name: Annotated[
        str | None, typer.Option("--exercise", help="the exercise the class works on")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="the port to listen on (default 8765; 0: a free one); a resumed session "
            "listens where it served before, unless another port is given",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="the address to listen on; 0.0.0.0 lets the classroom network in")
    ] = "127.0.0.1",
    content: ContentOption = None,
    db: Annotated[Path | None, typer.Option(help="the classroom store (SQLite)")] = None,
    new: Annotated[bool, typer.Option("--new", help="start a new session, not resume")] = False,
    plain: Annotated[
        bool, typer.Option("--plain", help="print events as lines instead of a live board")
    ] = False,
    feedback: Annotated[
        str,
        typer.Option(
            help="when students learn right or wrong: reveal (at the reveal, so no seat can "
            "probe the key) or instant (practice)"
        ),
    ] = "reveal",
    show_code: Annotated[
        bool,
        typer.Option("--show-code", help="show the join code on the projector's public board"),
    ] = False,
    time_limit: Annotated[
        float | None,
        typer.Option("--time", help="seconds to answer each question (a countdown)"),
    ] = None,
    ws: WsOption = "auto",
) -> None:
    """Host a class: print the join address and code, then show the live board.

    On the board, each key acts at once: Enter or n pushes the next question, p the previous,
    a number then Enter that question, r reveals the answers, e ends the session, q stops
    hosting (it resumes). Piped in, the same commands are read one a line.
    """
    from wsquiz.engine.lab import preflight
    from wsquiz.ui.host import run_host

    use_stack(ws)
    try:
        preflight()  # a class must not start with keys nobody can observe
        run_host(
            _console(),
            quiz=quiz_name,
            exercise=exercise_name,
            host=host,
            port=port,
            content=content,
            db=db,
            new=new,
            live=not plain,
            feedback=feedback,
            show_code=show_code,
            time_limit=time_limit,
        )
    except WsquizError as exc:
        fail(exc)


@classroom_app.command("join")
def classroom_join(
    url: Annotated[str, typer.Argument(help="the address the host printed")],
    name: Annotated[str, typer.Option(help="your name in the class (unique)")],
    code: Annotated[str | None, typer.Option(help="the join code (asked for if not given)")] = None,
    file: Annotated[
        Path | None, typer.Option(help="exercise: your app file (default: the exercise's name)")
    ] = None,
    retry: Annotated[
        float, typer.Option(help="seconds to keep trying to rejoin when the connection drops")
    ] = 60.0,
) -> None:
    """Join a class: answer each question the teacher pushes, checked live on this machine."""
    import asyncio

    from wsquiz.engine.lab import Lab
    from wsquiz.ui.student import StudentClient

    use_stack()
    if code is None:
        code = typer.prompt("join code")
    try:
        with Lab() as lab:
            client = StudentClient(url, name, code, _console(), lab=lab, file=file, retry_s=retry)
            raise typer.Exit(asyncio.run(client.run()))
    except WsquizError as exc:
        fail(exc)


@classroom_app.command("export")
def classroom_export(
    session: Annotated[
        str | None, typer.Option(help="the session id (default: the latest)")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="the classroom store (SQLite)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, json or gradescope")] = "json",
    out: Annotated[
        Path | None, typer.Option(help="where the export goes (default: stdout)")
    ] = None,
) -> None:
    """Export a session's results in the formats of `wsquiz grade`."""
    from wsquiz.classroom.host import export_session
    from wsquiz.grading import exports

    try:
        if fmt not in exports.FORMATS:
            raise WsquizError(f"unknown --format {fmt!r}", fix="use csv, json or gradescope")
        chosen, results, written = export_session(session_id=session, db=db, fmt=fmt, out=out)
    except WsquizError as exc:
        fail(exc)
    if out is None:
        if fmt == "csv":
            sys.stdout.write(exports.to_csv(results))
        else:
            emit_json(exports.to_json(results, chosen.mode, chosen.target, chosen.id))
        return
    _console().print(
        f"{fmt}: session {chosen.id}, {len(results)} students written to {out} "
        f"({len(written)} files)"
    )
