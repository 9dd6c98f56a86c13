"""The course as one path (lessons, quizzes, exercises in order) with the learner's progress on it.

Each lesson is followed by the exercises it links, and each quiz comes after the last lesson that
links it (a quiz asks about everything those lessons teach); content nobody links comes last.
"Next" is the first unfinished step on that path (`next_step`, `next_after`), and an exercise's
state reads the same everywhere (`exercise_state`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wsquiz.course.lessons import LessonSet, load_lesson_set
from wsquiz.course.order import Kind, course_order
from wsquiz.errors import WsquizError
from wsquiz.learn.progress import OUTCOMES, ExerciseRow, Progress, ProgressSummary


@dataclass(frozen=True)
class Item:
    kind: Kind
    name: str
    title: str
    done: bool
    started: bool
    status: str
    command: str
    total: int = 0
    answered: int = 0
    correct: int = 0
    usable: bool = True  # False: in the course, but with problems (`wsquiz validate` tells)


@dataclass(frozen=True)
class Menu:
    root: Path
    items: tuple[Item, ...]
    next: Item | None
    summary: ProgressSummary
    problems: tuple[str, ...] = ()

    @property
    def steps(self) -> int:
        """The steps a learner can take: a lesson with problems is shown, but is none."""
        return sum(1 for item in self.items if item.usable)

    @property
    def new(self) -> bool:
        return not any(item.started for item in self.items)

    def of(self, kind: Kind) -> list[Item]:
        return [item for item in self.items if item.kind == kind]


def build_menu(root: Path, progress: Progress) -> Menu:
    """Everything the welcome screen and `wsquiz progress` show. Content that does not load is
    reported in `problems`, not raised: the menu still shows the rest."""
    summary = progress.summary()
    problems: list[str] = []

    lessons = _lessons(root, problems)
    quizzes = _quizzes(root, progress, problems)
    exercises = _exercises(root, summary, problems)

    found: dict[tuple[str, str], Item] = {}
    for lesson in lessons.lessons:
        read = lesson.name in summary.lessons
        found["lesson", lesson.name] = Item(
            "lesson",
            lesson.name,
            lesson.title,
            read,
            read,
            "read" if read else "new",
            f"wsquiz learn {lesson.name}",
        )
    for bad in lessons.broken:  # shown in its place, so what it links stays under it
        title = bad.draft.title if bad.draft is not None and bad.draft.title else bad.path.name
        found["lesson", bad.name] = Item(
            "lesson",
            bad.name,
            title,
            False,
            False,
            "cannot be used",
            "wsquiz validate",
            usable=False,
        )
    found.update((("quiz", name), item) for name, item in quizzes.items())
    found.update((("exercise", name), item) for name, item in exercises.items())
    path = course_order(lessons.outline, list(quizzes), list(exercises))
    items = tuple(found[key] for key in path if key in found)
    return Menu(root, items, _next(items), summary, tuple(problems))


def next_after(menu: Menu, kind: Kind, name: str) -> Item | None:
    """Where the end of this step points: the first unfinished step after it in course order
    (then, the course ending, the first unfinished one from the start)."""
    keys = [(item.kind, item.name) for item in menu.items]
    start = keys.index((kind, name)) + 1 if (kind, name) in keys else 0
    later = _next(menu.items[start:], skip=(kind, name))
    return later or _next(menu.items, skip=(kind, name))


def unfinished_before(menu: Menu, kind: Kind, name: str) -> Item | None:
    """The first unfinished step before this one in course order: what a learner who went
    ahead left behind."""
    for item in menu.items:
        if (item.kind, item.name) == (kind, name):
            return None
        if not item.done and item.usable:
            return item
    return None


def next_step(root: Path, progress: Progress, after: tuple[Kind, str] | None = None) -> Item | None:
    """The first unfinished step of the course at `root` in course order, or the first after
    `after` (the step just taken): what the welcome screen, `progress`, the end of a lesson, a
    quiz and a passing check call "next"."""
    menu = build_menu(root, progress)
    return menu.next if after is None else next_after(menu, *after)


def _next(items: tuple[Item, ...], skip: tuple[str, str] | None = None) -> Item | None:
    """The first usable step not done yet, in course order: never one further on while an
    earlier one is unfinished, whatever was worked on last."""
    for item in items:
        if not item.done and item.usable and (item.kind, item.name) != skip:
            return item
    return None


def exercise_state(row: ExerciseRow | None) -> str:
    """An exercise's state in words, the same in the welcome screen, `progress` and `exercise
    list`: passed (ever: the best check), and the latest check's score when it differs."""
    if row is None:
        return "new"
    latest = f"{row.score:g}/{row.max_score:g} points"
    if row.ever_passed and row.passed:
        return "passed"
    if row.ever_passed:
        return f"passed (latest check: {latest})"
    return f"tried: {latest}"


def following(menu: Menu, kind: Kind, name: str) -> list[Item]:
    """The steps that come after this one up to the next lesson: what a lesson leads to."""
    keys = [(item.kind, item.name) for item in menu.items]
    if (kind, name) not in keys:
        return []
    found: list[Item] = []
    for item in menu.items[keys.index((kind, name)) + 1 :]:
        if item.kind == "lesson":
            break
        found.append(item)
    return found


def next_lesson(menu: Menu, name: str) -> Item | None:
    """The lesson after this one in course order."""
    lessons = menu.of("lesson")
    names = [item.name for item in lessons]
    index = names.index(name) if name in names else -1
    return lessons[index + 1] if 0 <= index < len(lessons) - 1 else None


def _one_line(message: str) -> str:
    """The welcome screen shows each problem on one line; `wsquiz validate` shows it all."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else message
    return f"{lines[0]} {lines[1]}" if lines[0].endswith(":") else lines[0]


def _lessons(root: Path, problems: list[str]) -> LessonSet:
    try:
        found = load_lesson_set(root)
    except WsquizError as exc:
        problems.append(_one_line(exc.message))
        return LessonSet(root, ())
    problems += [_one_line(bad.summary()) for bad in found.broken]
    return found


def _quizzes(root: Path, progress: Progress, problems: list[str]) -> dict[str, Item]:
    try:
        from wsquiz.course.quizzes import load_course

        course = load_course(root)
    except ImportError:
        return {}
    except WsquizError as exc:
        problems.append(_one_line(exc.message))
        return {}
    problems += [bad.summary() for bad in course.broken]
    found: dict[str, Item] = {}
    for quiz in course.quizzes:
        rows = progress.answers(quiz.name)
        ids = set(quiz.ids)
        answered = sum(1 for qid in rows if qid in ids)
        correct = sum(1 for qid, row in rows.items() if qid in ids and row.ever_correct)
        total = len(quiz.ids)
        done = total > 0 and answered >= total
        if answered == 0:
            status = f"new, {total} questions"
        else:
            status = f"{answered}/{total} answered, " + first_tries_text(
                progress.outcomes(quiz.name), ids
            )
        found[quiz.name] = Item(
            "quiz",
            quiz.name,
            quiz.title,
            done,
            answered > 0,
            status,
            f"wsquiz quiz {quiz.name}",
            total=total,
            answered=answered,
            correct=correct,
        )
    return found


def _exercises(root: Path, summary: ProgressSummary, problems: list[str]) -> dict[str, Item]:
    try:
        from wsquiz.course.exercises import load_exercise_set

        loaded = load_exercise_set(root)
    except (ImportError, SyntaxError):
        return {}
    except WsquizError as exc:
        problems.append(_one_line(exc.message))
        return {}
    problems += [_one_line(bad.summary()) for bad in loaded.broken]
    found: dict[str, Item] = {}
    for exercise in loaded.exercises:
        row = summary.exercises.get(exercise.name)
        status = exercise_state(row)
        found[exercise.name] = Item(
            "exercise",
            exercise.name,
            exercise.title,
            row is not None and row.ever_passed,
            row is not None,
            status,
            # `exercise start` writes NAME.py here; once tried, checking it again is the way on
            f"wsquiz check {exercise.name}.py" if row else f"wsquiz exercise start {exercise.name}",
        )
    return found


def first_tries_text(outcomes: Mapping[str, str], ids: set[str]) -> str:
    """`2 right first try, 1 after a retry, 1 shown`: a retry or a shown answer is not counted
    as right, so the welcome screen says what the quiz's summary says."""
    count = {k: sum(1 for q, o in outcomes.items() if q in ids and o == k) for k in OUTCOMES}
    said = f"{count['right_first_try']} right first try"
    if count["right_after_retry"]:
        said += f", {count['right_after_retry']} after a retry"
    if count["shown"]:
        said += f", {count['shown']} shown"
    return said


def quiz_counts(summary: ProgressSummary, name: str, total: int) -> dict[str, int]:
    """A quiz's questions by outcome: right_first_try, right_after_retry, shown, wrong and
    unanswered (see `progress.Outcome`)."""
    recorded = summary.quizzes.get(name)
    if recorded is None:
        return {**dict.fromkeys(OUTCOMES, 0), "unanswered": total}
    return recorded.counts(total)


def menu_to_dict(menu: Menu, store: Path | None = None) -> dict[str, object]:
    """The JSON of `wsquiz progress --json`."""

    def base(item: Item) -> dict[str, object]:
        return {"name": item.name, "title": item.title, "done": item.done, "status": item.status}

    exercises = []
    for item in menu.of("exercise"):
        row = menu.summary.exercises.get(item.name)
        exercises.append(
            {
                **base(item),
                "passed": bool(row and row.ever_passed),
                "passed_latest": bool(row and row.passed),
                "score": row.score if row else None,
                "max_score": row.max_score if row else None,
                "attempts": row.attempts if row else 0,
            }
        )
    return {
        "store": str(store) if store else None,
        "lessons": [{**base(i), "read": i.done} for i in menu.of("lesson")],
        "quizzes": [
            {
                **base(i),
                "questions": i.total,
                "answered": i.answered,
                "correct": i.correct,
                **quiz_counts(menu.summary, i.name, i.total),
            }
            for i in menu.of("quiz")
        ],
        "exercises": exercises,
        "next": (
            {"kind": menu.next.kind, "name": menu.next.name, "command": menu.next.command}
            if menu.next
            else None
        ),
    }
