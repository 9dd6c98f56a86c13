"""`wsquiz exercise list|start|verify` and `wsquiz check` (once or `--watch`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wsquiz.cli._common import (
    App,
    ContentOption,
    WsOption,
    _console,
    _exercise_names,
    _warn_broken,
    emit_json,
    fail,
    use_stack,
)
from wsquiz.errors import WsquizError

exercise_app = App(
    help="Exercises: write an endpoint, then check it against a live reference solution.",
    no_args_is_help=True,
)


@exercise_app.command("list")
def exercise_list(
    content: ContentOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """The exercises, in order, with what you scored on each."""
    from wsquiz._support.paths import content_root
    from wsquiz.course.exercises import load_exercise_set
    from wsquiz.course.order import in_course_order

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

    from wsquiz.learn.menu import exercise_state

    done = _exercise_progress()
    table = Table(box=None, pad_edge=False)
    for column in ("#", "name", "title", "points", "you"):
        table.add_column(column)
    for number, exercise in enumerate(exercises, 1):
        row = done.get(exercise.name)
        status = "-" if row is None else exercise_state(row)
        table.add_row(str(number), exercise.name, exercise.title, str(exercise.max_score), status)
    console = _console()
    console.print(table)
    console.print("start one: wsquiz exercise start NAME", style="dim")
    _warn_broken(found.broken, root)


def _exercise_progress() -> dict[str, Any]:
    try:
        from wsquiz.learn.progress import Progress

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
    from wsquiz._support.paths import content_root
    from wsquiz.course.exercises import find_exercise
    from wsquiz.errors import UsageError

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
    from wsquiz.ui.check import statement_view

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
    from wsquiz._support.paths import content_root
    from wsquiz.course.exercises import load_exercises, validate_exercises
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.checking import prove

    try:
        root = content_root(content)
        problems = validate_exercises(root)
        proofs = []
        if not problems:
            use_stack()
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


def check(
    file: Annotated[str, typer.Argument(metavar="FILE", help="your app: path/app.py[:attr]")],
    exercise_name: Annotated[
        str | None,
        typer.Option("--exercise", "-e", help="the exercise (default: from the file's header)"),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="re-check on every save")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    content: ContentOption = None,
    ws: WsOption = "auto",
) -> None:
    """Check your endpoint live, against the exercise's reference solution, check by check.

    Exit 0 when every check passes, 1 when one fails (or the file does not load), 2 for
    unusable input. With --watch, on Ctrl-C: 0 when the last check passed, else 1.
    """
    from wsquiz._support.paths import content_root
    from wsquiz.course.exercises import exercise_of_file, find_exercise
    from wsquiz.engine.appfile import AppSpec
    from wsquiz.errors import UsageError

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
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.sandbox import missing_protections

    use_stack(ws)
    missing = missing_protections()
    if missing and not as_json:  # said once, quietly: it is the learner's own code
        _console(stderr=True).print(
            f"(your app runs sandboxed here without: {'; '.join(missing)})",
            style="dim",
            markup=False,
        )
    with Lab() as lab:
        if not watch:
            raise typer.Exit(_check_once(exercise, spec, lab, as_json))
        raise typer.Exit(_watch(exercise, spec, lab))


def _check_once(exercise: Any, spec: Any, lab: Any, as_json: bool) -> int:
    from wsquiz.learn.checking import run_checks

    if not as_json:
        from wsquiz.ui.check import header_view

        _console().print(header_view(exercise, str(spec)))
    try:
        report = run_checks(exercise, spec, lab)
    except WsquizError as exc:
        fail(exc)
    try:
        from wsquiz.learn.progress import Progress

        with Progress() as progress:
            progress.record_exercise(exercise.name, report.passed, report.score, report.max_score)
    except (ImportError, WsquizError) as exc:
        _console(stderr=True).print(f"note: progress not saved: {exc}", style="yellow")
    if as_json:
        emit_json(report.to_dict())
    else:
        from wsquiz.ui.check import report_view

        _console().print(report_view(report, exercise, header=False))
        if report.passed and exercise.folder is not None:
            from wsquiz.cli.learn import print_next

            folder = exercise.folder.parent  # exercises/, in a course or as the course
            print_next(
                "exercise", exercise.name, folder.parent if folder.name == "exercises" else folder
            )
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
