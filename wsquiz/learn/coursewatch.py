"""`wsquiz watch` without UI: the course's exercises in course order, the current one (the first
not passed), its file in the learner's folder (written from the starter when missing), checking
it and recording the result, and the lesson that links it.

The order and each exercise's state come from the course path (`learn.menu`), so watch, the
welcome screen and `wsquiz progress` agree on what is next.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wsquiz.errors import UsageError

if TYPE_CHECKING:
    from wsquiz.course.exercises import Exercise
    from wsquiz.course.lessons import Lesson
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.progress import Progress
    from wsquiz.learn.reports import CheckReport


@dataclass(frozen=True)
class WatchStep:
    """One exercise on the watch's path: its place, whether it was passed, its lesson."""

    exercise: Exercise
    number: int  # 1-based, in course order
    passed: bool
    lesson: str | None  # the lesson that links it (the last before it on the course path)


class CourseWatch:
    """The learner's way through the exercises of the course at `root`, files in `folder`."""

    def __init__(self, root: Path, folder: Path, progress: Progress) -> None:
        self.root = root
        self.folder = folder
        self.progress = progress
        self.steps = self._steps()
        if not self.steps:
            raise UsageError(
                f"{root}: this course has no exercises to watch",
                fix="a course's exercises live in exercises/NN-name/ (see docs/exercises.md)",
            )
        self.index = self._first_open()

    def _steps(self) -> list[WatchStep]:
        from wsquiz.course.exercises import load_exercises
        from wsquiz.learn.menu import build_menu

        menu = build_menu(self.root, self.progress)
        by_name = {e.name: e for e in load_exercises(self.root)}
        steps: list[WatchStep] = []
        lesson: str | None = None
        for item in menu.items:
            if item.kind == "lesson" and item.usable:
                lesson = item.name
            elif item.kind == "exercise" and item.name in by_name:
                steps.append(WatchStep(by_name[item.name], len(steps) + 1, item.done, lesson))
        return steps

    def _first_open(self) -> int:
        """The first exercise not passed, in course order (the last when all are)."""
        return next((i for i, s in enumerate(self.steps) if not s.passed), len(self.steps) - 1)

    @property
    def current(self) -> WatchStep:
        return self.steps[self.index]

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def passed(self) -> int:
        return sum(1 for s in self.steps if s.passed)

    @property
    def done(self) -> bool:
        return all(s.passed for s in self.steps)

    def file(self, step: WatchStep | None = None) -> Path:
        """Where the learner's answer to the exercise lives: NAME.py, as `exercise start` names
        it."""
        return self.folder / f"{(step or self.current).exercise.name}.py"

    def ensure_file(self) -> bool:
        """Write the current exercise's starter when the learner has no file yet (True then)."""
        target = self.file()
        if target.exists():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            starter = self.current.exercise.starter.read_text(encoding="utf-8")
            target.write_text(starter, encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"{target}: cannot write the starter ({exc.strerror})",
                fix="run wsquiz watch in a folder you can write to",
            ) from None
        return True

    def check(self, lab: Lab) -> CheckReport:
        """Check the current file live and record the result."""
        from wsquiz.engine.appfile import AppSpec
        from wsquiz.learn.checking import run_checks

        report = run_checks(self.current.exercise, AppSpec.parse(self.file()), lab)
        self.progress.record_exercise(
            self.current.exercise.name, report.passed, report.score, report.max_score
        )
        if report.passed:
            step = self.current
            self.steps[self.index] = WatchStep(step.exercise, step.number, True, step.lesson)
        return report

    def advance(self) -> WatchStep | None:
        """After a pass: on to the first exercise not passed after this one (then from the
        start); None when every exercise is passed."""
        if self.done:
            return None
        later = [i for i in range(self.index + 1, self.total) if not self.steps[i].passed]
        self.index = later[0] if later else self._first_open()
        return self.current

    def lesson(self) -> Lesson | None:
        """The lesson that links the current exercise, if any."""
        from wsquiz.course.lessons import load_lesson_set

        name = self.current.lesson
        if name is None:
            return None
        found = load_lesson_set(self.root)
        return next((lesson for lesson in found.lessons if lesson.name == name), None)
