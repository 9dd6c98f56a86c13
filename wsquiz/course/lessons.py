"""Lessons: `lessons/NN-slug.md`, Markdown with TOML front matter between `+++` lines; the front
matter's model (`FrontMatter`), loading every lesson of a course (a broken one kept apart, with its
problems), their validation, looking one up by name or number, and copying its examples.

    +++
    title = "The receive loop"
    examples = ["receive_loop"]     # each is lessons/examples/<name>.py
    quiz = "messages"               # optional: the quiz placed after it
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

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from wsquiz._support.names import choose_from, relative, suggest
from wsquiz.course.examples import EXAMPLES, example_problems, find_example
from wsquiz.course.problems import Broken, Problem
from wsquiz.course.schema import ContentModel, invalid, located_problems
from wsquiz.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

LESSONS = "lessons"
FRONT = "+++"
NAME_RE = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)$")
EXAMPLE_RE = re.compile(r"^@example\s+(\S+)\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
DEFAULT_PATH = "/ws"


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


class FrontMatter(ContentModel):
    """A lesson's front matter, the TOML between its `+++` lines."""

    title: str = Field("", validate_default=True, description="a short title, as text")
    examples: tuple[str, ...] = Field((), description="example names, lessons/examples/NAME.py")
    quiz: str | None = Field(None, description="the quiz that goes with the lesson")
    exercises: tuple[str, ...] = Field((), description="exercise names")
    paths: dict[str, str] = Field(
        default_factory=dict, description="example name = the path `wsquiz run` connects to"
    )

    @field_validator("title")
    @classmethod
    def _titled(cls, value: str) -> str:
        if not value.strip():
            raise invalid(
                "title is missing or empty", 'add title = "..." to the front matter', absent=True
            )
        return value.strip()

    @field_validator("quiz", "examples", "exercises")
    @classmethod
    def _named(cls, value: Any) -> Any:
        names = value if isinstance(value, tuple) else (value,)
        if any(not name for name in names if name is not None):
            raise invalid("a name cannot be empty", "write the name between the quotes")
        return value

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        if not all(path.startswith("/") for path in value.values()):
            raise invalid(
                "paths must map example names to paths starting with /",
                'write paths = { example = "/ws/path" }',
            )
        examples = info.data.get("examples", ())
        for example in value:
            if example not in examples:
                raise invalid(
                    f"path given for {example!r}, which is not in examples",
                    f"add {example!r} to examples, or remove it from paths",
                )
        return value


def _front_matter(meta: dict[str, Any], name: str, shown: str) -> tuple[FrontMatter, list[Problem]]:
    """The front matter, and its problems; with problems, what of it could be read (the keys
    without one), so that a broken lesson keeps what it links in its place in the course."""
    try:
        return FrontMatter.model_validate(meta), []
    except ValidationError as exc:
        problems = located_problems(exc, FrontMatter, shown, lambda loc: ("front matter", loc))
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
    readable = {key: value for key, value in meta.items() if key not in bad}
    try:
        return FrontMatter.model_validate({**readable, "title": readable.get("title", name)}), (
            problems
        )
    except ValidationError:
        return FrontMatter.model_validate({"title": name}), problems


def _split(text: str) -> tuple[dict[str, Any] | None, int, str]:
    """(front matter, the line its closing +++ is on, or the problem); front matter None: the
    problem is the message. Line numbers count from 0."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != FRONT:
        return None, 0, "no front matter: the first line must be +++"
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == FRONT)
    except StopIteration:
        return None, 0, "the front matter is never closed"
    try:
        return tomllib.loads("\n".join(lines[1:end])), end, ""
    except tomllib.TOMLDecodeError as exc:
        return None, 0, f"the front matter is not valid TOML: {exc}"


_SPLIT_FIXES = {
    "no front matter": 'start the file with +++, then title = "...", then +++',
    "the front matter is never closed": "add a line +++ after the front matter",
    "the front matter is not valid TOML": "fix the TOML between the +++ lines",
}


def parse_lesson(path: Path, root: Path) -> tuple[Lesson | None, list[Problem]]:
    """A lesson file, and its problems (with problems, the lesson is what could be read)."""
    shown = relative(path, root)
    found = NAME_RE.match(path.stem)
    if not found:
        return None, [
            Problem(
                shown,
                "",
                "",
                "a lesson file is named NN-slug.md (a number, a dash, lowercase words with dashes)",
                f"rename it, e.g. lessons/10-{_slug(path.stem)}.md",
            )
        ]
    number, name = int(found.group(1)), found.group(2)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(shown, "", "", f"cannot read it ({exc})", "save it as UTF-8 text")]
    meta, end, trouble = _split(text)
    if meta is None:
        fix = next(f for start, f in _SPLIT_FIXES.items() if trouble.startswith(start))
        return None, [Problem(shown, "", "", trouble, fix)]
    front, problems = _front_matter(meta, name, shown)
    examples: dict[str, Path] = {}
    for example in front.examples:
        try:
            examples[example] = find_example(example, root)
        except UsageError as exc:
            folders = " or ".join(f"{folder}/" for folder in EXAMPLES)
            problems.append(
                Problem(
                    shown,
                    "front matter",
                    "examples",
                    f"examples: no example named {example!r} in {folders}",
                    exc.fix,
                )
            )
            continue
        problems += example_problems(examples[example], root)
    lines = text.splitlines()
    fenced = False
    for line_no, line in enumerate(lines[end + 1 :], end + 2):
        if FENCE_RE.match(line):
            fenced = not fenced
        placed = None if fenced else EXAMPLE_RE.match(line)
        if placed and placed.group(1) not in front.examples:
            problems.append(
                Problem(
                    shown,
                    f"line {line_no}",
                    "",
                    f"@example {placed.group(1)} is not in the front matter's examples",
                    f'add "{placed.group(1)}" to examples = [...]',
                )
            )
    lesson = Lesson(
        name=name,
        title=front.title,
        path=path,
        body="\n".join(lines[end + 1 :]).strip("\n") + "\n",
        examples=examples,
        quiz=front.quiz,
        exercises=front.exercises,
        paths=dict(front.paths),
        number=number,
    )
    return lesson, problems


def validate_lessons(root: Path) -> list[Problem]:
    """Every problem of every lesson of the course at `root`, with file, key and a fix: its
    own, and the quizzes and exercises it links that are not in the course."""
    found = load_lesson_set(root)
    problems = [problem for bad in found.broken for problem in bad.problems]
    quizzes = _stems(root / "quizzes", "*.toml")
    exercises = _stems(root / "exercises", "*")
    for lesson in found.outline:
        shown = relative(lesson.path, root)
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


def _names_it(name: str, slug: str, stem: str, number: int | None) -> bool:
    """Names are case-insensitive: `Receive-Loop` is receive-loop."""
    name = name.strip().lower()
    return name in (slug, stem.lower()) or (name.isdigit() and int(name) == number)


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
