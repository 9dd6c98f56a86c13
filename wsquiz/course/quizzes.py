"""Quiz content: the TOML format, loading, and validation that names file, question, key and fix.

A course folder holds `quizzes/NN-name.toml` (ordered by the numeric prefix) and the example
apps they run in `quizzes/apps/`. The format is documented for teachers in docs/authoring.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wsquiz._support.names import close_names, did_you_mean, relative, suggest
from wsquiz.course.problems import Broken, Problem
from wsquiz.course.problems import quoted as _q
from wsquiz.engine.scenario import Scenario
from wsquiz.errors import ContentError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

Kind = Literal["choice", "predict", "concept"]
KINDS: tuple[str, ...] = get_args(Kind)

# What in the observation answers a question (`answer.from`) or a claim is about (`claim.of`).
Source = Literal[
    "reply",
    "reply_number",
    "received_count",
    "connections",
    "close_code",
    "close_reason",
    "closed_by",
    "handshake_status",
    "server_error",
    "server_error_message",
    "warning",
    "option",
]
SOURCES: tuple[str, ...] = get_args(Source)
SOURCE_HELP: dict[str, str] = {
    "reply": "the text of a message the client received (index 0 = first, -1 = last)",
    "reply_number": "the first number in that message",
    "received_count": "how many messages the client received",
    "connections": "how many WebSocket connections the server accepted",
    "close_code": "the close code the client saw (1000, 1006, ...)",
    "close_reason": "the close reason the client saw",
    "closed_by": "who closed: client, server or abnormal",
    "handshake_status": "the HTTP status of the handshake (101 accepted, 403, 500, ...)",
    "server_error": "the class of the first exception the endpoint raised (or none)",
    "server_error_message": "the message of that exception",
    "warning": "the first warning the server emitted (or none)",
    "option": "choice: the letter of each option whose claim holds",
}
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LETTERS = "ABCDEFG"  # h and q are keys of the interactive quiz


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _text(value: Any) -> Any:
    """TOML lets authors write `is = 1000`; every compared value is text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    return value


class Claim(_Model):
    """A statement about the observation: `{ of = "close_code", is = 1000 }`.

    `is` (or its synonym `says`, for claims made by an explanation) compares as an answer
    would be judged; `contains` looks for the text inside the observed value.
    """

    of: Source
    index: int = 0
    client: str | None = None
    is_: str | None = Field(None, alias="is")
    says: str | None = None
    contains: str | None = None
    # Where the claim holds, when behaviour differs between supported stacks: version bounds
    # (`when = "starlette >= 1.7"`, `"uvicorn < 0.60"`) or the implementation (`"ws != wsproto"`);
    # all must hold. Elsewhere the claim is not made (neither checked nor used for a key).
    when: tuple[str, ...] = ()

    @field_validator("is_", "says", "contains", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return _text(value)

    @field_validator("when", mode="before")
    @classmethod
    def _bounds(cls, value: Any) -> Any:
        from wsquiz.engine.versions import FLOORS, Condition

        bounds = [value] if isinstance(value, str) else value
        for text in bounds if isinstance(bounds, (list, tuple)) else ():
            if isinstance(text, str) and not Condition.parse(text).reachable():
                name = text.split()[0] if text.split() else text
                raise ValueError(
                    f"{text!r} never holds: wsquiz supports {name} >= {FLOORS.get(name)}"
                )
        return bounds

    @property
    def expected(self) -> str:
        return next(v for v in (self.is_, self.says, self.contains) if v is not None)

    @property
    def test(self) -> Literal["is", "contains"]:
        return "contains" if self.contains is not None else "is"

    def describe(self) -> str:
        verb = "contains" if self.test == "contains" else "is"
        bounds = f" (when {', '.join(self.when)})" if self.when else ""
        return f"{self.of} {verb} {_q(self.expected)}{bounds}"


class Answer(_Model):
    """Where the answer is read from: `{ from = "reply", index = 0 }`."""

    from_: Source = Field(alias="from")
    index: int = 0
    client: str | None = None
    where: tuple[Claim, ...] = ()

    @field_validator("where", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class Quote(_Model):
    """Text quoted by the original material, shown next to what the installed server prints."""

    of: Source
    text: str
    source: str = "the original question"
    index: int = 0
    client: str | None = None


class OptionFile(_Model):
    text: str
    app: str | None = None
    claim: tuple[Claim, ...] = ()
    correct: bool = False
    explanation: str = ""

    @field_validator("claim", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


class QuestionFile(_Model):
    id: str
    kind: Kind
    prompt: str
    app: str | None = None
    scenario: list[dict[str, Any]] | None = None
    timeout: float | None = Field(None, gt=0, le=60)
    answer: Answer | None = None
    options: tuple[OptionFile, ...] = ()
    hint: str = ""
    explanation: str = ""
    claims: tuple[Claim, ...] = ()
    quote: Quote | None = None


class QuizFile(_Model):
    title: str
    description: str = ""
    questions: tuple[QuestionFile, ...]


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
    def runs_variants(self) -> bool:
        return any(o.app is not None for o in self.options)

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
        for quiz in self.quizzes:
            if name in (quiz.name, quiz.path.stem):
                return quiz
        for bad in self.broken:
            if name in (bad.name, bad.path.stem):
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


def validate_course(root: Path) -> list[Problem]:
    """Every problem in the course's quizzes (the schema and the files they name)."""
    return load_quizzes(root)[1]


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
        return None, _schema_problems(exc, data, rel) + _deep_problems(data, path, rel)
    problems = _deep_problems(data, path, rel)
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


def apps_dir(quiz_path: Path) -> Path:
    return quiz_path.parent / "apps"


def question_app(name: str, quiz_path: Path) -> Path:
    """`echo_once.py` (or `echo_once`) -> quizzes/apps/echo_once.py."""
    file = name if name.endswith(".py") else f"{name}.py"
    return (apps_dir(quiz_path) / file).resolve()


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
    )


# ---- validation ---------------------------------------------------------------------------


def _question_label(data: Any, index: int) -> str:
    questions = data.get("questions") if isinstance(data, dict) else None
    if isinstance(questions, list) and index < len(questions):
        entry = questions[index]
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return f"question {_q(entry['id'])}"
    return f"question #{index + 1}"


def _where(data: Any, loc: Sequence[int | str]) -> tuple[str, str]:
    """('questions', 2, 'options', 1, 'txt') -> ('question "x"', 'options[1].txt')."""
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        where = _question_label(data, loc[1])
        rest = loc[2:]
    else:
        where, rest = "", loc
    key = ""
    for part in rest:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return where, key


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model whose keys are allowed at `loc` (its last part being the offending key)."""
    model: type[BaseModel] | None = QuizFile
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        model = _inner_model(field.annotation) if field else None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, tuple, list) or get_args(annotation):
        for arg in get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _schema_problems(exc: ValidationError, data: Any, rel: str) -> list[Problem]:
    problems: list[Problem] = []
    errors = exc.errors()
    # A misspelt key also makes the right one "missing": report only the misspelling.
    suggested = {
        (*e["loc"][:-1], suggest(str(e["loc"][-1]), _keys_of(model)))
        for e in errors
        if e["type"] == "extra_forbidden" and (model := _model_at(tuple(e["loc"]))) is not None
    }
    for error in errors:
        loc = tuple(error["loc"])
        if "scenario" in loc:
            continue  # reported, with step numbers, by _deep_problems
        if error["type"] == "missing" and loc in suggested:
            continue
        where, key = _where(data, loc)
        kind = error["type"]
        last = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            model = _model_at(loc)
            known = _keys_of(model) if model else []
            problems.append(
                Problem(
                    rel,
                    where,
                    key,
                    f"unknown key {_q(last)}{did_you_mean(last, known)}",
                    f"the keys allowed here are: {', '.join(known)}" if known else "remove it",
                )
            )
        elif kind == "missing":
            problems.append(
                Problem(
                    rel,
                    where,
                    key,
                    f"missing key {_q(last)}",
                    f"add {last} = ... (see docs/authoring.md)",
                )
            )
        elif kind == "literal_error":
            allowed = [a.strip("'") for a in re.findall(r"'[^']*'", error["ctx"]["expected"])]
            given = str(error.get("input"))
            fix = f"use one of: {', '.join(allowed)}"
            if last in ("from", "of"):
                fix += " (docs/authoring.md lists what each one reads)"
            problems.append(
                Problem(
                    rel,
                    where,
                    key,
                    f"{key or last} = {_q(given)} is not allowed{did_you_mean(given, allowed)}",
                    fix,
                )
            )
        else:
            problems.append(
                Problem(
                    rel,
                    where,
                    key,
                    f"{key or 'the file'}: {error['msg']}",
                    "see docs/authoring.md for the format",
                )
            )
    return problems


def _deep_problems(data: Any, path: Path, rel: str) -> list[Problem]:
    """Checks beyond the schema: scenarios, app files, ids, and what each kind needs."""
    problems: list[Problem] = []
    questions = data.get("questions") if isinstance(data, dict) else None
    if isinstance(questions, list) and not questions:
        problems.append(
            Problem(
                rel,
                "",
                "questions",
                "the quiz has no questions",
                "add at least one [[questions]] table",
            )
        )
    if not isinstance(questions, list):
        return problems
    seen: set[str] = set()
    for index, raw in enumerate(questions):
        if not isinstance(raw, dict):
            continue
        where = _question_label(data, index)

        def add(key: str, message: str, fix: str, where: str = where) -> None:
            problems.append(Problem(rel, where, key, message, fix))

        qid = raw.get("id")
        if isinstance(qid, str):
            if not ID_PATTERN.match(qid):
                add(
                    "id",
                    f"id {_q(qid)} is not a slug",
                    "use lowercase letters, digits and dashes, e.g. echo-reply",
                )
            if qid in seen:
                add(
                    "id",
                    f"id {_q(qid)} appears twice in this quiz",
                    "give each question its own id",
                )
            seen.add(qid)
        kind = raw.get("kind")
        app = raw.get("app")
        scenario = raw.get("scenario")
        options: list[Any] = raw["options"] if isinstance(raw.get("options"), list) else []
        answer = raw.get("answer") if isinstance(raw.get("answer"), dict) else None
        clients: list[str] = []

        if isinstance(app, str):
            _check_app(app, path, "app", add)
        for i, option in enumerate(options):
            if isinstance(option, dict) and isinstance(option.get("app"), str):
                _check_app(option["app"], path, f"options[{i}].app", add)
        if scenario is not None:
            clients = _check_scenario(scenario, raw.get("timeout"), add)
        option_apps = [o for o in options if isinstance(o, dict) and o.get("app")]
        if scenario is not None and app is None and not option_apps:
            add(
                "app",
                "a scenario needs an app to run against",
                'add app = "name.py" (a file in quizzes/apps/)',
            )
        if (app is not None or option_apps) and scenario is None:
            add(
                "scenario",
                "the question runs an app but has no scenario",
                'add scenario = [{ connect = "/ws" }, ...] (see docs/authoring.md)',
            )
        for key, claim in _claims_in(raw):
            client = claim.get("client")
            if isinstance(client, str) and clients and client not in clients:
                add(
                    key + ".client",
                    f"client {_q(client)} never connects in the scenario"
                    f"{did_you_mean(client, clients)}",
                    f"the scenario's clients are: {', '.join(clients)}",
                )
        if raw.get("claims") and scenario is None:
            add(
                "claims",
                "claims are checked against the live server, but there is no scenario",
                "add an app and a scenario, or move the statement into the explanation",
            )

        if kind == "predict":
            if answer is None:
                add(
                    "answer",
                    "a predict question needs an answer source",
                    'add answer = { from = "reply" } (or close_code, server_error, ...)',
                )
            elif answer.get("from") == "option":
                add(
                    "answer.from",
                    "a predict question has no options to pick from",
                    'read a value instead, e.g. answer = { from = "reply" }',
                )
            if options:
                add(
                    "options",
                    "a predict question takes a free answer, not options",
                    'remove the options, or make it kind = "choice"',
                )
            if scenario is None:
                add(
                    "scenario",
                    "a predict question is answered by the live server",
                    "add an app and a scenario whose observation holds the answer",
                )
        elif kind in ("choice", "concept"):
            if len(options) < 2:
                add(
                    "options",
                    f"a {kind} question needs at least two options",
                    "add [[questions.options]] tables with text = ...",
                )
            if len(options) > len(LETTERS):
                add("options", f"at most {len(LETTERS)} options", "remove some options")
        if kind == "choice":
            where_claims = answer.get("where") if answer else None
            if answer is not None and answer.get("from") not in (None, "option"):
                add(
                    "answer.from",
                    "a choice question is answered by its options",
                    'use answer = { from = "option", where = [...] } or leave answer out',
                )
            for i, option in enumerate(options):
                if not isinstance(option, dict):
                    continue
                if option.get("correct"):
                    add(
                        f"options[{i}].correct",
                        "a choice question's key is observed live, not stored",
                        'give each option a claim (or use kind = "concept")',
                    )
                if not option.get("claim") and not where_claims:
                    add(
                        f"options[{i}]",
                        "this option has no claim to check against the server",
                        'add claim = { of = "...", is = "..." }, or answer.where for variants',
                    )
            if scenario is None:
                add(
                    "scenario",
                    "a choice question is checked against the live server",
                    'add an app and a scenario, or make it kind = "concept"',
                )
        if kind == "concept":
            correct = [o for o in options if isinstance(o, dict) and o.get("correct")]
            if len(correct) != 1:
                add(
                    "options",
                    f"a concept question needs exactly one option with correct = true "
                    f"(found {len(correct)})",
                    "mark the right option with correct = true",
                )
            if answer is not None:
                add(
                    "answer",
                    "a concept question's answer is its correct option",
                    "remove answer, or make it a choice/predict question checked live",
                )
    return problems


def _claims_in(raw: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    answer = raw.get("answer")
    if isinstance(answer, dict):
        found.append(("answer", answer))
        where = answer.get("where")
        for i, claim in enumerate(where if isinstance(where, list) else [where]):
            if isinstance(claim, dict):
                found.append((f"answer.where[{i}]", claim))
    claims = raw.get("claims")
    for i, claim in enumerate(claims if isinstance(claims, list) else []):
        if isinstance(claim, dict):
            found.append((f"claims[{i}]", claim))
    options = raw.get("options")
    for i, option in enumerate(options if isinstance(options, list) else []):
        if isinstance(option, dict):
            claim = option.get("claim")
            for j, c in enumerate(claim if isinstance(claim, list) else [claim]):
                if isinstance(c, dict):
                    found.append((f"options[{i}].claim[{j}]", c))
    if isinstance(raw.get("quote"), dict):
        found.append(("quote", raw["quote"]))
    return found


def _check_app(name: str, quiz_path: Path, key: str, add: Any) -> None:
    target = name.split(":", 1)[0]
    resolved = question_app(target, quiz_path)
    if resolved.is_file():
        return
    folder = apps_dir(quiz_path)
    present = sorted(p.name for p in folder.glob("*.py")) if folder.is_dir() else []
    wanted = target if target.endswith(".py") else f"{target}.py"
    closest = close_names(wanted, present, most=2, cutoff=0.5)
    if closest:
        other = f"name {' or '.join(_q(c) for c in closest)}"
    elif present:
        other = f"name one of the {len(present)} files in quizzes/apps/"
    else:
        other = "(quizzes/apps/ holds none yet)"
    add(
        key,
        f"app file {_q(target)} not found in {folder.name}/{did_you_mean(wanted, present)}",
        f"create quizzes/apps/{wanted}, or {other}",
    )


def _check_scenario(steps: Any, timeout: Any, add: Any) -> list[str]:
    from wsquiz.engine.scenario import ACTIONS, Step

    if not isinstance(steps, list) or not steps:
        add(
            "scenario",
            "scenario must be a non-empty list of steps",
            'write scenario = [{ connect = "/ws" }, { send = "hi" }, { receive = 1 }]',
        )
        return []
    step_keys = _keys_of(Step)
    for i, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            add(
                f"scenario[{i - 1}]",
                f"scenario step {i} is not a table",
                'write each step as { action = value }, e.g. { send = "hi" }',
            )
            continue
        for key in step:
            if key not in step_keys:
                add(
                    f"scenario[{i - 1}].{key}",
                    f"scenario step {i}: unknown key {_q(key)}{did_you_mean(key, step_keys)}",
                    f"a step has one action of: {', '.join(ACTIONS)}",
                )
    try:
        scenario = Scenario.from_steps(
            steps, timeout=timeout if isinstance(timeout, (int, float)) else None
        )
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                continue  # reported above with a suggestion
            step = f"step {loc[1] + 1}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            field = ".".join(str(p) for p in loc[2:])
            message = error["msg"].removeprefix("Value error, ")
            add(
                "scenario",
                f"scenario {step} {field}: {message}".replace("  ", " "),
                "see the scenario steps in docs/authoring.md",
            )
        return []
    return scenario.clients
