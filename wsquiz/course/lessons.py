"""Lessons: `lessons/NN-slug.md`, Markdown with TOML front matter between `+++` lines.

    +++
    title = "The receive loop"
    examples = ["receive_loop"]     # each is lessons/examples/<name>.py
    quiz = "messages"               # optional: the quiz that goes with it
    exercises = ["echo-loop"]       # optional
    paths = { receive_loop = "/ws" }  # optional: where `wsquiz run NAME` connects (default /ws)
    +++

A line `@example NAME` in the text marks where that example (the exact file) is shown.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from wsquiz._support.names import choose_from, guess, relative, suggest, unknown_key
from wsquiz.course.problems import Broken, Problem
from wsquiz.engine.appfile import AppSpec
from wsquiz.errors import ContentError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

LESSONS = "lessons"
EXAMPLES = ("lessons/examples", "quizzes/apps")
FRONT = "+++"
NAME_RE = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)$")
EXAMPLE_RE = re.compile(r"^@example\s+(\S+)\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
DEFAULT_PATH = "/ws"
KEYS: dict[str, str] = {
    "title": "a short title, as text",
    "examples": "a list of example names, each lessons/examples/<name>.py",
    "quiz": "the name of the quiz that goes with the lesson",
    "exercises": "a list of exercise names",
    "paths": "a table: example name = the WebSocket path `wsquiz run` connects to",
}


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    path: Path
    body: str
    examples: dict[str, Path] = field(default_factory=dict)
    quiz: str | None = None
    exercises: tuple[str, ...] = ()
    paths: dict[str, str] = field(default_factory=dict)
    number: int = 0

    def run_path(self, example: str) -> str:
        return self.paths.get(example, DEFAULT_PATH)

    def run_command(self, example: str, app: str | None = None) -> str:
        """The command that runs `example` (or `app`, a copy of it), quoted for a shell."""
        path = self.run_path(example)
        option = f" --path {shlex.quote(path)}" if path != DEFAULT_PATH else ""
        return f"wsquiz run {shlex.quote(app or example)}{option}"

    def segments(self) -> list[tuple[str, str]]:
        """The body as ("markdown", text) and ("example", name) parts, in order.

        Examples declared in the front matter but never placed with `@example` come last.
        """
        parts: list[tuple[str, str]] = []
        text: list[str] = []
        fenced = False
        placed: set[str] = set()
        for line in self.body.splitlines():
            if FENCE_RE.match(line):
                fenced = not fenced
            found = None if fenced else EXAMPLE_RE.match(line)
            if found:
                if text:
                    parts.append(("markdown", "\n".join(text)))
                    text = []
                parts.append(("example", found.group(1)))
                placed.add(found.group(1))
            else:
                text.append(line)
        if "\n".join(text).strip():
            parts.append(("markdown", "\n".join(text)))
        parts += [("example", name) for name in self.examples if name not in placed]
        return parts


def lesson_files(root: Path) -> list[Path]:
    folder = root / LESSONS
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.md"), key=_order)


def _order(path: Path) -> tuple[int, str]:
    found = NAME_RE.match(path.stem)
    return (int(found.group(1)), path.stem) if found else (10**9, path.stem)


@dataclass(frozen=True)
class BrokenLesson(Broken):
    """A lesson file with problems."""

    kind: ClassVar[str] = "lesson"
    plural: ClassVar[str] = "lessons"

    number: int | None = None
    draft: Lesson | None = None  # what could be read of it, to keep its place in the course


@dataclass(frozen=True)
class LessonSet:
    """The lessons of a course that can be read, and those left out for their problems."""

    root: Path
    lessons: tuple[Lesson, ...]
    broken: tuple[BrokenLesson, ...] = ()

    @property
    def outline(self) -> tuple[Lesson, ...]:
        """Every lesson, broken ones too as far as they could be read, in course order: a
        mistake in one lesson leaves the quizzes and exercises it links in their place."""
        drafts = [b.draft for b in self.broken if b.draft is not None]
        return tuple(sorted((*self.lessons, *drafts), key=lambda lesson: _order(lesson.path)))

    def lesson(self, name: str) -> Lesson:
        """A lesson by its name, its file stem (01-first-reply) or its number."""
        for lesson in self.lessons:
            if _names_it(name, lesson.name, lesson.path.stem, lesson.number):
                return lesson
        for bad in self.broken:
            if _names_it(name, bad.name, bad.path.stem, bad.number):
                raise bad.error(self.root)
        raise _no_lesson(name, self.lessons, self.broken)


def load_lesson_set(root: Path) -> LessonSet:
    """The lessons of the course at `root`, in order. A lesson with a problem is left out and
    listed in `broken`: one mistake in one file does not take the other lessons away."""
    lessons: list[Lesson] = []
    broken: list[BrokenLesson] = []
    for path in lesson_files(root):
        lesson, problems = parse_lesson(path, root)
        taken = next((other for other in lessons if lesson and other.name == lesson.name), None)
        if taken is not None:
            problems.append(
                Problem(
                    relative(path, root),
                    "",
                    "",
                    f"lesson name {taken.name!r} is taken by {relative(taken.path, root)}",
                    "give each lesson its own slug",
                )
            )
        if problems:
            found = NAME_RE.match(path.stem)
            broken.append(
                BrokenLesson(
                    found.group(2) if found else path.stem,
                    path,
                    tuple(problems),
                    int(found.group(1)) if found else None,
                    lesson if taken is None else None,
                )
            )
        elif lesson is not None:
            lessons.append(lesson)
    return LessonSet(root, tuple(lessons), tuple(broken))


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


def parse_lesson(path: Path, root: Path) -> tuple[Lesson | None, list[Problem]]:
    shown = relative(path, root)
    problems: list[Problem] = []

    def problem(message: str, fix: str, key: str = "", where: str = "") -> None:
        problems.append(Problem(shown, where, key, message, fix))

    found = NAME_RE.match(path.stem)
    if not found:
        problem(
            "a lesson file is named NN-slug.md (a number, a dash, lowercase words with dashes)",
            f"rename it, e.g. lessons/10-{_slug(path.stem)}.md",
        )
        return None, problems
    number, name = int(found.group(1)), found.group(2)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem(f"cannot read it ({exc})", "save it as UTF-8 text")
        return None, problems
    lines = text.splitlines()
    if not lines or lines[0].strip() != FRONT:
        problem(
            "no front matter: the first line must be +++",
            'start the file with +++, then title = "...", then +++',
        )
        return None, problems
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == FRONT)
    except StopIteration:
        problem("the front matter is never closed", "add a line +++ after the front matter")
        return None, problems
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        problem(f"the front matter is not valid TOML: {exc}", "fix the TOML between the +++ lines")
        return None, problems
    body = "\n".join(lines[end + 1 :]).strip("\n") + "\n"

    for key in meta:
        if key not in KEYS:
            problem(
                *unknown_key(key, KEYS),
                key=key,
                where="front matter",
            )
    title = meta.get("title")
    # A misspelt `title` also leaves the title missing: the misspelling is the one problem.
    misspelt = any(suggest(key, KEYS) == "title" for key in meta if key not in KEYS)
    if not isinstance(title, str) or not title.strip():
        if not misspelt:
            problem(
                "title is missing or empty",
                'add title = "..." to the front matter',
                "title",
                "front matter",
            )
        title = name
    quiz = meta.get("quiz")
    if quiz is not None and (not isinstance(quiz, str) or not quiz):
        problem("quiz must be a quiz name, as text", KEYS["quiz"], "quiz", "front matter")
        quiz = None
    names = _names(meta, "examples", problem)
    exercises = _names(meta, "exercises", problem)
    paths = meta.get("paths", {})
    if not isinstance(paths, dict) or not all(
        isinstance(v, str) and v.startswith("/") for v in paths.values()
    ):
        problem(
            "paths must map example names to paths starting with /",
            KEYS["paths"],
            "paths",
            "front matter",
        )
        paths = {}
    for example in paths:
        if example not in names:
            problem(
                f"path given for {example!r}, which is not in examples",
                f"add {example!r} to examples, or remove it from paths",
                "paths",
                "front matter",
            )

    examples: dict[str, Path] = {}
    for example in names:
        try:
            examples[example] = find_example(example, root)
        except UsageError as exc:
            folders = " or ".join(f"{folder}/" for folder in EXAMPLES)
            problem(
                f"examples: no example named {example!r} in {folders}",
                exc.fix,
                "examples",
                "front matter",
            )
            continue
        problems += _example_problems(examples[example], root)
    fenced = False
    for line_no, line in enumerate(lines[end + 1 :], end + 2):
        if FENCE_RE.match(line):
            fenced = not fenced
        found_example = None if fenced else EXAMPLE_RE.match(line)
        if found_example and found_example.group(1) not in names:
            problem(
                f"@example {found_example.group(1)} is not in the front matter's examples",
                f'add "{found_example.group(1)}" to examples = [...]',
                where=f"line {line_no}",
            )
    lesson = Lesson(
        name=name,
        title=title.strip(),
        path=path,
        body=body,
        examples=examples,
        quiz=quiz,
        exercises=tuple(exercises),
        paths={str(k): str(v) for k, v in paths.items()},
        number=number,
    )
    return lesson, problems


def _names(meta: dict[str, Any], key: str, problem: Any) -> list[str]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problem(f"{key} must be a list of names", KEYS[key], key, "front matter")
        return []
    return list(value)


def _example_problems(path: Path, root: Path) -> list[Problem]:
    try:
        source = path.read_text(encoding="utf-8")
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        return [
            Problem(
                relative(path, root),
                f"line {exc.lineno}",
                "",
                f"SyntaxError: {exc.msg}",
                "an example must be a runnable app file",
            )
        ]
    except (OSError, UnicodeDecodeError) as exc:
        shown = relative(path, root)
        return [Problem(shown, "", "", f"cannot read it ({exc})", "save it as UTF-8")]
    if not re.search(r"^app\s*=", source, re.MULTILINE):
        return [
            Problem(
                relative(path, root),
                "",
                "",
                "defines no module-level `app`",
                "an example is an app file: app = FastAPI() at the top level",
            )
        ]
    return []


def validate_lessons(root: Path) -> list[Problem]:
    """Every problem of every lesson of the course at `root`, with file, key and a fix."""
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    quizzes = _stems(root / "quizzes", "*.toml")
    exercises = _stems(root / "exercises", "*")
    for path in lesson_files(root):
        lesson, found = parse_lesson(path, root)
        problems += found
        if lesson is None:
            continue
        shown = relative(path, root)
        if lesson.name in seen:
            problems.append(
                Problem(
                    shown,
                    "",
                    "",
                    f"lesson name {lesson.name!r} is taken by {relative(seen[lesson.name], root)}",
                    "give each lesson its own slug",
                )
            )
        seen[lesson.name] = path
        if lesson.quiz and lesson.quiz not in quizzes:
            problems.append(
                Problem(
                    shown,
                    "front matter",
                    "quiz",
                    f"no quiz named {lesson.quiz!r}",
                    _choices(lesson.quiz, quizzes, "quizzes/NN-<name>.toml"),
                )
            )
        for name in lesson.exercises:
            if name not in exercises:
                problems.append(
                    Problem(
                        shown,
                        "front matter",
                        "exercises",
                        f"no exercise named {name!r}",
                        _choices(name, exercises, "exercises/NN-<name>/"),
                    )
                )
    return problems


def _stems(folder: Path, pattern: str) -> list[str]:
    if not folder.is_dir():
        return []
    names = []
    for path in sorted(folder.glob(pattern), key=_order):
        stem = path.stem if path.is_file() else path.name
        found = NAME_RE.match(stem)
        if found and (path.is_file() or (path / "exercise.toml").exists()):
            names.append(found.group(2))
    return names


def _choices(name: str, available: list[str], where: str) -> str:
    close = suggest(name, available)
    if close:
        return f"did you mean {close!r}?"
    if available:
        return f"available: {', '.join(available)}"
    return f"add it as {where}"


def example_names(root: Path) -> list[str]:
    names: list[str] = []
    for folder in EXAMPLES:
        names += [p.stem for p in sorted((root / folder).glob("*.py")) if p.stem not in names]
    return names


def find_example(name: str, root: Path) -> Path:
    """The app file of an example: lessons/examples/NAME.py, else quizzes/apps/NAME.py."""
    stem = name[:-3] if name.endswith(".py") else name
    if stem and "/" not in stem and "\\" not in stem:
        for folder in EXAMPLES:
            candidate = root / folder / f"{stem}.py"
            if candidate.is_file():
                return candidate
    raise UsageError(
        f"no example named {name!r} in {root}",
        fix=choose_from(stem, example_names(root), "examples"),
    )


def copy_examples(lesson: Lesson, directory: Path, *, force: bool = False) -> list[Path]:
    """Write the lesson's example apps into `directory`, to be changed and run there.

    The course's own files stay as they are; an existing file is kept unless `force`.
    """
    targets = {name: directory / path.name for name, path in lesson.examples.items()}
    if not targets:
        raise UsageError(f"lesson {lesson.name!r} has no examples to copy")
    taken = [str(t) for t in targets.values() if t.exists()]
    if taken and not force:
        raise UsageError(
            f"{', '.join(taken)} already {'exists' if len(taken) == 1 else 'exist'} "
            "(your changes?): nothing copied",
            fix="choose another folder with --dir, or add --force to overwrite",
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, target in targets.items():
            target.write_bytes(lesson.examples[name].read_bytes())
    except OSError as exc:
        raise UsageError(
            f"{directory}: cannot copy the examples there ({exc.strerror or exc})",
            fix="choose another folder with --dir",
        ) from None
    return list(targets.values())


def find_lesson(name: str, lessons: tuple[Lesson, ...]) -> Lesson:
    """A lesson by its name, its file stem (01-first-reply) or its number."""
    for lesson in lessons:
        if _names_it(name, lesson.name, lesson.path.stem, lesson.number):
            return lesson
    raise _no_lesson(name, lessons, ())


def _names_it(name: str, slug: str, stem: str, number: int | None) -> bool:
    return name in (slug, stem) or (name.isdigit() and int(name) == number)


def _no_lesson(
    name: str, lessons: tuple[Lesson, ...], broken: tuple[BrokenLesson, ...]
) -> UsageError:
    numbers = sorted({lesson.number for lesson in lessons} | {b.number or 0 for b in broken} - {0})
    if name.isdigit() and numbers:
        if numbers == list(range(numbers[0], numbers[-1] + 1)):
            numbered = f"{numbers[0]} to {numbers[-1]}"
        else:
            numbered = ", ".join(map(str, numbers))
        return UsageError(
            f"no lesson numbered {int(name)}: the lessons are numbered {numbered}",
            fix="`wsquiz learn` lists them; read one with `wsquiz learn NUMBER` (or NAME)",
        )
    named = [(lesson.path, lesson.name) for lesson in lessons]
    named += [(bad.path, bad.name) for bad in broken]
    names = [name for _, name in sorted(named, key=lambda found: _order(found[0]))]
    return UsageError(f"no lesson named {name!r}", fix=choose_from(name, names, "lessons"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "lesson"


def app_or_example(text: str, root: Path) -> AppSpec:
    """`APP` of `wsquiz run`: a file (`path/app.py[:attr]`) or the name of a bundled example."""
    looks_like_path = "/" in text or text.endswith(".py") or ":" in text
    if looks_like_path or Path(text).exists():
        return AppSpec.parse(text)

    try:
        return AppSpec.parse(find_example(text, root))
    except UsageError:
        raise UsageError(
            f"{text!r} is neither a file nor the name of an example",
            fix=f"{guess(text, example_names(root))}give the path of a .py file, "
            "or an example's name (`wsquiz learn LESSON` shows each lesson's examples)",
        ) from None
