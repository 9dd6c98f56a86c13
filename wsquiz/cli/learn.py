"""The learner's commands: the welcome screen, `learn` (a long lesson paged, its ending drawn
from the course order), `progress`, `reset`; `validate` for teachers; and `print_next`, the
"next" line that other commands print after a finished step."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wsquiz.cli._common import (
    ContentOption,
    WsOption,
    _console,
    _content_defaults,
    _quiz_names,
    _relative,
    _warn_broken,
    app,
    emit_json,
    fail,
    use_stack,
)
from wsquiz.errors import WsquizError

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from wsquiz.course.order import Kind
    from wsquiz.learn.menu import Menu
    from wsquiz.ui.course import LessonEnding


def _print_version(value: bool) -> None:
    if not value:
        return
    from wsquiz.cli._common import version_lines

    for line in version_lines():
        typer.echo(line)
    raise typer.Exit(0)


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
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="wsquiz's version, the server stack installed and the --ws auto picks",
        ),
    ] = False,
) -> None:
    """With no command: the welcome screen, your progress and what to do next."""
    if ctx.invoked_subcommand is not None:
        if content is not None:
            ctx.default_map = _content_defaults(ctx.command, content)
        return
    from wsquiz._support.paths import content_root
    from wsquiz.learn.menu import build_menu
    from wsquiz.learn.progress import Progress
    from wsquiz.ui.course import welcome_view

    try:
        root = content_root(content)
        with Progress(or_unsaved=True) as progress:
            menu = build_menu(root, progress)
    except WsquizError as exc:
        fail(exc)
    _console().print(welcome_view(menu))


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
    from wsquiz._support.paths import content_root
    from wsquiz.course.lessons import copy_examples, load_lesson_set
    from wsquiz.errors import StoreError
    from wsquiz.learn.menu import build_menu
    from wsquiz.learn.progress import Progress
    from wsquiz.ui.course import LessonEnding, lesson_view, lessons_table

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
    ending = LessonEnding()
    try:
        with Progress() as progress:
            progress.record_lesson(chosen.name)
            ending = lesson_ending(build_menu(root, progress), chosen.name)
    except StoreError as exc:
        _console(stderr=True).print(f"warning: not recorded as read: {exc.message}")
    show_lesson(console, lesson_view(chosen, ending))


def lesson_ending(menu: Menu, name: str) -> LessonEnding:
    """What the end of lesson `name` points to, from the course order and the progress."""
    from wsquiz.learn.menu import following, next_after, next_lesson, unfinished_before
    from wsquiz.ui.course import LessonEnding

    return LessonEnding(
        steps=tuple(following(menu, "lesson", name)),
        next=next_after(menu, "lesson", name),
        behind=unfinished_before(menu, "lesson", name),
        next_lesson=next_lesson(menu, name),
    )


def show_lesson(console: Console, view: RenderableType) -> None:
    """A lesson taller than the terminal goes through a pager when a person reads it
    interactively (Rich's pager, `$PAGER` or less); piped, it is printed as it is."""
    height = console.size.height
    if console.is_terminal and console.is_interactive:
        lines = console.render_lines(view, pad=False)
        if len(lines) > height:
            with console.pager(styles=True):
                console.print(view)
            return
    console.print(view)


def progress_command(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    content: ContentOption = None,
) -> None:
    """Where you stand: lessons read, quiz answers, exercises passed, and what comes next."""
    from wsquiz._support.paths import content_root
    from wsquiz.learn.menu import build_menu, menu_to_dict
    from wsquiz.learn.progress import Progress
    from wsquiz.ui.course import progress_view

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


def reset(
    quiz: Annotated[
        str | None, typer.Argument(help="forget only this quiz's answers; none: everything")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
    content: ContentOption = None,
) -> None:
    """Start over: forget one quiz's answers, or all your progress."""
    from wsquiz.errors import UsageError
    from wsquiz.learn.progress import Progress

    console = _console()
    try:
        with Progress() as progress:
            if quiz is not None:
                known = _quiz_names(content)
                quiz = next((name for name in known if name.lower() == quiz.lower()), quiz)
                recorded = len(progress.answers(quiz))
                if quiz not in known and not recorded:
                    from wsquiz._support.names import choose_from

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


def validate(
    directory: Annotated[
        Path | None,
        typer.Argument(metavar="DIR", help="the course folder (default: the one in use)"),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="also play every question against the installed server")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    ws: WsOption = "auto",
    record: Annotated[
        Path | None,
        typer.Option(
            "--record", metavar="FILE", help="with --live: write every observed answer and claim"
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            metavar="FILE",
            help="with --live: list what changed since FILE (a --record); exit 1 if any",
        ),
    ] = None,
) -> None:
    """Check a course folder: every problem with file, question, key and fix. Exit 1 on any."""
    from wsquiz._support.paths import content_root
    from wsquiz.course.validation import check_course
    from wsquiz.errors import UsageError

    try:
        if (record or against) and not live:
            raise UsageError(
                "--record and --against need --live", fix="wsquiz validate --live --record FILE"
            )
        earlier = _read_record(against)
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
    report = check_course(root)
    quizzes, problems = report.quizzes, list(report.problems)
    counts = {"quizzes": len(quizzes), "questions": sum(len(q.questions) for q in quizzes)}
    rows: list[dict[str, Any]] = []
    if live and quizzes:
        use_stack(ws)
        from wsquiz.engine.lab import Lab
        from wsquiz.learn.drift import question_record
        from wsquiz.learn.judge import audit
        from wsquiz.learn.quiz import observe_all

        try:
            with Lab() as lab:
                for quiz in quizzes:
                    observed = observe_all(quiz, lab)
                    rel = _relative(quiz.path, root)
                    for question in quiz.questions:
                        problems += audit(question, observed[question.id], rel)
                        rows.append(question_record(quiz, question, observed[question.id]))
        except WsquizError as exc:
            fail(exc)
        counts["played"] = counts["questions"]
    drift = _drift(rows, record, earlier) if live else None
    if as_json:
        emit_json(
            {
                "root": str(root),
                "ok": not problems,
                **counts,
                "problems": [p.to_dict() for p in problems],
                **(drift or {}),
            }
        )
        raise typer.Exit(1 if problems or (drift or {}).get("changes") else 0)
    if drift is not None and "changes" in drift:
        from wsquiz.ui.drift import drift_view

        _console().print(drift_view(drift, str(against)), soft_wrap=True)
        if drift["changes"] and not problems:
            raise typer.Exit(1)
    console = _console()
    if problems:
        from wsquiz.ui.course import problems_view

        console.print(problems_view(problems, str(root)), soft_wrap=True)
        raise typer.Exit(1)
    played = " and played live" if live else ""
    quizzes_n, questions_n = counts["quizzes"], counts["questions"]
    console.print(
        f"[green]ok:[/] {quizzes_n} quiz{'zes' if quizzes_n != 1 else ''}, "
        f"{questions_n} question{'s' if questions_n != 1 else ''} checked{played} in {root}",
        soft_wrap=True,
    )


def _read_record(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from wsquiz.learn.drift import read_record

    return read_record(path)


def _drift(
    rows: list[dict[str, Any]], record: Path | None, earlier: dict[str, Any] | None
) -> dict[str, Any]:
    """`--record` and `--against`: the stack observed on, and what changed since the record."""
    from wsquiz.learn import drift

    now = drift.course_record(rows)
    if record is not None:
        drift.write_record(record, now)
    found: dict[str, Any] = {"stack": now["stack"]}
    if earlier is not None:
        before, after = drift.stacks_of(earlier, now)
        found["against"] = {"stack": before.to_dict(), "when": earlier.get("when")}
        found["stack_changes"] = [
            {"name": name, "old": old, "new": new} for name, old, new in before.changes(after)
        ]
        found["changes"] = [c.to_dict() for c in drift.compare(earlier, now)]
    return found


def print_next(kind: Kind, name: str, root: Path) -> None:
    """After a step is finished (a passing check): the first unfinished step after it in course
    order. Nothing when the progress cannot be read: the step itself went well."""
    from wsquiz.learn.menu import next_step
    from wsquiz.learn.progress import Progress
    from wsquiz.ui.course import step_text

    try:
        with Progress(quiet=True) as progress:
            found = next_step(root, progress, after=(kind, name))
    except WsquizError:
        return
    if found is not None:
        _console().print(step_text(found))
