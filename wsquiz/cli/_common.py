"""What every command shares: the Typer app, error reporting, JSON output, common options."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand
from typer.models import CommandFunctionType

from wsquiz.errors import WsquizError


class PlainUsageCommand(TyperCommand):
    """A command whose usage line names its arguments as click does (`FILE`, `[LESSON]`), not
    as Typer does (`{FILE}`, `[lesson]`, which read like placeholders to type as they are)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [_plain(piece) for piece in super().collect_usage_pieces(ctx)]


def _plain(piece: str) -> str:
    found = re.fullmatch(r"([{\[]?)([A-Za-z_][\w-]*)(\.\.\.)?([}\]]?)(\.\.\.)?", piece)
    if found is None or piece == "[OPTIONS]":
        return piece
    opening, name, inner, closing, outer = found.groups()
    more = "..." if inner or outer else ""
    name = name.upper()
    return f"[{name}]{more}" if opening == "[" and closing == "]" else f"{name}{more}"


class App(typer.Typer):
    """wsquiz's Typer app and command groups: their commands' usage lines are plain."""

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or PlainUsageCommand, **kwargs)


app = App(
    name="wsquiz",
    help="Learn FastAPI WebSockets: predict what a server does, then watch a real one.",
    no_args_is_help=False,
    # Typer's completion: `--install-completion` and `--show-completion` (the shell is
    # detected only when one of them is given, so `--help` stays quick)
    add_completion=True,
    # Plain (click) help: Rich help costs ~120 ms of imports and layout, which would make
    # `wsquiz --help` 2.5x slower than importing typer and rich (bench/startup.py).
    rich_markup_mode=None,
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


def _content_defaults(command: Any, content: str) -> dict[str, Any]:
    """`wsquiz --content DIR CMD`: DIR as the default --content of every command under this one
    (click hands a context's default_map down to its subcommands by name)."""
    found: dict[str, Any] = {}
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):  # a group (typer may bring its own copy of click's)
            found[name] = _content_defaults(sub, content)
        elif any(param.name == "content" for param in sub.params):
            found[name] = {"content": content}
    return found


SubprotocolOption = Annotated[
    list[str] | None,
    typer.Option("--subprotocol", help="a subprotocol to offer, in order (repeatable)"),
]

HeaderOption = Annotated[
    list[str] | None,
    typer.Option("--header", "-H", help="a handshake header, 'Name: value' (repeatable)"),
]


def _headers(lines: list[str] | None) -> dict[str, str]:
    from wsquiz.errors import UsageError

    headers: dict[str, str] = {}
    for line in lines or []:
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise UsageError(
                f"--header {line!r}: not 'Name: value'", fix="e.g. --header 'X-Token: t-1'"
            )
        headers[name.strip()] = value.strip()
    return headers


WsOption = Annotated[
    str,
    typer.Option(
        "--ws",
        metavar="auto|websockets|websockets-sansio|wsproto",
        help="uvicorn's WebSocket implementation for the server (default: auto, uvicorn's pick)",
    ),
]


def use_stack(ws: str = "auto") -> None:
    """Before observing: stop (exit 2) on a stack wsquiz does not support; serve with `ws`."""
    from wsquiz.engine import stack

    try:
        stack.require_supported()
        stack.choose(ws)
    except WsquizError as exc:
        fail(exc)


def version_lines() -> list[str]:
    """`wsquiz --version`: wsquiz, the four packages (and wsproto), what `--ws auto` picks."""
    from wsquiz import __version__
    from wsquiz.engine import stack

    lines = [f"wsquiz {__version__}"]
    lines += [f"{name} {version or 'not installed'}" for name, version in stack.report()]
    try:
        picked = stack.auto_pick()
    except ImportError as exc:  # uvicorn (or what it needs) is missing
        picked = f"unknown ({exc})"
    lines.append(f"--ws auto picks {picked}")
    below = stack.unsupported()
    if below:
        need = ", ".join(f"{name} >= {floor}" for name, _, floor in below)
        lines.append(f"unsupported: wsquiz needs {need}")
    return lines


ContentOption = Annotated[
    str | None,
    typer.Option(
        "--content",
        metavar="DIR",
        help="a course folder (default: $WSQUIZ_CONTENT, else the bundled course)",
    ),
]


def _warn_broken(broken: Any, root: Path) -> None:
    """A line for each lesson, quiz or exercise left out for its problems, and where to look."""
    from rich.markup import escape

    console = _console()
    for bad in broken:
        console.print(f"[yellow]warning:[/] {escape(bad.summary())}", soft_wrap=True)
    if broken:
        console.print(f"  details and fixes: wsquiz validate {root}", markup=False)


def _quiz_names(content: str | None) -> list[str]:
    try:
        from wsquiz._support.paths import content_root
        from wsquiz.course.quizzes import load_course

        return [q.name for q in load_course(content_root(content)).quizzes]
    except (ImportError, WsquizError):
        return []


def _exercise_names(root: Path) -> set[str]:
    from wsquiz.course.exercises import load_exercise_set

    try:
        found = load_exercise_set(root)
    except WsquizError:
        return set()
    return {e.name for e in found.exercises} | {b.name for b in found.broken}


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _open_progress(save: bool) -> Any:
    if not save:
        return None
    from wsquiz.learn.progress import Progress

    return Progress(or_unsaved=True)
