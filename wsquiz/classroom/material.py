"""What a class works on, seen by the classroom: a quiz's questions or one exercise.

The host side verifies every answer itself (it observes the question's app live, as `wsquiz
quiz` does) and re-runs every exercise check on the submitted file in a sandbox; a student's own
verdict is never trusted. The student side rebuilds a pushed question from its bundle (the
question's TOML table and the app files it runs) so it can be checked live on the student's
machine first.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from wsquiz.errors import ContentError, WsquizError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

if TYPE_CHECKING:
    from wsquiz.course.exercises import Exercise
    from wsquiz.course.quizzes import Question, Quiz
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.checking import CheckReport

Mode = Literal["quiz", "exercise"]
MAX_CODE = 16 * 1024  # characters of a question's code shown on the boards


@dataclass(frozen=True)
class MaterialItem:
    """One thing the class is asked: a question, or the exercise."""

    id: str
    kind: str  # choice | predict | concept | exercise
    prompt: str
    options: tuple[tuple[str, str], ...] = ()  # (letter, text)
    title: str = ""
    code: str = ""  # the app the question runs, shown with it (the projector too)
    option_code: tuple[str, ...] = ()  # each option's app, when the options are apps
    hint: str = ""

    def public(self, code: bool = True) -> dict[str, Any]:
        """What anyone may see of it; without `code`, the app's text is left to the bundle (a
        student's terminal gets it there, so a push does not carry it twice)."""
        codes = self.option_code if code and self.option_code else ("",) * len(self.options)
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "prompt": self.prompt,
            "code": self.code if code else "",
            "hint": self.hint,
            "options": [
                {"letter": letter, "text": text, "code": code}
                for (letter, text), code in zip(self.options, codes, strict=True)
            ],
        }


@dataclass(frozen=True)
class HostVerdict:
    correct: bool
    answer: str
    observed: str
    message: str
    explanation: str = ""
    stored: bool = False  # the key is a stored option (concept), not what a live server showed


@dataclass(frozen=True)
class Outcome:
    """The host's own run of an exercise's checks on a student's file."""

    passed: bool
    score: float
    max_score: float
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


class Material(Protocol):
    mode: Mode
    name: str
    title: str
    content: str
    items: tuple[MaterialItem, ...]
    check_names: tuple[str, ...]
    max_score: float

    def observe(self, item_id: str) -> Any: ...

    def judge(self, item_id: str, answer: str, observation: Any) -> HostVerdict: ...

    def key(self, item_id: str, observation: Any) -> str: ...

    def explanation(self, item_id: str) -> str: ...

    def bundle(self, item_id: str) -> dict[str, Any]: ...

    def group(self, item_id: str, answer: str, correct: bool, observed: str) -> str: ...

    def verify(self, source: str, student: str, file: object = None) -> Outcome: ...


def _options(question: Question) -> tuple[tuple[str, str], ...]:
    return tuple((o.letter, o.text) for o in question.options)


def _code(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")[:MAX_CODE]
    except (OSError, UnicodeDecodeError):
        return ""


def item_of(question: Question) -> MaterialItem:
    return MaterialItem(
        question.id,
        question.kind,
        question.prompt,
        _options(question),
        code=_code(question.app),
        option_code=tuple(_code(o.app) for o in question.options),
        hint=question.hint,
    )


class QuizMaterial:
    mode: Mode = "quiz"

    def __init__(self, root: Path, quiz_name: str, lab: Lab | None) -> None:
        from wsquiz.course.quizzes import load_course

        course = load_course(root)
        self.quiz: Quiz = course.quiz(quiz_name)
        self.lab = lab
        self.name = self.quiz.name
        self.title = self.quiz.title
        self.content = str(course.root)
        self.items = tuple(item_of(q) for q in self.quiz.questions)
        self.check_names: tuple[str, ...] = ()
        self.max_score = float(len(self.items))
        self._raw = {
            str(q.get("id")): q
            for q in tomllib.loads(self.quiz.path.read_text(encoding="utf-8")).get("questions", [])
        }

    def question(self, item_id: str) -> Question:
        return self.quiz.question(item_id)

    def observe(self, item_id: str) -> Any:
        from wsquiz.learn.judge import observe_question

        if self.lab is None:
            raise ContentError("no lab: this material was loaded only to export results")
        return observe_question(self.question(item_id), self.lab)

    def judge(self, item_id: str, answer: str, observation: Any) -> HostVerdict:
        from wsquiz.learn.judge import judge

        question = self.question(item_id)
        verdict = judge(question, answer, observation)
        return HostVerdict(
            correct=bool(verdict.correct),
            answer=str(verdict.answer),
            observed=str(verdict.observed),
            message=str(verdict.message),
            explanation=question.explanation,
            stored=question.kind == "concept",
        )

    def key(self, item_id: str, observation: Any) -> str:
        from wsquiz.learn.judge import key_of

        return str(key_of(self.question(item_id), observation))

    def explanation(self, item_id: str) -> str:
        return self.question(item_id).explanation

    def bundle(self, item_id: str) -> dict[str, Any]:
        """What a student's client needs to rebuild the question and check it live.

        A concept question is judged against a stored option, so its bundle leaves the key out
        (the host judges it); every other key is what the app does, observed on the spot.
        """
        question = self.question(item_id)
        if question.kind == "concept":
            return {}
        raw = dict(self._raw[item_id])
        apps = {path.name: path.read_text(encoding="utf-8") for path in question.apps}
        return {"quiz": self.name, "title": self.title, "question": raw, "apps": apps}

    def group(self, item_id: str, answer: str, correct: bool, observed: str) -> str:
        return answer_group(self.question(item_id), answer, correct, observed)

    def verify(self, source: str, student: str, file: object = None) -> Outcome:
        raise ContentError("this session is a quiz: there is no exercise to check")


class ExerciseMaterial:
    mode: Mode = "exercise"

    def __init__(self, root: Path, exercise_name: str, lab: Lab | None) -> None:
        from wsquiz.course.exercises import find_exercise

        self.exercise: Exercise = find_exercise(exercise_name, root)
        self.lab = lab
        self.name = self.exercise.name
        self.title = self.exercise.title
        self.content = str(root)
        self.items: tuple[MaterialItem, ...] = (
            MaterialItem(
                self.exercise.name,
                "exercise",
                self.exercise.statement.strip(),
                title=self.exercise.title,
            ),
        )
        self.check_names = tuple(c.name for c in self.exercise.checks)
        self.max_score = float(self.exercise.max_score)
        self._work = Path(tempfile.mkdtemp(prefix="wsquiz-classroom-"))

    def observe(self, item_id: str) -> Any:
        return None

    def judge(self, item_id: str, answer: str, observation: Any) -> HostVerdict:
        raise ContentError("this session is an exercise: send a check, not an answer")

    def key(self, item_id: str, observation: Any) -> str:
        return ""

    def explanation(self, item_id: str) -> str:
        return ""

    def bundle(self, item_id: str) -> dict[str, Any]:
        return {
            "exercise": self.exercise.name,
            "title": self.exercise.title,
            "endpoint": self.exercise.endpoint,
            "hint": self.exercise.hint,
            "starter": self.exercise.starter.read_text(encoding="utf-8"),
            "checks": [
                {"name": c.name, "points": c.points, "description": c.description}
                for c in self.exercise.checks
            ],
        }

    def group(self, item_id: str, answer: str, correct: bool, observed: str) -> str:
        return answer

    def verify(self, source: str, student: str, file: object = None) -> Outcome:
        """Run every check on the student's file, served sandboxed, as `wsquiz check` does.

        The file is written under the name the student gave it (`file`, their terminal's
        `--file`), and what the checks say names it so, as `wsquiz grade` does: the host's
        own folders reach neither the student nor the record.
        """
        from wsquiz.engine.appfile import AppSpec
        from wsquiz.grading.submissions import Submission
        from wsquiz.learn.checking import run_checks

        if self.lab is None:
            raise ContentError("no lab: this material was loaded only to export results")
        folder = Path(tempfile.mkdtemp(prefix="check-", dir=self._work))
        path = folder / student_file(file, self.exercise.name)
        submission = Submission(student, path, root=folder)
        try:
            path.write_text(source, encoding="utf-8")
            report = run_checks(self.exercise, AppSpec.parse(str(path)), self.lab)
        except WsquizError as exc:
            error = submission.scrub(exc.message)
            return Outcome(False, 0, float(self.exercise.max_score), [], error)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return outcome_of(report, submission.scrub)


def student_file(given: object, exercise: str) -> str:
    """The student's file name as they know it, safe to write on the host; else the name their
    terminal gives the exercise's starter."""
    name = given.replace("\\", "/").rsplit("/", 1)[-1].strip() if isinstance(given, str) else ""
    if re.fullmatch(r"\w[\w .-]{0,76}\.py", name):
        return name
    return f"{exercise.replace('-', '_')}.py"


def answer_group(question: Question, answer: str, correct: bool, observed: str) -> str:
    """The spread's bar for an answer: answers the judge takes as one count as one.

    Letters as letters (`a`, `C)`, `option c` or an option's own text: `A`, `C`); a right
    prediction as what the server showed (`Three` and `3` are `3`); a wrong one as the judge
    reads it (the number it gives, the one text it quotes, without a sentence's full stop).
    """
    from wsquiz.learn.judge import (
        NAMES,
        NUMERIC,
        answer_number,
        chosen_letters,
        format_number,
        normalise,
        quoted_texts,
        without_trailing_stop,
    )

    if question.kind in ("choice", "concept"):
        letters = chosen_letters(question, answer)
        if letters and letters <= {o.letter for o in question.options}:
            return ", ".join(sorted(letters))
        return normalise(answer)
    if correct:
        return observed
    source = question.answer.from_ if question.answer is not None else ""
    if source in NUMERIC:
        number = answer_number(answer)
        if number is not None:
            return format_number(number)
    quoted = quoted_texts(answer)
    text = normalise(quoted[0]) if len(quoted) == 1 else without_trailing_stop(answer)
    return text.casefold() if source in NAMES else text


def outcome_of(report: CheckReport, scrub: Callable[[str], str] = str) -> Outcome:
    return Outcome(
        passed=report.passed,
        score=float(report.score),
        max_score=float(report.max_score),
        results=[
            {
                "name": r.name,
                "passed": r.passed,
                "points": r.points,
                "max_points": r.max_points,
                "message": scrub(r.message),
            }
            for r in report.results
        ],
        error=scrub(report.error) if report.error else report.error,
    )


def safe_file(name: str) -> str:
    return re.sub(r"[^\w-]", "_", name)[:40] or "student"


# ---- the student's side: rebuild a pushed question ----------------------------------------

# What in a question's table tells the key: the explanation, the claims the explanation makes
# (`{ of = "reply", says = "..." }`), the original text's quote, each option's explanation. A
# student's terminal gets these only at the reveal; the rest is what it needs to check live.
WITHHELD = ("explanation", "claims", "quote")


def split_bundle(bundle: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the bundle sent with the question, what waits for the reveal)."""
    question = bundle.get("question")
    if not isinstance(question, dict):
        return bundle, {}
    shown = {k: v for k, v in question.items() if k not in WITHHELD}
    withheld: dict[str, Any] = {k: question[k] for k in WITHHELD if k in question}
    options = question.get("options")
    if isinstance(options, list):
        notes = [o.get("explanation", "") if isinstance(o, dict) else "" for o in options]
        shown["options"] = [
            {k: v for k, v in o.items() if k != "explanation"} if isinstance(o, dict) else o
            for o in options
        ]
        if any(notes):
            withheld["options"] = notes
    return {**bundle, "question": shown}, withheld


def restore_bundle(bundle: dict[str, Any], withheld: dict[str, Any]) -> dict[str, Any]:
    """The whole bundle again, from the one sent with the question and the reveal's part."""
    question = bundle.get("question")
    if not isinstance(question, dict) or not withheld:
        return bundle
    whole = {**question, **{k: v for k, v in withheld.items() if k in WITHHELD}}
    notes = withheld.get("options")
    options = question.get("options")
    if isinstance(notes, list) and isinstance(options, list):
        notes = notes + [""] * (len(options) - len(notes))
        whole["options"] = [
            {**o, "explanation": str(note)} if isinstance(o, dict) and note else o
            for o, note in zip(options, notes[: len(options)], strict=True)
        ]
    return {**bundle, "question": whole}


def question_from_bundle(bundle: dict[str, Any], folder: Path) -> Question:
    """Write the bundle as a one-question course under `folder` and load it with the quiz loader."""
    from wsquiz.course.quizzes import load_quiz

    quizzes = folder / "quizzes"
    apps = quizzes / "apps"
    apps.mkdir(parents=True, exist_ok=True)
    for name, text in dict(bundle.get("apps", {})).items():
        safe = Path(str(name)).name
        if not safe.endswith(".py"):
            raise ContentError(f"the host sent an app file named {name!r}, not a .py file")
        (apps / safe).write_text(str(text), encoding="utf-8")
    path = quizzes / f"01-{safe_file(str(bundle.get('quiz', 'classroom')))}.toml"
    path.write_text(
        f"title = {_toml_value(str(bundle.get('title', 'classroom')))}\n\n"
        + _toml_table("questions", dict(bundle["question"])),
        encoding="utf-8",
    )
    quiz, problems = load_quiz(path, folder)
    if quiz is None or not quiz.questions:
        detail = "; ".join(str(p) for p in problems[:3])
        raise ContentError(
            f"the question the host sent could not be loaded here: {detail}",
            fix="update wsquiz on this machine to the host's version (pip install -U wsquiz)",
        )
    return quiz.questions[0]


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise ContentError(f"cannot write {type(value).__name__} as TOML")


def _toml_table(name: str, table: dict[str, Any]) -> str:
    lines = [f"[[{name}]]"]
    lines += [f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def observe_sandboxed(question: Question, lab: Lab) -> Any:
    """`judge.observe_question`, but each app served in a sandboxed process.

    On a student's machine the apps come from the host over the network: they are shown to the
    student and run like any code that is not the student's own, isolated.
    """

    from wsquiz.engine.appfile import AppSpec
    from wsquiz.engine.lab import observe
    from wsquiz.errors import AppLoadError, LabError
    from wsquiz.learn.judge import Observation, Run

    async def run(app: Path) -> Run:
        assert question.scenario is not None
        try:
            transcript = await observe(AppSpec.parse(str(app)), question.scenario, isolated=True)
        except AppLoadError as exc:
            return Run(app=app, load_error=exc)
        except LabError as exc:
            return Run(app=app, failure=exc.message)
        return Run(app=app, transcript=transcript)

    async def everything() -> Observation:
        if question.scenario is None:
            return Observation(question.id, None, tuple(None for _ in question.options))
        main = await run(question.app) if question.app is not None else None
        variants = tuple(
            [await run(o.app) if o.app is not None else None for o in question.options]
        )
        return Observation(question=question.id, main=main, variants=variants)

    return lab.call(everything())
