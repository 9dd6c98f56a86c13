"""The course as one path: lessons in order, each followed by what it links."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from wsquiz.course.lessons import Lesson, load_lesson_set

Kind = Literal["lesson", "quiz", "exercise"]


def course_order(
    lessons: Sequence[Lesson], quizzes: Sequence[str], exercises: Sequence[str]
) -> list[tuple[Kind, str]]:
    """The course as one path: each lesson, the quizzes it is the last to link, the exercises it
    is the first to link; then, in their files' order, what no lesson links."""
    quiz_after: dict[str, str] = {}
    for lesson in lessons:
        if lesson.quiz:
            quiz_after[lesson.quiz] = lesson.name
    order: list[tuple[Kind, str]] = []
    for lesson in lessons:
        order.append(("lesson", lesson.name))
        order += [("quiz", name) for name in quizzes if quiz_after.get(name) == lesson.name]
        order += [("exercise", name) for name in lesson.exercises if name in exercises]
    order += [("quiz", name) for name in quizzes]
    order += [("exercise", name) for name in exercises]
    return list(dict.fromkeys(order))


def in_course_order(root: Path, kind: Kind, names: Sequence[str]) -> list[str]:
    """The quizzes' or exercises' `names` in the order the menu shows them."""
    outline = load_lesson_set(root).outline
    path = course_order(
        outline, names if kind == "quiz" else (), names if kind == "exercise" else ()
    )
    return [name for found, name in path if found == kind]
