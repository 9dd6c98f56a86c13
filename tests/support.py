"""Paths the tests share (the checkout, the bundled course's apps, the miniature course), and
the strict lesson loading that only the tests want (the product keeps a broken lesson apart)."""

from pathlib import Path

from wsquiz.course.lessons import Lesson, LessonSet, load_lesson_set
from wsquiz.errors import ContentError

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "quizzes" / "apps"
FIXTURE = ROOT / "tests" / "fixtures" / "course"


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
