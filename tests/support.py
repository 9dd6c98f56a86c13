"""What the tests share: the checkout's paths (the bundled course's apps, the miniature course),
reading output (`flat`), the real CLI, in-process (`invoke`) or in a terminal (`spawn`), and the
strict lesson loading that only the tests want (the product keeps a broken lesson apart)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pexpect

from wsquiz.course.lessons import Lesson, LessonSet, load_lesson_set
from wsquiz.errors import ContentError

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "quizzes" / "apps"
FIXTURE = ROOT / "tests" / "fixtures" / "course"

WSQUIZ = [sys.executable, "-m", "wsquiz"]
BORDERS = "│╭╮╰╯─┃┏┓┗┛━"


def flat(text: str) -> str:
    """Output as read: panel borders and line breaks gone, words joined by one space."""
    return " ".join("".join(" " if c in BORDERS else c for c in text).split())


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    """The real CLI in-process (typer's runner): its exit code and output; a crash fails."""
    from typer.testing import CliRunner

    from wsquiz.cli import app

    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def spawn(
    *args: str,
    cwd: Path | None = None,
    size: tuple[int, int] = (50, 100),
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> pexpect.spawn:
    """`wsquiz ARGS` in a real terminal of `size` (rows, columns), plain output."""
    import pexpect

    columns = size[1]
    environment = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": str(columns)}
    environment.update(env or {})
    return pexpect.spawn(
        WSQUIZ[0],
        [*WSQUIZ[1:], *args],
        cwd=str(cwd) if cwd else None,
        env=environment,
        encoding="utf-8",
        timeout=timeout,
        dimensions=size,
    )


def load_lessons(root: Path) -> tuple[Lesson, ...]:
    """Every lesson of the course at `root`, in order; ContentError on the first problem."""
    found = load_lesson_set(root)
    if found.broken:
        first = found.broken[0].problems[0]
        count = sum(len(b.problems) for b in found.broken)
        more = f" (and {count - 1} more)" if count > 1 else ""
        where = ": ".join(p for p in (first.file, first.where) if p)
        raise ContentError(
            f"{where}: {first.message}{more}",
            fix=first.fix or "run `wsquiz validate` to see every problem",
        )
    return found.lessons


def find_lesson(name: str, lessons: tuple[Lesson, ...]) -> Lesson:
    """A lesson by its name, its file stem (01-first-reply) or its number."""
    return LessonSet(ROOT, lessons).lesson(name)
