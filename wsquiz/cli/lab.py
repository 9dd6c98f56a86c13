"""`wsquiz probe` and `wsquiz run`: serve an app and observe it, once or interactively."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from wsquiz.cli._common import (
    HeaderOption,
    SubprotocolOption,
    WsOption,
    _console,
    _headers,
    emit_json,
    fail,
    use_stack,
)
from wsquiz.errors import WsquizError

AppDirOption = Annotated[
    str | None,
    typer.Option(
        "--app-dir",
        metavar="DIR",
        help="the folder put first on sys.path, as uvicorn's (default: the app's folder)",
    ),
]
FactoryOption = Annotated[
    bool,
    typer.Option("--factory", help="APP is a function returning the app (uvicorn's --factory)"),
]
APP_HELP = "path/app.py[:attr], module:attr (as uvicorn), or an example's name"


def app_spec(text: str, app_dir: str | None, factory: bool) -> Any:
    """APP as uvicorn takes it, or a bundled example's name."""
    from dataclasses import replace

    from wsquiz._support.paths import content_root
    from wsquiz.course.examples import app_or_example
    from wsquiz.engine.appfile import AppSpec

    if app_dir is not None:
        return AppSpec.parse(text, app_dir=app_dir, factory=factory)
    spec = app_or_example(text, content_root())
    return replace(spec, factory=True) if factory else spec


def probe(
    app_file: Annotated[str, typer.Argument(metavar="APP", help=APP_HELP)],
    path: Annotated[str, typer.Option("--path", "-p", help="WebSocket path, with query")] = "/ws",
    send: Annotated[
        list[str] | None, typer.Option("--send", "-s", help="a text message to send (repeatable)")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for each reply and for the close")
    ] = 1.0,
    subprotocol: SubprotocolOption = None,
    header: HeaderOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    app_dir: AppDirOption = None,
    factory: FactoryOption = False,
    ws: WsOption = "auto",
) -> None:
    """Connect one client, send each text, receive until the server closes; show it all."""
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.repl import route_of
    from wsquiz.engine.scenario import Scenario
    from wsquiz.errors import AppLoadError, UsageError

    use_stack(ws)
    try:
        if not 0 < timeout <= 60:
            raise UsageError(f"--timeout {timeout:g}: give more than 0 and at most 60 seconds")
        spec = app_spec(app_file, app_dir, factory)
        scenario = Scenario.probe(
            path, list(send or []), timeout, subprotocols=subprotocol, headers=_headers(header)
        )
        with Lab() as lab:
            transcript = lab.observe(spec, scenario, isolated=True)
    except AppLoadError as exc:
        if as_json:
            emit_json({"app": app_file, "load_error": exc.to_dict()})
            raise typer.Exit(2) from None
        from wsquiz.ui.transcript import load_error_view

        _console(stderr=True).print(load_error_view(exc))
        raise typer.Exit(2) from None
    except WsquizError as exc:
        fail(exc)
    if as_json:
        emit_json(transcript.to_dict())
        return
    from wsquiz.ui.transcript import transcript_view

    console = _console()
    console.print(transcript_view(transcript, title=f"probe {spec.path.name} {path}"))
    handshake = transcript.clients[0].handshake if transcript.clients else None
    routes = transcript.routes
    if handshake and not handshake.accepted and routes and route_of(path, routes) is None:
        console.print(f"no WebSocket route matches {path}: the app serves {', '.join(routes)}")


def run(
    app_file: Annotated[str, typer.Argument(metavar="APP", help=APP_HELP)],
    path: Annotated[
        str | None,
        typer.Option("--path", "-p", help="WebSocket path, with query (default: /ws or the app's)"),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(help="when input is piped: seconds to keep listening after its last line"),
    ] = 1.0,
    subprotocol: SubprotocolOption = None,
    header: HeaderOption = None,
    app_dir: AppDirOption = None,
    factory: FactoryOption = False,
    ws: WsOption = "auto",
) -> None:
    """Serve APP and talk to it, like wscat: lines typed are sent, replies shown.

    Commands: /close [CODE [REASON]], /json VALUE, /bytes TEXT, /connect [PATH], /quit.
    Ctrl-D, Ctrl-C or /quit stop the server. Piped lines are sent one by one.
    """
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.repl import HELP, RunSession
    from wsquiz.errors import AppLoadError, UsageError
    from wsquiz.ui.run import LivePrinter
    from wsquiz.ui.transcript import load_error_view

    use_stack(ws)
    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401  (line editing and history for input())
    code = 0
    try:
        if not 0 <= wait <= 60:
            raise UsageError(f"--wait {wait:g}: give 0 to 60 seconds")
        headers = _headers(header)
        spec = app_spec(app_file, app_dir, factory)
        printer = LivePrinter(_console(), spec.path.name, interactive)
        with Lab() as lab:
            session = RunSession(
                lab,
                spec,
                printer.show,
                path=path,
                subprotocols=tuple(subprotocol or ()),
                headers=headers,
            )
            try:
                session.start()
                if interactive:
                    printer.note(HELP)
                code = _run_loop(session, printer, interactive, wait)
            finally:
                session.stop()
    except AppLoadError as exc:
        _console(stderr=True).print(load_error_view(exc))
        raise typer.Exit(2) from None
    except WsquizError as exc:
        fail(exc)
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code)


PIPE_PACE = 0.2  # seconds of quiet that end the wait for a piped line's replies


def _run_loop(session: Any, printer: Any, interactive: bool, wait: float) -> int:
    """Feed input lines to the session until /quit, end of input (Ctrl-D) or Ctrl-C."""
    try:
        while True:
            try:
                if interactive:
                    printer.start_reading()
                    try:
                        line = input(printer.prompt)
                    finally:
                        printer.reading = False
                else:
                    raw = sys.stdin.readline()
                    if not raw:
                        raise EOFError
                    line = raw.rstrip("\r\n")
            except EOFError:
                if interactive:
                    printer.console.print()
                else:
                    session.linger(wait)
                return 0
            if line.strip() and not session.handle(line):
                return 0
            if not interactive and line.strip():
                # A script reads like a conversation: each line's replies before the next line.
                session.linger(PIPE_PACE, max_s=wait)
    except KeyboardInterrupt:
        printer.console.print()
        return 130
