"""Answer files and sheets: reading `--answers` files (pydantic models of the shapes accepted),
writing the sheet `wsquiz quiz --record` leaves for grading.

Four shapes are read, as JSON or TOML: `{id: answer}`; a recorded sheet
`{"quiz": ..., "answers": {id: answer}}`; and what `--key --json` and `--answers --json` print,
`{"quiz": ..., "questions" | "results": [{"id": ..., "answer": ...}]}`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, RootModel, ValidationError

from wsquiz._support.files import write_atomic
from wsquiz.errors import UsageError

if TYPE_CHECKING:
    from wsquiz.course.quizzes import Quiz

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

FIX = 'write a JSON object {"question-id": "answer", ...} (or the same as TOML)'


@dataclass(frozen=True)
class Sheet:
    """A learner's answers: `{id: answer}`, or a sheet written by `--record`."""

    answers: dict[str, str]
    quiz: str | None = None
    student: str | None = None


def _as_answer(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"an answer is text or a number, not {type(value).__name__}")


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None  # a sheet's label, never an error


Answer = Annotated[str, BeforeValidator(_as_answer)]
Label = Annotated[str | None, BeforeValidator(_text_or_none)]


class ListedAnswer(BaseModel):
    """One entry of a printed key or results: `{"id": ..., "answer": ...}` (more keys ignored)."""

    model_config = ConfigDict(extra="ignore")
    id: Annotated[str, BeforeValidator(str)]
    answer: Answer


class RecordedSheet(BaseModel):
    """A sheet `--record` wrote: the answers under `answers`, labelled by quiz and student."""

    model_config = ConfigDict(extra="ignore")
    quiz: Label = None
    student: Label = None
    answers: dict[str, Answer]


class ListedSheet(BaseModel):
    """What `--key --json` (`questions`) or `--answers --json` (`results`) printed."""

    model_config = ConfigDict(extra="ignore")
    quiz: Label = None
    student: Label = None
    entries: list[ListedAnswer]


class FlatAnswers(RootModel[dict[str, Answer]]):
    """`{id: answer}`, every key a question id."""


def _problem(exc: ValidationError, listed: str | None) -> str:
    """The first error, said in the file's own terms (`questions[0] is not ...`)."""
    error = exc.errors()[0]
    loc = [part for part in error["loc"] if part != "entries"]
    if listed is not None and loc and isinstance(loc[0], int):
        cause = error.get("ctx", {}).get("error")
        if len(loc) > 1 and loc[1] == "answer" and isinstance(cause, ValueError):
            return f"{listed}[{loc[0]}].answer: {cause}"
        return f'{listed}[{loc[0]}] is not an object with "id" and "answer"'
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    return error["msg"]


def _parse(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return tomllib.loads(text)
    except json.JSONDecodeError as exc:
        # a .json file is reported as JSON: TOML's complaint about it would mislead
        raise UsageError(f"{path}: not valid JSON ({exc})", fix=FIX) from None
    except tomllib.TOMLDecodeError as exc:
        what = "not valid TOML" if suffix == ".toml" else "neither JSON nor TOML"
        raise UsageError(f"{path}: {what} ({exc})", fix=FIX) from None


def read_sheet(path: Path) -> Sheet:
    """Read answers from JSON or TOML. Raises UsageError naming the file and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such answers file", fix=FIX) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc})", fix=FIX) from None
    data = _parse(path, text)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the answers must be an object of id -> answer", fix=FIX)
    listed = next((k for k in ("questions", "results") if isinstance(data.get(k), list)), None)
    try:
        if listed is not None:
            sheet = ListedSheet.model_validate({**data, "entries": data[listed]})
            answers = {entry.id: entry.answer for entry in sheet.entries}
            return Sheet(answers, sheet.quiz, sheet.student)
        if isinstance(data.get("answers"), dict):
            recorded = RecordedSheet.model_validate(data)
            return Sheet(dict(recorded.answers), recorded.quiz, recorded.student)
        flat = FlatAnswers.model_validate(data).root
    except ValidationError as exc:
        raise UsageError(f"{path}: {_problem(exc, listed)}", fix=FIX) from None
    student = data.get("student")
    return Sheet(dict(flat), None, student if isinstance(student, str) else None)


def write_sheet(
    path: Path,
    quiz: Quiz,
    answers: dict[str, str],
    score: tuple[int, int] | None = None,
    attempts: dict[str, list[str]] | None = None,
    shown: list[str] | None = None,
    keys: dict[str, str] | None = None,
) -> None:
    """The answer sheet for grading: quiz, answers (each question's first answer, when taken
    interactively), when, the versions that checked them; every attempt and the questions
    whose answer was shown, for the record (grading reads `answers` only)."""
    from wsquiz.engine.stack import current
    from wsquiz.learn.judge import installed_versions

    sheet: dict[str, Any] = {
        "quiz": quiz.name,
        "answers": answers,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": dict(installed_versions()),
        "stack": current().to_dict(),  # a grader on another stack can tell
    }
    if keys is not None:  # the key each answer was judged against, where it was
        sheet["keys"] = keys
    if score is not None:
        sheet["score"], sheet["max_score"] = score
    if attempts is not None:
        sheet["attempts"] = attempts
    if shown is not None:
        sheet["shown"] = shown
    try:
        write_atomic(path, json.dumps(sheet, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot write the answer sheet ({exc})", fix="choose a writable path"
        ) from None
