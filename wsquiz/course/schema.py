"""The one schema approach of the course's files: a pydantic base model, and the translation of
pydantic's errors into located `Problem`s (file, where, key, message, fix).

Quizzes, lessons' front matter and exercises each declare their format as models built on
`ContentModel`; `located_problems` words their errors alike: an unknown key with the likeliest
one meant and the keys allowed there, a missing key, a value that is not one of those allowed.
A check a model makes itself raises `invalid(message, fix)`, which keeps its own words and fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from wsquiz._support.names import did_you_mean, suggest, unknown_key
from wsquiz.course.problems import Problem, quoted

Loc = tuple[int | str, ...]
# Where in the file an error is (`question "echo"`, `check "one"`, `front matter`), and the
# part of its location that remains to be named as the key.
Place = Callable[[Loc], tuple[str, Loc]]


class ContentModel(BaseModel):
    """A table of a content file: no key beyond those declared, `is` usable for `is_`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def invalid(message: str, fix: str, *, absent: bool = False) -> PydanticCustomError:
    """A model's own check failing, worded as it should be shown. `absent`: the value is not
    there at all, so a misspelt key nearby explains it (and it is not reported twice)."""
    return PydanticCustomError("wsquiz", message, {"fix": fix, "absent": absent})


def as_text(value: Any) -> Any:
    """TOML lets authors write `is = 1000`; every compared value is text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def one_or_many(value: Any) -> Any:
    """`claim = { ... }` and `claim = [{ ... }, ...]` both mean a list."""
    return [value] if isinstance(value, dict) else value


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a model's table allows, as written in the file."""
    return [f.alias or n for n, f in model.model_fields.items()]


def key_text(loc: Loc) -> str:
    """('options', 1, 'claim') -> 'options[1].claim'."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model whose keys are allowed at `loc` (its last part being the offending key)."""
    model: type[BaseModel] | None = root
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


def _no_place(loc: Loc) -> tuple[str, Loc]:
    return "", loc


def located_problems(
    exc: ValidationError,
    root: type[BaseModel],
    file: str,
    place: Place = _no_place,
    *,
    docs: str = "docs/authoring.md",
) -> list[Problem]:
    """Every error of `exc` (raised validating `root`) as a Problem located in `file`."""
    errors = exc.errors()
    # A misspelt key also makes the right one absent: report only the misspelling.
    suggested = {
        (*e["loc"][:-1], suggest(str(e["loc"][-1]), keys_of(model)))
        for e in errors
        if e["type"] == "extra_forbidden" and (model := model_at(root, tuple(e["loc"]))) is not None
    }
    problems: list[Problem] = []
    for error in errors:
        loc: Loc = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        absent = error["type"] == "missing" or (error["type"] == "wsquiz" and ctx.get("absent"))
        if absent and loc in suggested:
            continue
        where, rest = place(loc)
        key = key_text(rest)
        last = str(loc[-1]) if loc else ""
        message, fix = _words(error, root, loc, key, last, docs)
        problems.append(Problem(file, where, key, message, fix))
    return problems


def _words(
    error: Any, root: type[BaseModel], loc: Loc, key: str, last: str, docs: str
) -> tuple[str, str]:
    kind = error["type"]
    if kind == "wsquiz":
        return error["msg"], str(error["ctx"]["fix"])
    if kind == "extra_forbidden":
        model = model_at(root, loc)
        if model is None:
            return f"unknown key {quoted(last)}", "remove it"
        return unknown_key(last, keys_of(model))
    if kind == "missing":
        return f"{last!r} is missing", f"add {last} = ... (see {docs})"
    if kind == "literal_error":
        allowed = [a.strip("'") for a in re.findall(r"'[^']*'", error["ctx"]["expected"])]
        given = str(error.get("input"))
        fix = f"use one of: {', '.join(allowed)}"
        if last in ("from", "of"):
            fix += f" ({docs} lists what each one reads)"
        return f"{key or last} = {quoted(given)} is not allowed{did_you_mean(given, allowed)}", fix
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key or 'the file'}: {message}", f"see {docs} for the format"
