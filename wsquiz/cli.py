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


@app.callback(invoke_without_command=True)
def welcome(
    ctx: typer.Context,
    content: Annotated[
        str | None,
        typer.Option(
            "--content",
            metavar="DIR",
            help="a course folder (default: $WSQUIZ_CONTENT, else the bundled course); "
            "given before a command, that command uses it too",
        ),
    ] = None,
) -> None:
    """With no command: the welcome screen, your progress and what to do next."""
    if ctx.invoked_subcommand is not None:
        if content is not None:
            ctx.default_map = _content_defaults(ctx.command, content)
        return
    from wsquiz.menu import build_menu
    from wsquiz.paths import content_root
    from wsquiz.render import welcome_view
    from wsquiz.store import Progress

    try:
        root = content_root(content)
        with Progress(or_unsaved=True) as progress:
            menu = build_menu(root, progress)
    except WsquizError as exc:
        fail(exc)
    _console().print(welcome_view(menu))


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


@app.command()
def probe(
    app_file: Annotated[
        str, typer.Argument(metavar="APP", help="path/app.py[:attr], or an example's name")
    ],
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
) -> None:
    """Connect one client, send each text, receive until the server closes; show it all."""
    from wsquiz.errors import AppLoadError, UsageError
    from wsquiz.lab import Lab
    from wsquiz.paths import content_root
    from wsquiz.scenario import Scenario
    from wsquiz.session import resolve_app, route_of

    try:
        if not 0 < timeout <= 60:
            raise UsageError(f"--timeout {timeout:g}: give more than 0 and at most 60 seconds")
        spec = resolve_app(app_file, content_root())
        scenario = Scenario.probe(
            path, list(send or []), timeout, subprotocols=subprotocol, headers=_headers(header)
        )
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

    console = _console()
    console.print(transcript_view(transcript, title=f"probe {spec.path.name} {path}"))
    handshake = transcript.clients[0].handshake if transcript.clients else None
    routes = transcript.routes
    if handshake and not handshake.accepted and routes and route_of(path, routes) is None:
        console.print(f"no WebSocket route matches {path}: the app serves {', '.join(routes)}")


ContentOption = Annotated[
    str | None,
    typer.Option(
        "--content",
        metavar="DIR",
        help="a course folder (default: $WSQUIZ_CONTENT, else the bundled course)",
    ),
]


@app.command()
def learn(
    lesson: Annotated[
        str | None, typer.Argument(help="a lesson's name or number; none lists the lessons")
    ] = None,
    copy: Annotated[
        bool,
        typer.Option("--copy", help="copy the lesson's examples into --dir, to change and run"),
    ] = False,
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="where --copy writes the examples")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="--copy over existing files")] = False,
    content: ContentOption = None,
) -> None:
    """Read a lesson: its text, each example exactly as it runs, and what to do next."""
    from wsquiz.errors import StoreError
    from wsquiz.lessons import copy_examples, load_lesson_set
    from wsquiz.paths import content_root
    from wsquiz.render import lesson_view, lessons_table
    from wsquiz.store import Progress

    console = _console()
    try:
        root = content_root(content)
        found = load_lesson_set(root)
        lessons = found.lessons
        if not lessons and not found.broken:
            raise WsquizError(
                f"{root}: this course has no lessons",
                fix="a lesson is a file lessons/NN-slug.md (see docs/authoring.md)",
            )
        if lesson is None:
            with Progress() as progress:
                read = progress.lessons()
            if lessons:
                console.print(lessons_table(lessons, read))
                console.print("\nread one: [bold green]wsquiz learn NAME[/]", markup=True)
            _warn_broken(found.broken, root)
            return
        chosen = found.lesson(lesson)
        if copy:
            copied = copy_examples(chosen, directory.expanduser(), force=force)
    except WsquizError as exc:
        fail(exc)
    if copy:
        console.print(
            f"copied the examples of lesson {chosen.name} into {directory}: "
            "change one, then run your copy:",
            markup=False,
        )
        for name, target in zip(chosen.examples, copied, strict=True):
            command = chosen.run_command(name, str(target))
            console.print(f"  {command}", markup=False, highlight=False, soft_wrap=True)
        return
    following = lessons[lessons.index(chosen) + 1] if chosen != lessons[-1] else None
    console.print(lesson_view(chosen, following))
    try:
        with Progress() as progress:
            progress.record_lesson(chosen.name)
    except StoreError as exc:
        _console(stderr=True).print(f"warning: not recorded as read: {exc.message}")


def _warn_broken(broken: Any, root: Path) -> None:
    """A line for each lesson, quiz or exercise left out for its problems, and where to look."""
    from rich.markup import escape

    console = _console()
    for bad in broken:
        console.print(f"[yellow]warning:[/] {escape(bad.summary())}", soft_wrap=True)
    if broken:
        console.print(f"  details and fixes: wsquiz validate {root}", markup=False)


@app.command("progress")
def progress_command(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    content: ContentOption = None,
) -> None:
    """Where you stand: lessons read, quiz answers, exercises passed, and what comes next."""
    from wsquiz.menu import build_menu, menu_to_dict
    from wsquiz.paths import content_root
    from wsquiz.render import progress_view
    from wsquiz.store import Progress

    try:
        root = content_root(content)
        with Progress() as progress:
            menu = build_menu(root, progress)
            store = progress.path
    except WsquizError as exc:
        fail(exc)
    if as_json:
        emit_json(menu_to_dict(menu, store))
        return
    _console().print(progress_view(menu))
    _console().print(f"[dim]kept in {store}[/]", markup=True)


@app.command()
def reset(
    quiz: Annotated[
        str | None, typer.Argument(help="forget only this quiz's answers; none: everything")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    content: ContentOption = None,
) -> None:
    """Start over: forget one quiz's answers, or all your progress."""
    from wsquiz.errors import UsageError
    from wsquiz.store import Progress

    console = _console()
    try:
        with Progress() as progress:
            if quiz is not None:
                recorded = len(progress.answers(quiz))
                known = _quiz_names(content)
                if quiz not in known and not recorded:
                    from wsquiz.names import choose_from

                    fix = choose_from(quiz, known, "quizzes")
                    raise UsageError(f"no quiz named {quiz!r}", fix=fix)
                what = f"your {recorded} answer(s) to quiz {quiz}"
            else:
                summary = progress.summary()
                recorded = sum(q.answered for q in summary.quizzes.values())
                recorded += len(summary.exercises) + len(summary.lessons)
                what = "all your progress (quiz answers, exercises, lessons read)"
            if not recorded:
                console.print("Nothing to reset: nothing is recorded yet.")
                return
            if not yes:
                try:
                    agreed = typer.confirm(f"Forget {what}?", default=False)
                except typer.Abort:  # no answer (input ended): a script without --yes
                    console.print("\nNothing reset: no answer (add --yes to reset without asking).")
                    raise typer.Exit(1) from None
                if not agreed:
                    console.print("Nothing reset.")
                    return
            progress.reset(quiz)
    except WsquizError as exc:
        fail(exc)
    console.print(f"Reset: forgot {what}.")


def _quiz_names(content: str | None) -> list[str]:
    try:
        from wsquiz.content import load_course
        from wsquiz.paths import content_root

        return [q.name for q in load_course(content_root(content)).quizzes]
    except (ImportError, WsquizError):
        return []


# ---- exercises: wsquiz exercise list|start|verify, wsquiz check ---------------------------

exercise_app = typer.Typer(
    help="Exercises: write an endpoint, then check it against a live reference solution.",
    no_args_is_help=True,
)
app.add_typer(exercise_app, name="exercise")


@exercise_app.command("list")
def exercise_list(
    content: ContentOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """The exercises, in order, with what you scored on each."""
    from wsquiz.exercises import load_exercise_set
    from wsquiz.menu import in_course_order
    from wsquiz.paths import content_root

    try:
        root = content_root(content)
        found = load_exercise_set(root)
        by_name = {e.name: e for e in found.exercises}
        exercises = [by_name[name] for name in in_course_order(root, "exercise", list(by_name))]
    except WsquizError as exc:
        fail(exc)
    if as_json:
        emit_json({"exercises": [{"name": e.name, "title": e.title} for e in exercises]})
        return
    from rich.table import Table

    done = _exercise_progress()
    table = Table(box=None, pad_edge=False)
    for column in ("#", "name", "title", "points", "you"):
        table.add_column(column)
    for number, exercise in enumerate(exercises, 1):
        row = done.get(exercise.name)
        status = (
            "-" if row is None else ("passed" if row.passed else f"{row.score:g}/{row.max_score:g}")
        )
        table.add_row(str(number), exercise.name, exercise.title, str(exercise.max_score), status)
    console = _console()
    console.print(table)
    console.print("start one: wsquiz exercise start NAME", style="dim")
    _warn_broken(found.broken, root)


def _exercise_progress() -> dict[str, Any]:
    try:
        from wsquiz.store import Progress

        with Progress(quiet=True) as progress:
            return dict(progress.exercises())
    except (ImportError, WsquizError):
        return {}


@exercise_app.command("start")
def exercise_start(
    name: Annotated[str, typer.Argument(help="the exercise (see wsquiz exercise list)")],
    directory: Annotated[Path, typer.Option("--dir", "-d", help="where to write NAME.py")] = Path(
        "."
    ),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
    content: ContentOption = None,
) -> None:
    """Write the exercise's starter file (with TODOs) as DIR/NAME.py and show the statement."""
    from wsquiz.errors import UsageError
    from wsquiz.exercises import find_exercise
    from wsquiz.paths import content_root

    try:
        exercise = find_exercise(name, content_root(content))
        if directory.expanduser().exists() and not directory.expanduser().is_dir():
            raise UsageError(
                f"--dir {directory} is a file, not a folder",
                fix=f"give --dir the folder to write {exercise.name}.py in (it is created)",
            )
        target = directory.expanduser() / f"{exercise.name}.py"
        if target.exists() and not force:
            raise UsageError(
                f"{target} already exists (your work?): not overwritten",
                fix=f"check it with `wsquiz check {target}`, or add --force to start over",
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(exercise.starter.read_text(encoding="utf-8"), encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"{target}: cannot write it ({exc.strerror})",
                fix="choose another folder with --dir",
            ) from None
    except WsquizError as exc:
        fail(exc)
    from wsquiz.feedback import statement_view

    console = _console()
    console.print(statement_view(exercise))
    console.print(f"wrote {target}: fill in its TODOs, then run", markup=False)
    console.print(
        f"  wsquiz check {target}          (add --watch to re-check on every save)", markup=False
    )


@exercise_app.command("verify")
def exercise_verify(
    content: ContentOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """For teachers: prove every exercise, live: valid, its solution passes, its starter fails."""
    from wsquiz.checking import prove
    from wsquiz.exercises import load_exercises, validate_exercises
    from wsquiz.lab import Lab
    from wsquiz.paths import content_root

    try:
        root = content_root(content)
        problems = validate_exercises(root)
        proofs = []
        if not problems:
            with Lab() as lab:
                proofs = [prove(exercise, lab) for exercise in load_exercises(root)]
    except WsquizError as exc:
        fail(exc)
    ok = not problems and all(p.ok for p in proofs)
    if as_json:
        emit_json(
            {
                "ok": ok,
                "problems": [str(p) for p in problems],
                "exercises": [
                    {"name": p.name, "ok": p.ok, "problems": list(p.problems)} for p in proofs
                ],
            }
        )
        raise typer.Exit(0 if ok else 1)
    from rich.markup import escape

    console = _console()
    for problem in problems:
        console.print(f"[red]problem:[/] {escape(str(problem))}", soft_wrap=True)
    for proof in proofs:
        if proof.ok:
            console.print(f"[green]ok[/]      {proof.name}: the solution passes, the starter fails")
        for issue in proof.problems:
            console.print(f"[red]bad[/]     {proof.name}: {escape(issue)}", soft_wrap=True)
    raise typer.Exit(0 if ok else 1)


@app.command()
def check(
    file: Annotated[str, typer.Argument(metavar="FILE", help="your app: path/app.py[:attr]")],
    exercise_name: Annotated[
        str | None,
        typer.Option("--exercise", "-e", help="the exercise (default: from the file's header)"),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="re-check on every save")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    content: ContentOption = None,
) -> None:
    """Check your endpoint live, against the exercise's reference solution, check by check.

    Exit 0 when every check passes, 1 when one fails (or the file does not load), 2 for
    unusable input. With --watch, on Ctrl-C: 0 when the last check passed, else 1.
    """
    from wsquiz.appfile import AppSpec
    from wsquiz.errors import UsageError
    from wsquiz.exercises import exercise_of_file, find_exercise
    from wsquiz.paths import content_root

    try:
        if watch and as_json:
            raise UsageError(
                "--watch and --json do not go together",
                fix="use --json for one run, --watch at the terminal",
            )
        spec = AppSpec.parse(file)
        root = content_root(content)
        name = exercise_name or exercise_of_file(spec.path)
        if name is None:  # `exercise start` names the file after the exercise
            name = spec.path.stem if spec.path.stem in _exercise_names(root) else None
        if name is None:
            raise UsageError(
                f"{spec.path}: which exercise does it answer? it has no header line",
                fix="add --exercise NAME, or make its first line `# wsquiz exercise: NAME`",
            )
        exercise = find_exercise(name, root)
    except WsquizError as exc:
        fail(exc)
    from wsquiz.lab import Lab

    with Lab() as lab:
        if not watch:
            raise typer.Exit(_check_once(exercise, spec, lab, as_json))
        raise typer.Exit(_watch(exercise, spec, lab))


def _exercise_names(root: Path) -> set[str]:
    from wsquiz.exercises import load_exercise_set

    try:
        found = load_exercise_set(root)
    except WsquizError:
        return set()
    return {e.name for e in found.exercises} | {b.name for b in found.broken}


def _check_once(exercise: Any, spec: Any, lab: Any, as_json: bool) -> int:
    from wsquiz.checking import run_checks

    if not as_json:
        from wsquiz.feedback import header_view

        _console().print(header_view(exercise, str(spec)))
    try:
        report = run_checks(exercise, spec, lab)
    except WsquizError as exc:
        fail(exc)
    try:
        from wsquiz.store import Progress

        with Progress() as progress:
            progress.record_exercise(exercise.name, report.passed, report.score, report.max_score)
    except (ImportError, WsquizError) as exc:
        _console(stderr=True).print(f"note: progress not saved: {exc}", style="yellow")
    if as_json:
        emit_json(report.to_dict())
    else:
        from wsquiz.feedback import report_view

        _console().print(report_view(report, exercise, header=False))
    return 0 if report.passed else 1


def _watch(exercise: Any, spec: Any, lab: Any) -> int:
    """Check, then re-check on every save of the file, until Ctrl-C; then the exit code of the
    last check (0 all passed, 1 otherwise: also when it was interrupted or the file is gone)."""
    import datetime

    from watchfiles import watch as watch_files

    console = _console()
    target = spec.path

    def saved(_: Any, path: str) -> bool:
        return bool(Path(path) == target)

    def stamp() -> tuple[int, int] | None:
        try:
            info = target.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    last = 1  # the file as saved now: a check interrupted before its report did not pass
    try:
        # Watch before the first check, so a save made while a check runs is not missed.
        changes = watch_files(
            target.parent,
            watch_filter=saved,
            rust_timeout=250,
            yield_on_timeout=True,
            recursive=False,
            raise_interrupt=True,
        )
        next(changes)
        while True:
            checked = stamp()
            last = 1
            if checked is not None:
                last = _check_once(exercise, spec, lab, as_json=False)
            else:
                console.print(f"{target} is gone: waiting for it to be saved again")
            console.print(
                f"watching {target.name}: save it to check again, Ctrl-C to stop", style="dim"
            )
            while not next(changes) and stamp() == checked:
                pass
            when = datetime.datetime.now().strftime("%H:%M:%S")
            console.rule(f"{target.name} saved at {when}: checking again")
    except KeyboardInterrupt:
        console.print("stopped watching")
    return last


@app.command()
def run(
    app_file: Annotated[
        str, typer.Argument(metavar="APP", help="path/app.py[:attr], or an example's name")
    ],
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
) -> None:
    """Serve APP and talk to it, like wscat: lines typed are sent, replies shown.

    Commands: /close [CODE [REASON]], /json VALUE, /bytes TEXT, /connect [PATH], /quit.
    Ctrl-D, Ctrl-C or /quit stop the server. Piped lines are sent one by one.
    """
    from wsquiz.errors import AppLoadError, UsageError
    from wsquiz.lab import Lab
    from wsquiz.paths import content_root
    from wsquiz.render import LivePrinter, load_error_view
    from wsquiz.session import HELP, Session, resolve_app

    interactive = sys.stdin.isatty()
    if interactive:
        import readline  # noqa: F401  (line editing and history for input())
    code = 0
    try:
        if not 0 <= wait <= 60:
            raise UsageError(f"--wait {wait:g}: give 0 to 60 seconds")
        headers = _headers(header)
        spec = resolve_app(app_file, content_root())
        printer = LivePrinter(_console(), spec.path.name, interactive)
        with Lab() as lab:
            session = Session(
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


# ---- grading a class (wsquiz grade, wsquiz autograder) -------------------------------------


def _grade_group() -> type:
    from typer.core import TyperGroup

    class GradeGroup(TyperGroup):
        """`wsquiz grade DIR ...` grades; `export` and `merge` are its subcommands."""

        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
                args = ["run", *args]
            return super().parse_args(ctx, args)

    return GradeGroup


grade_app = typer.Typer(
    name="grade",
    cls=_grade_group(),
    no_args_is_help=True,
    help="Grade a class: every submission checked live, results kept in a SQLite gradebook.\n\n"
    "`wsquiz grade DIR --exercise NAME` (or `--quiz NAME`) grades; "
    "`wsquiz grade export` and `wsquiz grade merge` work on gradebooks.",
)
app.add_typer(grade_app)

FORMAT_HELP = (
    "export format: csv, json or gradescope (default: by the --out file's suffix, .csv or "
    ".json); json and csv print to stdout without --out"
)


@grade_app.command("run")
def grade_run(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="one submission per student")],
    exercise: Annotated[str | None, typer.Option(help="grade code for this exercise")] = None,
    quiz: Annotated[str | None, typer.Option(help="grade answer sheets for this quiz")] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="students graded at once [default: cores]")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="the gradebook (SQLite) to write")] = None,
    resume: Annotated[
        bool,
        typer.Option(help="skip students whose submission is unchanged since it was graded"),
    ] = False,
    fmt: Annotated[str | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="where the export goes (gradescope: a folder, or FILE.json for one student)"
        ),
    ] = None,
    shard: Annotated[
        str | None, typer.Option(help="K/N: grade only the K-th of N shards of the students")
    ] = None,
    single: Annotated[
        bool, typer.Option("--single", help="DIR is one student's submission (Gradescope)")
    ] = False,
    student: Annotated[str | None, typer.Option(help="the student's name with --single")] = None,
    wall: Annotated[float, typer.Option(help="wall-clock seconds per check")] = 10.0,
    cpu: Annotated[int, typer.Option(help="CPU seconds per server")] = 10,
    memory: Annotated[int, typer.Option(help="MiB of memory per server")] = 512,
    content: Annotated[Path | None, typer.Option(help="a course folder")] = None,
) -> None:
    """Grade every submission in DIR: `wsquiz grade DIR --exercise NAME`."""
    import os

    from wsquiz import exports, grading
    from wsquiz.errors import UsageError
    from wsquiz.gradebook import Gradebook, default_path
    from wsquiz.lab import Limits
    from wsquiz.paths import content_root

    try:
        if (exercise is None) == (quiz is None):
            raise WsquizError(
                "say what to grade: --exercise NAME or --quiz NAME (one of them)",
                fix="e.g. wsquiz grade submissions/ --exercise echo-loop",
            )
        kind: Any = "exercise" if exercise else "quiz"
        name = exercise or quiz or ""
        if fmt is not None and fmt not in exports.FORMATS:
            raise UsageError(f"unknown --format {fmt!r}", fix="use csv, json or gradescope")
        if fmt is None and out is not None:
            fmt = exports.format_for(out)
        if not (0 < wall <= 600 and 0 < cpu <= 3600 and 16 <= memory <= 65536):
            raise UsageError(
                "limits out of range", fix="--wall 0-600 s, --cpu 1-3600 s, --memory 16-65536 MiB"
            )
        workers = jobs if jobs is not None else os.cpu_count() or 1
        if workers < 1:
            raise UsageError("--jobs must be at least 1")
        parts = grading.parse_shard(shard) if shard else None
        root = content_root(content) if content else None
        limits = Limits(wall_s=wall, cpu_s=cpu, memory_mb=memory)
        against = grading.fingerprint(kind, name, limits, root)
        if single:
            submissions = [grading.single(folder, kind, student)]
        else:
            submissions = grading.in_shard(grading.discover(folder, kind), parts)
        if fmt == "gradescope" and out is None:
            raise UsageError(
                "--format gradescope needs --out",
                fix="add --out results.json"
                if len(submissions) == 1
                else f"add --out results/ (one <student>.json for each of the {len(submissions)})",
            )
        if fmt is not None and out is not None:
            exports.check_out(fmt, out, len(submissions))  # refused now, not after grading
        book = Gradebook(db or default_path(kind, name, parts), kind, name)
    except WsquizError as exc:
        fail(exc)
    to_stdout = fmt is not None and out is None
    console = _console(stderr=to_stdout)
    with book:
        chosen = grading.select(submissions, book.graded(), resume, against)
        try:
            _grade_into(book, chosen.todo, kind, name, workers, wall, cpu, memory, root)
        except KeyboardInterrupt:
            graded = book.graded()
            count = sum(
                1
                for s in submissions
                if s.student in graded and graded[s.student].digest == s.digest
            )
            _console(stderr=True).print(
                f"interrupted: {count} of {len(submissions)} students are in {book.path}; "
                "run the same command with --resume to grade the rest",
                markup=False,
            )
            raise typer.Exit(130) from None
        except WsquizError as exc:
            fail(exc)
        wanted = {s.student for s in submissions}
        results = [r for r in book.results() if r.student in wanted]
    from wsquiz.gradeview import report

    title = f"{kind} {name}: {len(results)} students"
    console.print(
        report(results, title, len(chosen.skipped), chosen.changed, chosen.moved, chosen.renewed)
    )
    console.print(f"gradebook: {book.path}", markup=False)
    if fmt is None:
        return
    try:
        if out is None:
            data = (
                exports.to_csv(results)
                if fmt == "csv"
                else json.dumps(exports.to_json(results, kind, name), indent=2) + "\n"
            )
            sys.stdout.write(data)
            return
        written = exports.write(results, fmt, out, kind=kind, name=name)
    except WsquizError as exc:
        fail(exc)
    where = written[0] if len(written) == 1 else f"{len(written)} files in {out}"
    console.print(f"{fmt}: {where}", markup=False)


def _grade_into(
    book: Any,
    todo: list[Any],
    kind: Any,
    name: str,
    workers: int,
    wall: float,
    cpu: int,
    memory: int,
    root: Path | None,
) -> None:
    from wsquiz import grading
    from wsquiz.gradeview import progress
    from wsquiz.lab import Lab, Limits

    limits = Limits(wall_s=wall, cpu_s=cpu, memory_mb=memory)
    with Lab() as lab:
        assignment = grading.assignment_for(kind, name, lab, limits, root)
        if not todo:
            return
        with progress(_console(stderr=True)) as bar:
            task = bar.add_task("grading", total=len(todo), last="")
            for result in grading.run(lab, assignment, todo, workers):
                book.record(result)
                bar.update(
                    task, advance=1, last=f"{result.student}: {result.score:g}/{result.max_score:g}"
                )


@grade_app.command("export")
def grade_export(
    db: Annotated[Path, typer.Option(help="the gradebook to export")],
    fmt: Annotated[
        str | None, typer.Option("--format", help=FORMAT_HELP + "; json when neither is given")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="where the export goes")] = None,
) -> None:
    """Export a gradebook as csv, json, or Gradescope results.json files."""
    from wsquiz import exports
    from wsquiz.errors import UsageError
    from wsquiz.gradebook import Gradebook

    try:
        if fmt is None:
            fmt = exports.format_for(out) if out is not None else "json"
        if fmt not in exports.FORMATS:
            raise UsageError(f"unknown --format {fmt!r}", fix="use csv, json or gradescope")
        with Gradebook(db) as book:
            results, kind, name = book.results(), book.kind, book.name
        if out is None:
            if fmt == "gradescope":
                raise WsquizError("--format gradescope needs --out", fix="add --out DIR")
            text = (
                exports.to_csv(results)
                if fmt == "csv"
                else (json.dumps(exports.to_json(results, kind, name), indent=2) + "\n")
            )
            sys.stdout.write(text)
            return
        written = exports.write(results, fmt, out, kind=kind, name=name)
    except WsquizError as exc:
        fail(exc)
    _console().print(
        f"{fmt}: {len(results)} students written to {out} ({len(written)} files)", markup=False
    )


@grade_app.command("merge")
def grade_merge(
    sources: Annotated[list[Path], typer.Argument(metavar="DB...", help="shard gradebooks")],
    db: Annotated[Path, typer.Option(help="the merged gradebook to write")],
) -> None:
    """Merge the gradebooks of several shards (--shard K/N) into one."""
    from wsquiz.gradebook import merge

    try:
        merged = merge(list(sources), db)
    except WsquizError as exc:
        fail(exc)
    note = f" ({merged.replaced} graded twice: the latest kept)" if merged.replaced else ""
    _console().print(
        f"merged {len(sources)} gradebooks: {merged.students} students in {db}{note}",
        markup=False,
    )


@app.command()
def autograder(
    exercise: Annotated[str, typer.Option(help="the exercise the autograder grades")],
    out: Annotated[Path, typer.Option(help="folder to write setup.sh, run_autograder, zip")],
    install: Annotated[
        str | None,
        typer.Option(
            help="what setup.sh pip-installs instead of this wsquiz (shipped in the zip as a "
            "wheel): a requirement such as wsquiz==0.1.0, or a wheel file"
        ),
    ] = None,
    content: Annotated[Path | None, typer.Option(help="a course folder to ship")] = None,
) -> None:
    """Write a Gradescope autograder (setup.sh, run_autograder, autograder.zip)."""
    from wsquiz.autograder import build

    try:
        built = build(exercise, out, install=install, content=content)
    except WsquizError as exc:
        fail(exc)
    _console().print(f"autograder for {exercise}: {built.zip_path}", markup=False)
    _console().print(f"its setup.sh installs {built.installs}", markup=False)
    _console().print("upload that zip as the Gradescope autograder (see docs/grading.md)")


# ---- quizzes and content validation (wsquiz validate, wsquiz quiz) -------------------------------


@app.command()
def validate(
    directory: Annotated[
        Path | None,
        typer.Argument(metavar="DIR", help="the course folder (default: the one in use)"),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="also play every question against the installed server")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Check a course folder: every problem with file, question, key and fix. Exit 1 on any."""
    from wsquiz.content import Problem, load_quizzes
    from wsquiz.errors import UsageError
    from wsquiz.paths import content_root

    try:
        if directory is not None and not directory.expanduser().is_dir():
            exists = directory.expanduser().exists()
            raise UsageError(
                f"{directory} is a file: a course is a folder"
                if exists
                else f"{directory}: no such course folder",
                fix="give `wsquiz validate` the course folder, the one holding quizzes/, "
                "lessons/ and exercises/ (or nothing, for the course in use)",
            )
        root = content_root(directory)
    except WsquizError as exc:
        fail(exc)
    quizzes, problems = load_quizzes(root)
    problems += _other_problems(root)
    counts = {"quizzes": len(quizzes), "questions": sum(len(q.questions) for q in quizzes)}
    if live and quizzes:
        from wsquiz.judge import audit
        from wsquiz.lab import Lab
        from wsquiz.quiz import observe_all

        try:
            with Lab() as lab:
                for quiz in quizzes:
                    observed = observe_all(quiz, lab)
                    rel = _relative(quiz.path, root)
                    for question in quiz.questions:
                        problems += audit(question, observed[question.id], rel)
        except WsquizError as exc:
            fail(exc)
        counts["played"] = counts["questions"]
    if as_json:
        emit_json(
            {
                "root": str(root),
                "ok": not problems,
                **counts,
                "problems": [p.to_dict() for p in problems if isinstance(p, Problem)],
            }
        )
        raise typer.Exit(1 if problems else 0)
    console = _console()
    if problems:
        from wsquiz.render import problems_view

        console.print(problems_view(problems, str(root)), soft_wrap=True)
        raise typer.Exit(1)
    played = " and played live" if live else ""
    quizzes_n, questions_n = counts["quizzes"], counts["questions"]
    console.print(
        f"[green]ok:[/] {quizzes_n} quiz{'zes' if quizzes_n != 1 else ''}, "
        f"{questions_n} question{'s' if questions_n != 1 else ''} checked{played} in {root}",
        soft_wrap=True,
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _other_problems(root: Path) -> list[Any]:
    """Lessons' and exercises' own validation, where those parts provide it."""
    found: list[Any] = []
    try:
        from wsquiz.lessons import validate_lessons

        found += validate_lessons(root)
    except ImportError:
        pass
    try:
        from wsquiz.exercises import validate_exercises

        found += validate_exercises(root)
    except ImportError:
        pass
    return found


@app.command()
def quiz(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="the quiz to take (see --list)")
    ] = None,
    list_quizzes: Annotated[
        bool, typer.Option("--list", help="list the quizzes and their question ids")
    ] = False,
    key: Annotated[
        bool, typer.Option("--key", help="print the answer key, as the live server shows it now")
    ] = False,
    answers: Annotated[
        Path | None,
        typer.Option("--answers", metavar="FILE", help="answers from a JSON/TOML {id: answer}"),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option("--record", metavar="SHEET", help="also write the answer sheet for grading"),
    ] = None,
    no_save: Annotated[bool, typer.Option("--no-save", help="do not record progress")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    content: ContentOption = None,
) -> None:
    """Take a quiz: predict, then see a real server answer. Scriptable with --key and --answers."""
    from wsquiz.content import load_course
    from wsquiz.errors import UsageError
    from wsquiz.paths import content_root

    try:
        course = load_course(content_root(content))
        if list_quizzes or name is None:
            _list_quizzes(course, as_json)
            return
        chosen = course.quiz(name)
        if key and answers is not None:
            raise UsageError("--key and --answers do not go together", fix="use one of them")
        if as_json and not key and answers is None:
            raise UsageError(
                "--json needs --list, --key or --answers (the interactive quiz is not JSON)",
                fix=f"wsquiz quiz {chosen.name} --key --json",
            )
        if key:
            _print_key(chosen, as_json)
        elif answers is not None:
            _score_answers(chosen, answers, record, not no_save, as_json)
        else:
            _play(chosen, record, not no_save)
    except WsquizError as exc:
        fail(exc)


def _list_quizzes(course: Any, as_json: bool) -> None:
    from wsquiz.menu import in_course_order

    by_name = {q.name: q for q in course.quizzes}
    quizzes = [by_name[name] for name in in_course_order(course.root, "quiz", list(by_name))]
    if as_json:
        emit_json({"quizzes": [{"name": q.name, "questions": list(q.ids)} for q in quizzes]})
        return
    from rich.table import Table

    table = Table(title="quizzes", title_justify="left")
    table.add_column("name", style="bold")
    table.add_column("title")
    table.add_column("questions", justify="right")
    for q in quizzes:
        table.add_row(q.name, q.title, str(len(q.questions)))
    console = _console()
    console.print(table)
    console.print("take one: [bold]wsquiz quiz NAME[/]")
    _warn_broken(course.broken, course.root)


def _print_key(chosen: Any, as_json: bool) -> None:
    from wsquiz.lab import Lab
    from wsquiz.quiz import answer_key

    with Lab() as lab:
        found = answer_key(chosen, lab)
    if as_json:
        emit_json({"quiz": chosen.name, "questions": found})
        return
    from rich.table import Table

    table = Table(title=f"{chosen.name}: the key, observed live", title_justify="left")
    table.add_column("id", style="bold")
    table.add_column("answer")
    for row in found:
        table.add_row(row["id"], row["answer"])
    _console().print(table)


def _open_progress(save: bool) -> Any:
    if not save:
        return None
    from wsquiz.store import Progress

    return Progress(or_unsaved=True)


def _score_answers(
    chosen: Any, answers: Path, record: Path | None, save: bool, as_json: bool
) -> None:
    from wsquiz.lab import Lab
    from wsquiz.quiz import read_sheet, score, write_sheet

    sheet = read_sheet(answers)
    if sheet.quiz is not None and sheet.quiz != chosen.name:
        raise WsquizError(
            f"{answers}: this answer sheet is for quiz {sheet.quiz!r}, not {chosen.name!r}",
            fix=f"run wsquiz quiz {sheet.quiz} --answers {answers}",
        )
    progress = _open_progress(save)
    try:
        with Lab() as lab:
            report = score(chosen, sheet.answers, lab, progress)
    finally:
        if progress is not None:
            progress.close()
    if record is not None:
        write_sheet(record, chosen, sheet.answers, report)
    if as_json:
        emit_json(report.to_dict())
    else:
        from rich.table import Table

        table = Table(title=f"{chosen.name}: checked live", title_justify="left")
        table.add_column("id", style="bold")
        table.add_column("your answer")
        table.add_column("server")
        table.add_column("")
        for v in report.verdicts:
            mark = "[green]✔[/]" if v.correct else "[red]✘[/]"
            table.add_row(v.question, v.answer or "[dim](none)[/]", v.observed, mark)
        console = _console()
        console.print(table)
        console.print(f"score: {report.score}/{report.max_score}")
    raise typer.Exit(0 if report.passed else 1)


def _play(chosen: Any, record: Path | None, save: bool) -> None:
    from wsquiz.lab import Lab
    from wsquiz.quizmaster import play

    progress = _open_progress(save)
    console = _console()
    try:
        with Lab() as lab:
            given = play(chosen, lab, console, progress)
    finally:
        if progress is not None:
            progress.close()
    if record is not None:
        from wsquiz.quiz import write_sheet

        write_sheet(record, chosen, given, None)
        console.print(f"answer sheet written to {record}")


classroom_app = typer.Typer(
    help="A live class over WebSockets: the teacher hosts, students join, answers checked live.",
    no_args_is_help=True,
)
app.add_typer(classroom_app, name="classroom")


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
) -> None:
    """Host a class: print the join address and code, then show the live board.

    On the board, each key acts at once: Enter or n pushes the next question, p the previous,
    a number then Enter that question, r reveals the answers, e ends the session, q stops
    hosting (it resumes). Piped in, the same commands are read one a line.
    """
    from wsquiz.classroom_host import run_host

    try:
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

    from wsquiz.classroom_client import StudentClient
    from wsquiz.lab import Lab

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
    from wsquiz import exports
    from wsquiz.classroom_host import export_session

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


if __name__ == "__main__":
    main()
