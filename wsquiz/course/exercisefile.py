"""The exercise format (`exercise.toml`, docs/exercises.md) as pydantic models: an exercise,
its checks, and what each check compares (`Expect`). Loading the folder is `exercises.py`.

A check's `expect` names clients of the check's own scenario: the scenario, validated first,
leaves its clients in the validation context for `Expect` to check the names against.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictInt, ValidationError, ValidationInfo, field_validator

from wsquiz.course.schema import ContentModel, invalid
from wsquiz.engine.scenario import Scenario

Compare = Literal["reference", "ignore"]
SLUG = r"^[a-z0-9][a-z0-9-]*$"


def _clients(info: ValidationInfo) -> list[str] | None:
    context = info.context if isinstance(info.context, dict) else {}
    found = context.get("clients")
    return found if isinstance(found, list) else None


def _choice(key: str, value: Any, allowed: tuple[str, ...], default: str) -> Any:
    if value not in allowed:
        raise invalid(f"{key} = {value!r} is not one of {allowed}", f'write {key} = "{default}"')
    return value


class Expect(ContentModel):
    """What a check compares between the learner's observation and the reference's."""

    replies: Compare | dict[str, tuple[str, ...]] = "reference"
    clients: tuple[str, ...] | None = None
    silent: tuple[str, ...] = ()
    handshake: Compare = "reference"
    close: Compare | int | dict[str, int] = "ignore"
    server_errors: Literal["reference", "none", "ignore"] = "ignore"
    concurrent: tuple[str, ...] = ()  # served at the same time: their messages interleave

    @field_validator("handshake", mode="before")
    @classmethod
    def _handshake(cls, value: Any) -> Any:
        return _choice("handshake", value, ("reference", "ignore"), "reference")

    @field_validator("server_errors", mode="before")
    @classmethod
    def _server_errors(cls, value: Any) -> Any:
        return _choice("server_errors", value, ("reference", "none", "ignore"), "ignore")

    @field_validator("replies", "close")
    @classmethod
    def _per_client(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            cls._known(tuple(value), info)
        return value

    @field_validator("clients", "silent", "concurrent")
    @classmethod
    def _named(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> Any:
        if value is not None:
            cls._known(value, info)
        if info.field_name == "concurrent" and value and len(set(value)) < 2:
            raise invalid(
                "concurrent names at least two clients (those served at the same time)",
                'write concurrent = ["first", "second"]',
            )
        return value

    @staticmethod
    def _known(names: tuple[str, ...], info: ValidationInfo) -> None:
        clients = _clients(info)
        unknown = [name for name in names if clients is not None and name not in clients]
        if clients is not None and unknown:
            raise invalid(
                f"no client named {unknown[0]!r} in the scenario "
                f"(its clients: {', '.join(sorted(clients))})",
                "name a client that connects in the scenario",
            )


class Check(ContentModel):
    """One check of an exercise: a scenario played against the learner's app and the
    reference solution, and what of the two observations must agree."""

    name: str = Field(pattern=SLUG)
    points: StrictInt = Field(default=1, ge=0)
    description: str = ""
    hint: str = ""  # shown when this check fails (else the exercise's hint)
    timeout: float | None = Field(default=None, gt=0, le=60)
    scenario: Scenario
    expect: Expect = Field(default_factory=Expect)

    @field_validator("scenario", mode="before")
    @classmethod
    def _scenario(cls, value: Any, info: ValidationInfo) -> Any:
        context = info.context if isinstance(info.context, dict) else None
        if context is not None:
            context["clients"] = None  # until this check's scenario is known good
        if not isinstance(value, list) or not value:
            raise invalid("no scenario", 'add scenario = [{ connect = "/ws" }, ...]')
        try:
            scenario = Scenario.from_steps(value, timeout=info.data.get("timeout"))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(part) for part in first["loc"]).replace("steps.", "step ", 1)
            raise invalid(
                f"{loc}: {first['msg']}",
                "see docs/exercises.md for the steps (connect, send, receive, close, ...)",
            ) from None
        if context is not None:
            context["clients"] = scenario.clients
        return scenario


class ExerciseFile(ContentModel):
    """`exercise.toml`. The folder's name is the exercise's: `name`, if given, must match it
    (the validation context's `folder`)."""

    name: str = ""
    title: str = Field(default="", validate_default=True)
    endpoint: str = ""
    statement: str = Field(default="", validate_default=True)
    hint: str = ""
    serve: Literal["per-check", "once"] = "per-check"
    checks: tuple[Check, ...] = Field(default=(), validate_default=True)

    @field_validator("name")
    @classmethod
    def _folder(cls, value: str, info: ValidationInfo) -> str:
        context = info.context if isinstance(info.context, dict) else {}
        folder, name = context.get("folder"), context.get("name")
        if value.strip() and name and value.strip() != name:
            raise invalid(
                f"name {value.strip()!r} does not match the folder {folder!r}",
                f"write name = {name!r}, or rename the folder",
            )
        return value.strip()

    @field_validator("title", "statement")
    @classmethod
    def _given(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise invalid(f"{info.field_name!r} is missing", f'add {info.field_name} = "..."')
        return value.strip()

    @field_validator("hint", "endpoint")
    @classmethod
    def _stripped(cls, value: str) -> str:
        return value.strip()

    @field_validator("checks")
    @classmethod
    def _some(cls, value: tuple[Check, ...]) -> tuple[Check, ...]:
        if not value:
            raise invalid("no checks", "add at least one [[checks]] table")
        names = [check.name for check in value]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice is not None:
            raise invalid(f"two checks are named {twice!r}", "give each check its own name")
        return value
