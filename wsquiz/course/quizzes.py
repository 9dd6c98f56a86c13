"""Quizzes as the learner and the grader use them: `Quiz`, `Question`, `Option` and the
`Course` of quizzes, loaded from a course folder with every problem located.

A course folder holds `quizzes/NN-name.toml` (ordered by the numeric prefix) and the example
apps they run in `quizzes/apps/`. The format is `quizfile.py` (documented for teachers in
docs/authoring.md); the checks beyond it are `quizcheck.py`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wsquiz._support.names import did_you_mean, relative
from wsquiz.course.problems import Broken, Problem
from wsquiz.course.problems import quoted as _q
from wsquiz.course.quizcheck import question_app, question_problems
from wsquiz.course.quizfile import (
    LETTERS,
    Answer,
    Claim,
    Kind,
    QuestionFile,
    QuizFile,
    Quote,
)
from wsquiz.course.schema import Loc, located_problems
from wsquiz.engine.scenario import Scenario
from wsquiz.errors import ContentError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

# Part of the API of this module: what a question holds.
__all__ = ["LETTERS", "Answer", "Claim", "Course", "Option", "Question", "Quiz", "Quote"]


@dataclass(frozen=True)
class Option:
    letter: str
    text: str
    app: Path | None
    claims: tuple[Claim, ...]
    correct: bool
    explanation: str


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    prompt: str
    app: Path | None
    scenario: Scenario | None
    answer: Answer | None
    options: tuple[Option, ...]
    hint: str
    explanation: str
    claims: tuple[Claim, ...]
    quote: Quote | None
    quiz: str
    file: Path
    lesson: str | None = None  # the lesson that teaches it

    @property
    def source(self) -> str:
        """What answers the question: an observation source, or `stored` for a concept."""
        if self.kind == "concept":
            return "stored"
        if self.kind == "choice":
            return "option"
        assert self.answer is not None
        return self.answer.from_

    @property
    def apps(self) -> tuple[Path, ...]:
        """Every file this question shows and runs."""
        found = [self.app] if self.app else []
        found += [o.app for o in self.options if o.app is not None]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Quiz:
    name: str
    title: str
    path: Path
    questions: tuple[Question, ...]
    description: str = ""

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise ContentError(
            f"quiz {_q(self.name)} has no question {_q(question_id)}"
            f"{did_you_mean(question_id, self.ids)}",
            fix=f"its questions are: {', '.join(self.ids)}",
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)


class BrokenQuiz(Broken):
    """A quiz file with problems."""


@dataclass(frozen=True)
class Course:
    root: Path
    quizzes: tuple[Quiz, ...]
    broken: tuple[BrokenQuiz, ...] = ()

    def quiz(self, name: str) -> Quiz:
        """A quiz by its name or file stem, case-insensitive (`Basics` is basics)."""
        wanted = name.strip().lower()
        for quiz in self.quizzes:
            if wanted in (quiz.name.lower(), quiz.path.stem.lower()):
                return quiz
        for bad in self.broken:
            if wanted in (bad.name.lower(), bad.path.stem.lower()):
                raise bad.error(self.root)
        from wsquiz.course.order import in_course_order

        names = in_course_order(self.root, "quiz", [q.name for q in self.quizzes])
        raise UsageError(  # a name that is not there is unusable input (2), as elsewhere
            f"no quiz named {_q(name)}{did_you_mean(name, names)}",
            fix=f"the quizzes are: {', '.join(names) or 'none'} (wsquiz quiz --list)",
        )


# ---- loading ------------------------------------------------------------------------------


def quiz_name(path: Path) -> str:
    """`01-basics.toml` -> `basics`."""
    return re.sub(r"^\d+[-_]", "", path.stem)


def _order(path: Path) -> tuple[int, str]:
    match = re.match(r"^(\d+)", path.name)
    return (int(match.group(1)) if match else sys.maxsize, path.name)


def quiz_files(root: Path) -> list[Path]:
    folder = root / "quizzes"
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.toml"), key=_order)


def load_course(root: Path | None = None) -> Course:
    """Load the course at `root` (default: the one in use). A quiz with a problem is left out
    and listed in `broken`: one mistake in one file does not take the other quizzes away."""
    from wsquiz._support.paths import content_root

    root = content_root(root) if root is None else Path(root)
    quizzes, problems = load_quizzes(root)
    by_file: dict[str, list[Problem]] = {}
    for problem in problems:
        by_file.setdefault(problem.file, []).append(problem)
    broken = tuple(
        BrokenQuiz(quiz_name(path), path, tuple(by_file[relative(path, root)]))
        for path in quiz_files(root)
        if relative(path, root) in by_file
    )
    bad = {b.path for b in broken}
    return Course(root=root, quizzes=tuple(q for q in quizzes if q.path not in bad), broken=broken)


def load_quizzes(root: Path) -> tuple[list[Quiz], list[Problem]]:
    quizzes: list[Quiz] = []
    problems: list[Problem] = []
    seen_ids: dict[str, str] = {}
    names: dict[str, Path] = {}
    for path in quiz_files(root):
        quiz, found = load_quiz(path, root)
        problems += found
        if quiz is None:
            continue
        rel = relative(path, root)
        if quiz.name in names:
            problems.append(
                Problem(
                    rel,
                    "",
                    "",
                    f"quiz name {_q(quiz.name)} is also used by {relative(names[quiz.name], root)}",
                    "rename one of the files (the name is the stem after NN-)",
                )
            )
        names[quiz.name] = path
        for question in quiz.questions:
            other = seen_ids.get(question.id)
            if other is not None:
                problems.append(
                    Problem(
                        rel,
                        f"question {_q(question.id)}",
                        "id",
                        f"id {_q(question.id)} is already used in {other}",
                        "question ids are unique in a course: choose another",
                    )
                )
            seen_ids[question.id] = rel
        quizzes.append(quiz)
    return quizzes, problems


def load_quiz(path: Path, root: Path | None = None) -> tuple[Quiz | None, list[Problem]]:
    root = root or path.parent.parent
    rel = relative(path, root)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(rel, "", "", f"cannot read the file ({exc})", "check the file")]
    except tomllib.TOMLDecodeError as exc:
        return None, [
            Problem(
                rel,
                "",
                "",
                f"not valid TOML: {exc}",
                "correct the TOML syntax at that line and column",
            )
        ]
    try:
        parsed = QuizFile.model_validate(data)
    except ValidationError as exc:
        return None, _schema_problems(exc, data, rel) + _question_problems(data, path, rel)
    problems = _question_problems(data, path, rel)
    if problems:
        return None, problems
    name = quiz_name(path)
    questions = tuple(_resolve(q, path, name) for q in parsed.questions)
    quiz = Quiz(
        name=name,
        title=parsed.title,
        path=path,
        questions=questions,
        description=parsed.description,
    )
    return quiz, []


def _question_label(data: Any, index: int) -> str:
    """`question "echo-reply"`, or `question #3` when it has no usable id."""
    questions = data.get("questions") if isinstance(data, dict) else None
    if isinstance(questions, list) and index < len(questions):
        entry = questions[index]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return f"question {_q(entry['id'])}"
    return f"question #{index + 1}"


def _schema_problems(exc: ValidationError, data: Any, rel: str) -> list[Problem]:
    def place(loc: Loc) -> tuple[str, Loc]:
        if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
            return _question_label(data, loc[1]), loc[2:]
        return "", loc

    return located_problems(exc, QuizFile, rel, place)


def _question_problems(data: Any, path: Path, rel: str) -> list[Problem]:
    """The checks beyond the schema, on each question that passes it (the others' problems
    are the schema's): a quiz with mistakes in two questions has both reported at once."""
    raw_questions = data.get("questions") if isinstance(data, dict) else None
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_questions if isinstance(raw_questions, list) else []):
        try:
            question = QuestionFile.model_validate(raw)
        except ValidationError:
            continue
        where = _question_label(data, index)
        if question.id in seen:
            problems.append(
                Problem(
                    rel,
                    where,
                    "id",
                    f"id {_q(question.id)} appears twice in this quiz",
                    "give each question its own id",
                )
            )
        seen.add(question.id)
        problems += question_problems(question, path, rel, where)
    return problems


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of each paragraph; keep blank lines and indented lines."""
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.split("\n")
        if any(line.startswith(("    ", "\t", "- ", "* ")) for line in lines):
            paragraphs.append(block)
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def _resolve(raw: QuestionFile, path: Path, quiz: str) -> Question:
    options = tuple(
        Option(
            letter=LETTERS[i],
            text=o.text,
            app=question_app(o.app, path) if o.app else None,
            claims=o.claim,
            correct=o.correct,
            explanation=o.explanation,
        )
        for i, o in enumerate(raw.options)
    )
    scenario = (
        Scenario.from_steps(raw.scenario, timeout=raw.timeout) if raw.scenario is not None else None
    )
    return Question(
        id=raw.id,
        kind=raw.kind,
        prompt=reflow(raw.prompt),
        app=question_app(raw.app, path) if raw.app else None,
        scenario=scenario,
        answer=raw.answer,
        options=options,
        hint=reflow(raw.hint),
        explanation=reflow(raw.explanation),
        claims=raw.claims,
        quote=raw.quote,
        quiz=quiz,
        file=path,
        lesson=raw.lesson,
    )
