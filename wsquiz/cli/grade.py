"""`wsquiz grade` (run, export, merge) and `wsquiz autograder`."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from wsquiz.cli._common import App, WsOption, _console, fail, use_stack
from wsquiz.errors import WsquizError


def _grade_group() -> type:
    from typer.core import TyperGroup

    class GradeGroup(TyperGroup):
        """`wsquiz grade DIR ...` grades; `export` and `merge` are its subcommands."""

        def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
            if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
                args = ["run", *args]
            return super().parse_args(ctx, args)

    return GradeGroup


grade_app = App(
    name="grade",
    cls=_grade_group(),
    no_args_is_help=True,
    help="Grade a class: every submission checked live, results kept in a SQLite gradebook.\n\n"
    "`wsquiz grade DIR --exercise NAME` (or `--quiz NAME`) grades; "
    "`wsquiz grade export` and `wsquiz grade merge` work on gradebooks.",
)

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
    ws: WsOption = "auto",
) -> None:
    """Grade every submission in DIR: `wsquiz grade DIR --exercise NAME`."""
    from wsquiz.grading.resume import select

    use_stack(ws)
    try:
        plan = _plan(
            folder,
            exercise,
            quiz,
            jobs,
            fmt,
            out,
            shard,
            single,
            student,
            wall,
            cpu,
            memory,
            content,
        )
        book = _open_book(plan, db)
    except WsquizError as exc:
        fail(exc)
    console = _console(stderr=plan.fmt is not None and out is None)
    submissions = plan.submissions
    from wsquiz.engine.sandbox import missing_protections

    for missing in missing_protections():  # before grading: the instructor decides
        _console(stderr=True).print(f"warning: the sandbox lacks {missing}", markup=False)
    with book:
        chosen = select(submissions, book.graded(), resume, plan.against)
        try:
            _grade_into(book, chosen.todo, plan)
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
    from wsquiz.ui.grades import report

    title = f"{plan.kind} {plan.name}: {len(results)} students"
    console.print(
        report(results, title, len(chosen.skipped), chosen.changed, chosen.moved, chosen.renewed)
    )
    console.print(f"gradebook: {book.path}", markup=False)
    if plan.fmt is not None:
        _export(results, plan, out, console)


@dataclass(frozen=True)
class _Plan:
    """What `wsquiz grade` is asked to do, its options checked before anyone is graded."""

    kind: Any
    name: str
    fmt: str | None
    workers: int
    shard: tuple[int, int] | None
    root: Path | None
    limits: Any
    against: str  # the assignment's fingerprint (see grading.resume)
    submissions: list[Any]


def _plan(
    folder: Path,
    exercise: str | None,
    quiz: str | None,
    jobs: int | None,
    fmt: str | None,
    out: Path | None,
    shard: str | None,
    single: bool,
    student: str | None,
    wall: float,
    cpu: int,
    memory: int,
    content: Path | None,
) -> _Plan:
    import os

    from wsquiz._support.paths import content_root
    from wsquiz.engine.serving import Limits
    from wsquiz.errors import UsageError
    from wsquiz.grading import exports
    from wsquiz.grading.resume import fingerprint
    from wsquiz.grading.submissions import discover, in_shard, parse_shard
    from wsquiz.grading.submissions import single as one_submission

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
    parts = parse_shard(shard) if shard else None
    root = content_root(content) if content else None
    limits = Limits(wall_s=wall, cpu_s=cpu, memory_mb=memory, app_folder=False)
    against = fingerprint(kind, name, limits, root)
    if single:
        submissions = [one_submission(folder, kind, student)]
    else:
        submissions = in_shard(discover(folder, kind), parts)
    if fmt == "gradescope" and out is None:
        raise UsageError(
            "--format gradescope needs --out",
            fix="add --out results.json"
            if len(submissions) == 1
            else f"add --out results/ (one <student>.json for each of the {len(submissions)})",
        )
    if fmt is not None and out is not None:
        exports.check_out(fmt, out, len(submissions))  # refused now, not after grading
    return _Plan(kind, name, fmt, workers, parts, root, limits, against, submissions)


def _open_book(plan: _Plan, db: Path | None) -> Any:
    from wsquiz.grading.gradebook import Gradebook, default_path

    return Gradebook(db or default_path(plan.kind, plan.name, plan.shard), plan.kind, plan.name)


def _export(results: list[Any], plan: _Plan, out: Path | None, console: Any) -> None:
    """The export asked for with --format: to `out`, or to stdout."""
    from wsquiz.grading import exports

    try:
        if out is None:
            data = (
                exports.to_csv(results)
                if plan.fmt == "csv"
                else json.dumps(exports.to_json(results, plan.kind, plan.name), indent=2) + "\n"
            )
            sys.stdout.write(data)
            return
        written = exports.write(results, plan.fmt or "", out, kind=plan.kind, name=plan.name)
    except WsquizError as exc:
        fail(exc)
    where = written[0] if len(written) == 1 else f"{len(written)} files in {out}"
    console.print(f"{plan.fmt}: {where}", markup=False)


def _grade_into(book: Any, todo: list[Any], plan: _Plan) -> None:
    from wsquiz.engine.lab import Lab
    from wsquiz.engine.stack import current
    from wsquiz.grading.run import assignment_for, run
    from wsquiz.ui.grades import progress, progress_line

    with Lab() as lab:
        assignment = assignment_for(plan.kind, plan.name, lab, plan.limits, plan.root)
        book.record_stack(current().to_dict())
        if not todo:
            return
        with progress(_console(stderr=True)) as bar:
            task = bar.add_task("grading", total=len(todo), last="")
            for result in run(lab, assignment, todo, plan.workers):
                book.record(result)
                bar.update(task, advance=1, last=progress_line(result))


@grade_app.command("export")
def grade_export(
    db: Annotated[Path, typer.Option(help="the gradebook to export")],
    fmt: Annotated[
        str | None, typer.Option("--format", help=FORMAT_HELP + "; json when neither is given")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="where the export goes")] = None,
) -> None:
    """Export a gradebook as csv, json, or Gradescope results.json files."""
    from wsquiz.errors import UsageError
    from wsquiz.grading import exports
    from wsquiz.grading.gradebook import Gradebook

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
    from wsquiz.grading.gradebook import merge

    try:
        merged = merge(list(sources), db)
    except WsquizError as exc:
        fail(exc)
    note = f" ({merged.replaced} graded twice: the latest kept)" if merged.replaced else ""
    _console().print(
        f"merged {len(sources)} gradebooks: {merged.students} students in {db}{note}",
        markup=False,
    )


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
    from wsquiz.grading.autograder import build

    try:
        built = build(exercise, out, install=install, content=content)
    except WsquizError as exc:
        fail(exc)
    _console().print(f"autograder for {exercise}: {built.zip_path}", markup=False)
    _console().print(f"its setup.sh installs {built.installs}", markup=False)
    _console().print("upload that zip as the Gradescope autograder (see docs/grading.md)")
