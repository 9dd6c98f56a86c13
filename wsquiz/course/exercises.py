"""Exercises: load and validate them from a course folder. The format is described in
docs/exercises.md; checking a learner's file against one is `checking.py`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import ValidationError

from wsquiz._support.names import guess
from wsquiz.course.exercisefile import Check, ExerciseFile, Expect
from wsquiz.course.problems import Broken, Problem
from wsquiz.course.schema import Loc, Place, located_problems
from wsquiz.errors import ContentError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

HEADER = re.compile(r"^#\s*wsquiz exercise:\s*([a-z0-9][a-z0-9-]*)\s*$", re.MULTILINE)
FOLDER = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)$")
FILES = ("exercise.toml", "starter.py", "solution.py")
DOCS = "docs/exercises.md"
# Part of the API of this module: what an exercise holds.
__all__ = ["Check", "Exercise", "ExerciseSet", "Expect"]


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    statement: str
    starter: Path
    solution: Path
    hint: str
    checks: tuple[Check, ...]
    endpoint: str = ""
    folder: Path | None = None
    serve: Literal["per-check", "once"] = "per-check"

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks)


# ---- loading ------------------------------------------------------------------------------


def exercises_dir(root: Path | None = None) -> Path:
    """The folder holding the exercise folders: `root/exercises`, or `root` itself."""
    from wsquiz._support.paths import content_root

    base = content_root(root) if root is None else Path(root)
    if (base / "exercises").is_dir():
        return base / "exercises"
    if any(base.glob("*/exercise.toml")):
        return base
    return base / "exercises"


def _folders(root: Path | None) -> list[tuple[int, str, Path]]:
    where = exercises_dir(root)
    if not where.is_dir():
        return []
    found = []
    for folder in where.iterdir():
        if not folder.is_dir() or folder.name.startswith((".", "_")):
            continue
        matched = FOLDER.match(folder.name)
        if matched:
            found.append((int(matched.group(1)), matched.group(2), folder))
        elif (folder / "exercise.toml").exists():
            found.append((sys.maxsize, folder.name, folder))
    return sorted(found, key=lambda item: (item[0], item[1]))


@dataclass(frozen=True)
class BrokenExercise(Broken):
    """An exercise folder with problems (its files named from the course folder)."""

    kind: ClassVar[str] = "exercise"
    plural: ClassVar[str] = "exercises"

    @property
    def folder(self) -> Path:
        return self.path


@dataclass(frozen=True)
class ExerciseSet:
    """The exercises of a course that can be used, and those left out for their problems."""

    root: Path
    exercises: tuple[Exercise, ...]
    broken: tuple[BrokenExercise, ...] = ()


def load_exercise_set(root: Path | None = None) -> ExerciseSet:
    """The exercises of the course, in order. An exercise with a problem is left out and listed
    in `broken`: one mistake in one folder does not take the other exercises away."""
    base = _course(root)
    exercises = []
    broken = []
    for _, name, folder in _folders(root):
        if not (folder / "exercise.toml").is_file():
            continue  # not (yet) an exercise: `wsquiz exercise verify` says so
        exercise, problems = _load(folder, name)
        if problems:
            shown = tuple(replace(p, file=_relative(p.file, base)) for p in problems)
            broken.append(BrokenExercise(name, folder, shown))
        elif exercise is not None:
            exercises.append(exercise)
    return ExerciseSet(base, tuple(exercises), tuple(broken))


def load_exercises(root: Path | None = None) -> tuple[Exercise, ...]:
    """Every exercise of the course, in order. Raises ContentError at the first problem."""
    exercises = []
    for _, name, folder in _folders(root):
        if not (folder / "exercise.toml").is_file():
            continue  # not (yet) an exercise: `wsquiz exercise verify` says so
        exercise, problems = _load(folder, name)
        if problems:
            first = problems[0]
            raise ContentError(f"{first.file}: {first.where}: {first.message}", fix=first.fix)
        assert exercise is not None
        exercises.append(exercise)
    return tuple(exercises)


def find_exercise(name: str, root: Path | None = None) -> Exercise:
    """An exercise by its name (case-insensitive: `Echo-Loop` is echo-loop)."""
    wanted = name.strip().lower()
    for _, found, folder in _folders(root):
        if found.lower() == wanted:
            exercise, problems = _load(folder, found)
            if problems:
                base = _course(root)
                shown = tuple(replace(p, file=_relative(p.file, base)) for p in problems)
                raise BrokenExercise(found, folder, shown).error(base)
            assert exercise is not None
            return exercise
    from wsquiz.course.order import in_course_order

    names = in_course_order(_course(root), "exercise", [n for _, n, _ in _folders(root)])
    available = ", ".join(names) or "none"
    raise UsageError(
        f"no exercise named {name!r} (available: {available})",
        fix=f"{guess(name, names)}see `wsquiz exercise list`",
    )


def _course(root: Path | None) -> Path:
    """The course folder, which the problems' files are named from."""
    from wsquiz._support.paths import content_root

    return (Path(root) if root is not None else content_root()).resolve()


def exercise_of_file(path: Path) -> str | None:
    """The exercise a learner's file answers, from its header line `# wsquiz exercise: NAME`."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = "".join(handle.readline() for _ in range(10))
    except OSError:
        return None
    matched = HEADER.search(head)
    return matched.group(1) if matched else None


def validate_exercises(root: Path | None = None) -> list[Problem]:
    """Every problem in the course's exercises: file, where, key, message and fix."""
    problems: list[Problem] = []
    names: dict[str, Path] = {}
    for _, name, folder in _folders(root):
        if name in names:
            problems.append(
                Problem(
                    str(folder),
                    "folder",
                    "name",
                    f"two exercises are named {name!r} ({names[name].name} and {folder.name})",
                    "rename one of the folders",
                )
            )
        names[name] = folder
        problems += _load(folder, name)[1]
    # named from the course folder, as the quizzes' and lessons' problems are
    base = _course(root)
    return [replace(p, file=_relative(p.file, base)) for p in problems]


def _relative(file: str, base: Path) -> str:
    try:
        return Path(file).resolve().relative_to(base).as_posix()
    except (ValueError, OSError):
        return file


def _load(folder: Path, name: str) -> tuple[Exercise | None, list[Problem]]:
    """An exercise folder, and its problems (files named as given; callers make them relative)."""
    toml_path = folder / "exercise.toml"
    missing = [
        Problem(
            str(folder),
            "",
            needed,
            f"{needed} is missing",
            f"an exercise folder holds {', '.join(FILES)}",
        )
        for needed in FILES
        if not (folder / needed).is_file()
    ]
    if missing:
        return None, missing
    file = str(toml_path)
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [
            Problem(file, "file", "", f"cannot read it ({exc})", "make it a readable UTF-8 file")
        ]
    except tomllib.TOMLDecodeError as exc:
        return None, [
            Problem(
                file, "file", "", f"not valid TOML: {exc}", "correct the TOML syntax at that line"
            )
        ]
    problems: list[Problem] = []
    parsed: ExerciseFile | None = None
    try:
        parsed = ExerciseFile.model_validate(
            data, context={"folder": folder.name, "name": name, "clients": None}
        )
    except ValidationError as exc:
        problems += located_problems(exc, ExerciseFile, file, _placer(data), docs=DOCS)
    header = exercise_of_file(folder / "starter.py")
    if header != name:
        problems.append(
            Problem(
                str(folder / "starter.py"),
                "line 1",
                "header",
                "the starter does not name its exercise"
                if header is None
                else f"the starter's header names {header!r}",
                f"make its first line `# wsquiz exercise: {name}`",
            )
        )
    if problems or parsed is None:
        return None, problems
    exercise = Exercise(
        name=name,
        title=parsed.title,
        statement=parsed.statement,
        starter=(folder / "starter.py").resolve(),
        solution=(folder / "solution.py").resolve(),
        hint=parsed.hint,
        checks=parsed.checks,
        endpoint=parsed.endpoint,
        folder=folder.resolve(),
        serve=parsed.serve,
    )
    return exercise, []


def _placer(data: Any) -> Place:
    """Errors inside a check are placed at `check "its-name"` (or `check N`), others at the
    top level."""
    checks = data.get("checks") if isinstance(data, dict) else None

    def place(loc: Loc) -> tuple[str, Loc]:
        if len(loc) >= 2 and loc[0] == "checks" and isinstance(loc[1], int):
            raw = checks[loc[1]] if isinstance(checks, list) and loc[1] < len(checks) else None
            named = raw.get("name") if isinstance(raw, dict) else None
            label = f"check {loc[1] + 1}" if not isinstance(named, str) else f'check "{named}"'
            return label, loc[2:] or ("checks",)
        return "top level", loc

    return place
