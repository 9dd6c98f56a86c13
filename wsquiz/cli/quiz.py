"""`wsquiz quiz`: take a quiz interactively, list quizzes, print the live key,
score an answer file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wsquiz.cli._common import (
    ContentOption,
    WsOption,
    _console,
    _open_progress,
    _warn_broken,
    emit_json,
    fail,
    use_stack,
)
from wsquiz.errors import WsquizError


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
    retry_wrong: Annotated[
        bool,
        typer.Option("--retry-wrong", help="ask again only the questions not answered right"),
    ] = False,
    no_save: Annotated[bool, typer.Option("--no-save", help="do not record progress")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    content: ContentOption = None,
    ws: WsOption = "auto",
) -> None:
    """Take a quiz: predict, then see a real server answer. Scriptable with --key and --answers."""
    from wsquiz._support.paths import content_root
    from wsquiz.course.quizzes import load_course
    from wsquiz.errors import UsageError

    try:
        course = load_course(content_root(content))
        if list_quizzes or name is None:
            _list_quizzes(course, as_json)
            return
        chosen = course.quiz(name)
        use_stack(ws)
        if key and answers is not None:
            raise UsageError("--key and --answers do not go together", fix="use one of them")
        if retry_wrong and (key or answers is not None or no_save):
            raise UsageError(
                "--retry-wrong is for the interactive quiz, with progress saved",
                fix=f"wsquiz quiz {chosen.name} --retry-wrong",
            )
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
            _play(chosen, record, not no_save, retry_wrong)
    except WsquizError as exc:
        fail(exc)


def _list_quizzes(course: Any, as_json: bool) -> None:
    from wsquiz.course.order import in_course_order

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
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.stack import current
    from wsquiz.learn.quiz import answer_key

    with Lab() as lab:
        found = answer_key(chosen, lab)
    observed_on = current()
    if as_json:
        emit_json({"quiz": chosen.name, "questions": found, "stack": observed_on.to_dict()})
        return
    from rich.table import Table

    table = Table(title=f"{chosen.name}: the key, observed live", title_justify="left")
    table.add_column("id", style="bold")
    table.add_column("answer")
    for row in found:
        table.add_row(row["id"], row["answer"])
    table.caption = f"observed on {observed_on.text()}"
    _console().print(table)


def _score_answers(
    chosen: Any, answers: Path, record: Path | None, save: bool, as_json: bool
) -> None:
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.quiz import read_sheet, score, write_sheet

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
        keys = {v.question: v.observed for v in report.verdicts}
        write_sheet(record, chosen, sheet.answers, (report.score, report.max_score), keys=keys)
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


def _play(chosen: Any, record: Path | None, save: bool, retry_wrong: bool) -> None:
    from wsquiz.engine.lab import Lab
    from wsquiz.ui.quizmaster import play

    progress = _open_progress(save)
    console = _console()
    try:
        with Lab() as lab:
            session = play(chosen, lab, console, progress, retry_wrong)
    finally:
        if progress is not None:
            progress.close()
    if record is not None:
        from wsquiz.learn.quiz import write_sheet

        # each question's first answer: grading keeps first-try correctness
        attempts = {k: list(a.attempts) for k, a in session.asked.items()}
        shown = [k for k, a in session.asked.items() if a.shown]
        write_sheet(record, chosen, session.first_answers(), None, attempts, shown)
        console.print(f"answer sheet written to {record}")
