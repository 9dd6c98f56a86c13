"""The command line. Each command parses, calls the core, renders; nothing else lives here.

Heavy imports (fastapi, uvicorn, pydantic) happen inside commands so `wsquiz --help` is quick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from wsquiz.errors import WsquizError

app = typer.Typer(
    name="wsquiz",
    help="Learn FastAPI WebSockets: predict what a server does, then watch a real one.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def fail(error: WsquizError) -> NoReturn:
    """Report a user-facing error on stderr and exit with its code."""
    console = _console(stderr=True)
    console.print(f"[bold red]error:[/] {error.message}", markup=True, soft_wrap=True)
    if error.fix:
        console.print(f"[green]fix:[/] {error.fix}", soft_wrap=True)
    raise typer.Exit(error.exit_code)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.callback(invoke_without_command=True)
def welcome(ctx: typer.Context) -> None:
    """With no command: the welcome screen, your progress and what to do next."""
    if ctx.invoked_subcommand is not None:
        return
    _console().print(ctx.get_help())


@app.command()
def probe(
    app_file: Annotated[str, typer.Argument(metavar="APP", help="path/app.py or path/app.py:attr")],
    path: Annotated[str, typer.Option("--path", "-p", help="WebSocket path, with query")] = "/ws",
    send: Annotated[
        list[str] | None, typer.Option("--send", "-s", help="a text message to send (repeatable)")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="seconds to wait for each reply and for the close")
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Connect one client, send each text, receive until the server closes; show it all."""
    from wsquiz.appfile import AppSpec
    from wsquiz.errors import AppLoadError
    from wsquiz.lab import Lab
    from wsquiz.scenario import Scenario

    try:
        if not 0 < timeout <= 60:
            raise WsquizError("--timeout must be between 0 and 60 seconds")
        spec = AppSpec.parse(app_file)
        scenario = Scenario.probe(path, list(send or []), timeout)
        with Lab() as lab:
            transcript = lab.observe(spec, scenario, isolated=True)
    except AppLoadError as exc:
        if as_json:
            emit_json({"app": app_file, "load_error": exc.to_dict()})
            raise typer.Exit(2) from None
        from wsquiz.render import load_error_view

        _console(stderr=True).print(load_error_view(exc))
        raise typer.Exit(2) from None
    except WsquizError as exc:
        fail(exc)
    if as_json:
        emit_json(transcript.to_dict())
        return
    from wsquiz.render import transcript_view

    _console().print(transcript_view(transcript, title=f"probe {Path(app_file).name} {path}"))


def main() -> None:
    try:
        app()
    except WsquizError as exc:  # a command that did not catch its own
        try:
            fail(exc)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
