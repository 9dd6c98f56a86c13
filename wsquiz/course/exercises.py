"""Exercises: load and validate them from a course folder. The format is described in
docs/exercises.md; checking a learner's file against one is `checking.py`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from wsquiz._support.names import guess, unknown_key
from wsquiz.course.problems import Broken, Problem
from wsquiz.errors import ContentError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

if TYPE_CHECKING:
    from wsquiz.engine.scenario import Scenario

HEADER = re.compile(r"^#\s*wsquiz exercise:\s*([a-z0-9][a-z0-9-]*)\s*$", re.MULTILINE)
FOLDER = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)$")
SLUG = r"^[a-z0-9][a-z0-9-]*$"
FILES = ("exercise.toml", "starter.py", "solution.py")

Compare = Literal["reference", "ignore"]


@dataclass(frozen=True)
class Expect:
    """What a check compares between the learner's observation and the reference's."""

    replies: Compare | dict[str, tuple[str, ...]] = "reference"
    clients: tuple[str, ...] | None = None
    silent: tuple[str, ...] = ()
    handshake: Compare = "reference"
    close: Compare | int | dict[str, int] = "ignore"
    server_errors: Literal["reference", "none", "ignore"] = "ignore"
    concurrent: tuple[str, ...] = ()  # served at the same time: their messages interleave


@dataclass(frozen=True)
class Check:
    name: str
    points: int
    scenario: Scenario
    description: str = ""
    expect: Expect = field(default_factory=Expect)


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
    for _, found, folder in _folders(root):
        if found == name:
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


_TOP_KEYS = ("name", "title", "endpoint", "statement", "hint", "serve", "checks")
_CHECK_KEYS = ("name", "points", "description", "timeout", "scenario", "expect")
_EXPECT_KEYS = (
    "replies",
    "clients",
    "silent",
    "handshake",
    "close",
    "server_errors",
    "concurrent",
)


def _load(folder: Path, name: str) -> tuple[Exercise | None, list[Problem]]:
    toml_path = folder / "exercise.toml"
    file = str(toml_path)
    problems: list[Problem] = []

    def problem(where: str, key: str, message: str, fix: str) -> None:
        problems.append(Problem(file, where, key, message, fix))

    for needed in FILES:
        if not (folder / needed).is_file():
            problems.append(
                Problem(
                    str(folder),
                    "",
                    needed,
                    f"{needed} is missing",
                    f"an exercise folder holds {', '.join(FILES)}",
                )
            )
    if problems:
        return None, problems
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problem("file", "", f"cannot read it ({exc})", "make it a readable UTF-8 file")
        return None, problems
    except tomllib.TOMLDecodeError as exc:
        problem("file", "", f"not valid TOML: {exc}", "correct the TOML syntax at that line")
        return None, problems

    for key in data:
        if key not in _TOP_KEYS:
            problem("top level", key, *unknown_key(key, _TOP_KEYS))
    texts: dict[str, str] = {}
    for key in ("title", "statement", "hint", "endpoint", "name"):
        value = data.get(key, "")
        if not isinstance(value, str):
            problem("top level", key, f"{key!r} must be a string", f'write {key} = "..."')
            value = ""
        texts[key] = value.strip()
    for key in ("title", "statement"):
        if not texts[key]:
            problem("top level", key, f"{key!r} is missing", f'add {key} = "..."')
    if texts["name"] and texts["name"] != name:
        problem(
            "top level",
            "name",
            f"name {texts['name']!r} does not match the folder {folder.name!r}",
            f"write name = {name!r}, or rename the folder",
        )
    serve = data.get("serve", "per-check")
    if serve not in ("per-check", "once"):
        problem(
            "top level",
            "serve",
            f"serve = {serve!r} is not one of per-check, once",
            'write serve = "per-check" (a fresh server for every check) or "once"',
        )
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

    raw_checks = data.get("checks")
    checks: list[Check] = []
    if not isinstance(raw_checks, list) or not raw_checks:
        problem("top level", "checks", "no checks", "add at least one [[checks]] table")
    else:
        seen: set[str] = set()
        for index, raw in enumerate(raw_checks, 1):
            check = _check(raw, index, seen, problem)
            if check is not None:
                checks.append(check)
    if problems:
        return None, problems
    exercise = Exercise(
        name=name,
        title=texts["title"],
        statement=texts["statement"],
        starter=(folder / "starter.py").resolve(),
        solution=(folder / "solution.py").resolve(),
        hint=texts["hint"],
        checks=tuple(checks),
        endpoint=texts["endpoint"],
        folder=folder.resolve(),
        serve=serve,
    )
    return exercise, problems


def _check(raw: Any, index: int, seen: set[str], problem: Any) -> Check | None:
    from pydantic import ValidationError

    from wsquiz.engine.scenario import Scenario

    where = f"check {index}"
    if not isinstance(raw, dict):
        problem(where, "checks", "a check must be a table", "write it as [[checks]]")
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not re.match(SLUG, name):
        problem(
            where,
            "name",
            "a check needs a name (lowercase letters, digits, -)",
            'add name = "what-it-checks"',
        )
        return None
    where = f'check "{name}"'
    if name in seen:
        problem(where, "name", f"two checks are named {name!r}", "give each check its own name")
    seen.add(name)
    bad = False
    for key in raw:
        if key not in _CHECK_KEYS:
            problem(where, key, *unknown_key(key, _CHECK_KEYS))
            bad = True
    points = raw.get("points", 1)
    if not isinstance(points, int) or isinstance(points, bool) or points < 0:
        problem(where, "points", "points must be a whole number >= 0", "write points = 1")
        bad = True
    timeout = raw.get("timeout")
    steps = raw.get("scenario")
    if not isinstance(steps, list) or not steps:
        problem(where, "scenario", "no scenario", 'add scenario = [{ connect = "/ws" }, ...]')
        return None
    try:
        scenario = Scenario.from_steps(steps, timeout=timeout)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        loc = loc.replace("steps.", "step ", 1)
        problem(
            where,
            "scenario",
            f"{loc}: {first['msg']}",
            "see docs/exercises.md for the steps (connect, send, receive, close, ...)",
        )
        return None
    expect = _expect(raw.get("expect", {}), where, scenario, problem)
    if expect is None or bad:
        return None
    description = raw.get("description", "")
    return Check(
        name=name,
        points=points,
        scenario=scenario,
        description=description if isinstance(description, str) else "",
        expect=expect,
    )


def _expect(raw: Any, where: str, scenario: Scenario, problem: Any) -> Expect | None:
    if not isinstance(raw, dict):
        problem(where, "expect", "expect must be a table", 'write expect = { silent = ["b"] }')
        return None
    ok = True
    for key in raw:
        if key not in _EXPECT_KEYS:
            problem(where, f"expect.{key}", *unknown_key(key, _EXPECT_KEYS))
            ok = False
    clients = set(scenario.clients)

    def names(key: str, value: Any) -> tuple[str, ...] | None:
        nonlocal ok
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problem(
                where,
                f"expect.{key}",
                f"{key} must be a list of client names",
                f'write {key} = ["alice"]',
            )
            ok = False
            return None
        unknown = [v for v in value if v not in clients]
        if unknown:
            problem(
                where,
                f"expect.{key}",
                f"no client named {unknown[0]!r} in the scenario "
                f"(its clients: {', '.join(sorted(clients))})",
                "name a client that connects in the scenario",
            )
            ok = False
        return tuple(value)

    def choice(key: str, allowed: tuple[str, ...], default: str) -> str:
        nonlocal ok
        value = raw.get(key, default)
        if value not in allowed:
            problem(
                where,
                f"expect.{key}",
                f"{key} = {value!r} is not one of {allowed}",
                f'write {key} = "{default}"',
            )
            ok = False
            return default
        return str(value)

    replies: Any = raw.get("replies", "reference")
    if isinstance(replies, dict):
        names("replies", list(replies))
        if not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in replies.values()
        ):
            problem(
                where,
                "expect.replies",
                "exact replies are lists of strings per client",
                'write replies = { client = ["Echo: hi"] }',
            )
            ok = False
        replies = {k: tuple(v) for k, v in replies.items()} if ok else "reference"
    elif replies not in ("reference", "ignore"):
        problem(
            where,
            "expect.replies",
            f"replies = {replies!r} is not understood",
            'write replies = "reference" (or a table of exact lists per client)',
        )
        ok = False
    close: Any = raw.get("close", "ignore")
    if isinstance(close, dict):
        names("close", list(close))
        if not all(isinstance(v, int) for v in close.values()):
            problem(where, "expect.close", "close codes are integers", "write close = 1000")
            ok = False
    elif not (close in ("reference", "ignore") or isinstance(close, int)):
        problem(
            where,
            "expect.close",
            f"close = {close!r} is not understood",
            'write close = "reference", or a code such as 1000',
        )
        ok = False
    only = names("clients", raw["clients"]) if "clients" in raw else None
    silent = names("silent", raw.get("silent", [])) or ()
    concurrent = names("concurrent", raw.get("concurrent", [])) or ()
    if concurrent and len(set(concurrent)) < 2:
        problem(
            where,
            "expect.concurrent",
            "concurrent names at least two clients (those served at the same time)",
            'write concurrent = ["first", "second"]',
        )
        ok = False
    handshake = choice("handshake", ("reference", "ignore"), "reference")
    errors = choice("server_errors", ("reference", "none", "ignore"), "ignore")
    if not ok:
        return None
    return Expect(
        replies=replies,
        clients=only,
        silent=silent,
        handshake=handshake,  # type: ignore[arg-type]
        close=close,
        server_errors=errors,  # type: ignore[arg-type]
        concurrent=concurrent,
    )
