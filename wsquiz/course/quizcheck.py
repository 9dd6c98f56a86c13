"""The checks of a quiz that its models cannot make: app files exist, scenarios are well formed,
claims name clients that connect, and what each kind of question needs (a choice's key is
observed live, a concept has one correct option, ...). Each runs on a parsed `QuestionFile`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from wsquiz._support.names import close_names, did_you_mean
from wsquiz.course.problems import Problem
from wsquiz.course.problems import quoted as _q
from wsquiz.course.quizfile import QuestionFile
from wsquiz.course.schema import keys_of
from wsquiz.engine.scenario import Scenario

Add = Callable[[str, str, str], None]


def apps_dir(quiz_path: Path) -> Path:
    return quiz_path.parent / "apps"


def question_app(name: str, quiz_path: Path) -> Path:
    """`echo_once.py` (or `echo_once`) -> quizzes/apps/echo_once.py."""
    file = name if name.endswith(".py") else f"{name}.py"
    return (apps_dir(quiz_path) / file).resolve()


def question_problems(question: QuestionFile, path: Path, rel: str, where: str) -> list[Problem]:
    """What is wrong with one question beyond its schema."""
    problems: list[Problem] = []

    def add(key: str, message: str, fix: str) -> None:
        problems.append(Problem(rel, where, key, message, fix))

    clients = _check_runs(question, path, add)
    for key, claim in _claims_in(question):
        if claim.client is not None and clients and claim.client not in clients:
            add(
                key + ".client",
                f"client {_q(claim.client)} never connects in the scenario"
                f"{did_you_mean(claim.client, clients)}",
                f"the scenario's clients are: {', '.join(clients)}",
            )
    if question.kind == "predict":
        _check_predict(question, add)
    elif question.kind == "choice":
        _check_choice(question, add)
    else:
        _check_concept(question, add)
    return problems


def _check_runs(question: QuestionFile, path: Path, add: Add) -> list[str]:
    """The app files and the scenario; the names of the clients that connect in it."""
    if question.app is not None:
        _check_app(question.app, path, "app", add)
    for i, option in enumerate(question.options):
        if option.app is not None:
            _check_app(option.app, path, f"options[{i}].app", add)
    clients: list[str] = []
    if question.scenario is not None:
        clients = _check_scenario(question.scenario, question.timeout, add)
    runs_options = any(o.app for o in question.options)
    if question.scenario is not None and question.app is None and not runs_options:
        add(
            "app",
            "a scenario needs an app to run against",
            'add app = "name.py" (a file in quizzes/apps/)',
        )
    if (question.app is not None or runs_options) and question.scenario is None:
        add(
            "scenario",
            "the question runs an app but has no scenario",
            'add scenario = [{ connect = "/ws" }, ...] (see docs/authoring.md)',
        )
    if question.claims and question.scenario is None:
        add(
            "claims",
            "claims are checked against the live server, but there is no scenario",
            "add an app and a scenario, or move the statement into the explanation",
        )
    return clients


def _check_options(question: QuestionFile, add: Add) -> None:
    if len(question.options) < 2:
        add(
            "options",
            f"a {question.kind} question needs at least two options",
            "add [[questions.options]] tables with text = ...",
        )


def _check_predict(question: QuestionFile, add: Add) -> None:
    if question.answer is None:
        add(
            "answer",
            "a predict question needs an answer source",
            'add answer = { from = "reply" } (or close_code, server_error, ...)',
        )
    elif question.answer.from_ == "option":
        add(
            "answer.from",
            "a predict question has no options to pick from",
            'read a value instead, e.g. answer = { from = "reply" }',
        )
    if question.options:
        add(
            "options",
            "a predict question takes a free answer, not options",
            'remove the options, or make it kind = "choice"',
        )
    if question.scenario is None:
        add(
            "scenario",
            "a predict question is answered by the live server",
            "add an app and a scenario whose observation holds the answer",
        )


def _check_choice(question: QuestionFile, add: Add) -> None:
    _check_options(question, add)
    answer = question.answer
    if answer is not None and answer.from_ != "option":
        add(
            "answer.from",
            "a choice question is answered by its options",
            'use answer = { from = "option", where = [...] } or leave answer out',
        )
    where_claims = answer.where if answer is not None else ()
    for i, option in enumerate(question.options):
        if option.correct:
            add(
                f"options[{i}].correct",
                "a choice question's key is observed live, not stored",
                'give each option a claim (or use kind = "concept")',
            )
        if not option.claim and not where_claims:
            add(
                f"options[{i}]",
                "this option has no claim to check against the server",
                'add claim = { of = "...", is = "..." }, or answer.where for variants',
            )
    if question.scenario is None:
        add(
            "scenario",
            "a choice question is checked against the live server",
            'add an app and a scenario, or make it kind = "concept"',
        )


def _check_concept(question: QuestionFile, add: Add) -> None:
    _check_options(question, add)
    correct = [o for o in question.options if o.correct]
    if len(correct) != 1:
        add(
            "options",
            f"a concept question needs exactly one option with correct = true "
            f"(found {len(correct)})",
            "mark the right option with correct = true",
        )
    if question.answer is not None:
        add(
            "answer",
            "a concept question's answer is its correct option",
            "remove answer, or make it a choice/predict question checked live",
        )


def _claims_in(question: QuestionFile) -> list[tuple[str, Any]]:
    """Every table that names a client: the answer, its claims, the claims, the quote."""
    found: list[tuple[str, Any]] = []
    if question.answer is not None:
        found.append(("answer", question.answer))
        found += [(f"answer.where[{i}]", c) for i, c in enumerate(question.answer.where)]
    found += [(f"claims[{i}]", c) for i, c in enumerate(question.claims)]
    for i, option in enumerate(question.options):
        found += [(f"options[{i}].claim[{j}]", c) for j, c in enumerate(option.claim)]
    if question.quote is not None:
        found.append(("quote", question.quote))
    return found


def _check_app(name: str, quiz_path: Path, key: str, add: Add) -> None:
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


def _check_scenario(steps: list[dict[str, Any]], timeout: float | None, add: Add) -> list[str]:
    from wsquiz.engine.scenario import ACTIONS, Step

    if not steps:
        add(
            "scenario",
            "scenario must be a non-empty list of steps",
            'write scenario = [{ connect = "/ws" }, { send = "hi" }, { receive = 1 }]',
        )
        return []
    step_keys = keys_of(Step)
    for i, step in enumerate(steps, 1):
        for key in step:
            if key not in step_keys:
                add(
                    f"scenario[{i - 1}].{key}",
                    f"scenario step {i}: unknown key {_q(key)}{did_you_mean(key, step_keys)}",
                    f"a step has one action of: {', '.join(ACTIONS)}",
                )
    try:
        scenario = Scenario.from_steps(steps, timeout=timeout)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "extra_forbidden":
                continue  # reported above with a suggestion
            number = f"step {loc[1] + 1}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            field = ".".join(str(p) for p in loc[2:])
            message = error["msg"].removeprefix("Value error, ")
            add(
                "scenario",
                f"scenario {number} {field}: {message}".replace("  ", " "),
                "see the scenario steps in docs/authoring.md",
            )
        return []
    return scenario.clients
