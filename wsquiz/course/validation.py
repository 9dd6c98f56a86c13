"""Validation of a whole course folder, as `wsquiz validate` reports it: every quiz's, lesson's and
exercise's own problems, and the rules across them (a question comes after the lesson that
teaches it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wsquiz._support.names import did_you_mean, relative
from wsquiz.course.exercises import validate_exercises
from wsquiz.course.lessons import Lesson, load_lesson_set, validate_lessons
from wsquiz.course.order import course_order
from wsquiz.course.problems import Problem, quoted
from wsquiz.course.quizzes import Quiz, load_quizzes


@dataclass(frozen=True)
class CourseReport:
    """The quizzes that loaded (to be played live, with `--live`), and every problem."""

    root: Path
    quizzes: tuple[Quiz, ...]
    problems: tuple[Problem, ...]


def check_course(root: Path) -> CourseReport:
    """Every problem of the course at `root`, with file, place, key and fix."""
    quizzes, problems = load_quizzes(root)
    problems += validate_lessons(root)
    problems += validate_exercises(root)
    problems += order_problems(root, quizzes, load_lesson_set(root).outline)
    return CourseReport(root, tuple(quizzes), tuple(problems))


def validate_course(root: Path) -> list[Problem]:
    """Every problem of the course at `root` (`check_course` without the quizzes)."""
    return list(check_course(root).problems)


def order_problems(root: Path, quizzes: Sequence[Quiz], lessons: Sequence[Lesson]) -> list[Problem]:
    """A question names the lesson that teaches it (`lesson = "..."`): that lesson must come
    before the question's quiz in the course, or the learner is asked what nobody taught yet."""
    path = course_order(lessons, [quiz.name for quiz in quizzes], ())
    position = {key: index for index, key in enumerate(path)}
    names = [lesson.name for lesson in lessons]
    problems: list[Problem] = []
    for quiz in quizzes:
        rel = relative(quiz.path, root)
        for question in quiz.questions:
            if question.lesson is None:
                continue
            where = f"question {quoted(question.id)}"
            lesson = question.lesson.lower()
            if lesson not in names:
                problems.append(
                    Problem(
                        rel,
                        where,
                        "lesson",
                        f"no lesson named {quoted(question.lesson)}"
                        f"{did_you_mean(question.lesson, names)}",
                        f"the lessons are: {', '.join(names) or 'none'}",
                    )
                )
            elif position["lesson", lesson] > position["quiz", quiz.name]:
                problems.append(
                    Problem(
                        rel,
                        where,
                        "lesson",
                        f"its lesson {quoted(lesson)} comes after quiz {quoted(quiz.name)} in "
                        "the course: the learner would be asked before being taught",
                        f'link the quiz from that lesson or a later one (quiz = "{quiz.name}" '
                        "in its front matter), or move the question to a quiz that comes later",
                    )
                )
    return problems
