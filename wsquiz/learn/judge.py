"""Answers against observations: play a question live, read its key, judge an answer.

Nothing here stores a key a server can show: `key_of` reads it from the observation each time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wsquiz.course.problems import Problem
from wsquiz.course.quizzes import Claim, Option, Question
from wsquiz.engine.stack import applies
from wsquiz.learn.matching import (
    NAMES,
    NUMERIC,
    answer_number,
    chosen_letters,
    compare,
    format_number,
    letters_of,
    matches,
    normalise,
    quoted_texts,
    without_trailing_stop,
)
from wsquiz.learn.observing import (
    Observation,
    Run,
    describe_missing,
    installed_versions,
    observe_question,
    observe_question_async,
    trusted,
    value_of,
    versions_text,
)

__all__ = [
    "NAMES",
    "NUMERIC",
    "Observation",
    "QuoteCheck",
    "Run",
    "Verdict",
    "answer_number",
    "audit",
    "check_quote",
    "chosen_letters",
    "claim_holds",
    "describe_missing",
    "format_number",
    "installed_versions",
    "judge",
    "key_letters",
    "key_of",
    "letters_of",
    "matches",
    "normalise",
    "observe_question",
    "observe_question_async",
    "option_holds",
    "quoted_texts",
    "trusted",
    "value_of",
    "versions_text",
    "without_trailing_stop",
]


@dataclass(frozen=True)
class Verdict:
    question: str
    correct: bool
    answer: str
    observed: str
    message: str
    nearly: bool = False  # not right, but for the case of letters the server sent exactly

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.question,
            "answer": self.answer,
            "observed": self.observed,
            "correct": self.correct,
        }


def claim_holds(claim: Claim, run: Run | None) -> tuple[bool, str | None]:
    observed = value_of(claim.of, run, claim.index, claim.client)
    if claim.test == "contains":
        holds = observed is not None and claim.expected.casefold() in observed.casefold()
    else:
        holds = matches(claim.of, claim.expected, observed, run)
    return holds, observed


# ---- keys and verdicts ----------------------------------------------------------------------


def option_holds(question: Question, option: Option, observation: Observation) -> bool:
    run = observation.run_for(option)
    claims = option.claims + (question.answer.where if question.answer else ())
    claims = tuple(c for c in claims if applies(c.when))  # a claim bounded to other stacks
    return bool(claims) and all(claim_holds(c, run)[0] for c in claims)


def key_letters(question: Question, observation: Observation) -> list[str]:
    if question.kind == "concept":
        return [o.letter for o in question.options if o.correct]
    return [o.letter for o in question.options if option_holds(question, o, observation)]


def key_of(question: Question, observation: Observation) -> str:
    """The answer key as observed live (a stored letter only for concept questions)."""
    if question.kind in ("choice", "concept"):
        return ", ".join(key_letters(question, observation)) or "none"
    assert question.answer is not None
    answer = question.answer
    value = value_of(answer.from_, observation.main, answer.index, answer.client)
    return value if value is not None else "none"


def judge(question: Question, answer: str, observation: Observation) -> Verdict:
    observed = key_of(question, observation)
    given = answer.strip()
    if question.kind in ("choice", "concept"):
        chosen = chosen_letters(question, given)
        valid = {o.letter for o in question.options}
        correct = chosen is not None and chosen == frozenset(key_letters(question, observation))
        if chosen is not None and not chosen <= valid:
            message = f"answer with a letter of {', '.join(sorted(valid))}"
        elif correct:
            message = "Right."
        else:
            message = f"Not quite: the answer is {observed}."
        return Verdict(question.id, correct, given, observed, message)
    assert question.answer is not None
    source = question.answer.from_
    run = observation.main
    raw = value_of(source, run, question.answer.index, question.answer.client)
    names = (
        frozenset(c.casefold() for c in question.scenario.clients) if question.scenario else None
    )
    found = compare(source, given, raw, run, question.answer.case == "ignore", names or frozenset())
    correct = found == "yes"
    shown = observed if raw is not None else describe_missing(source, run)
    if correct:
        message = f"Right: the server shows {shown}."
        if source == "server_error" and run is not None and run.first_error is not None:
            error = run.first_error
            named = [n.rsplit(".", 1)[-1] for n in re.findall(r"[A-Za-z_][\w.]*", given)]
            base = next(
                (
                    b.rsplit(".", 1)[-1]
                    for n in named
                    for b in error.bases
                    if b.rsplit(".", 1)[-1].casefold() == n.casefold()
                ),
                None,
            )
            if base is not None and not any(n.casefold() == error.name.casefold() for n in named):
                message = f"Right: the server raised {error.name}, a subclass of {base}."
    else:
        message = f"Not quite: you said {given or '(nothing)'}; the server shows {shown}."
    return Verdict(question.id, correct, given, observed, message, nearly=found == "case")


# ---- auditing content against the live server ----------------------------------------------


@dataclass(frozen=True)
class QuoteCheck:
    quoted: str
    source: str
    observed: str | None
    same: bool
    versions: str
    package: str = ""  # the package that printed it, with its version (`starlette 1.10.0`)


def check_quote(question: Question, observation: Observation) -> QuoteCheck | None:
    quote = question.quote
    if quote is None:
        return None
    from wsquiz.engine.stack import responsible

    observed = value_of(quote.of, observation.main, quote.index, quote.client)
    same = observed is not None and normalise(quote.text) == normalise(observed)
    error = observation.main.first_error if observation.main is not None else None
    package = responsible(quote.of, *((error.type, error.traceback) if error else ()))
    return QuoteCheck(quote.text, quote.source, observed, same, versions_text(), package)


def audit(question: Question, observation: Observation, file: str) -> list[Problem]:
    """Where the stored content contradicts what the installed server does now."""
    problems: list[Problem] = []
    where = f'question "{question.id}"'
    now = f"({versions_text()})"

    def add(key: str, message: str, fix: str) -> None:
        problems.append(Problem(file, where, key, message, fix))

    runs = [observation.main, *observation.variants]
    for run in runs:
        if run is not None and run.failure is not None:
            add(
                "app",
                f"{run.app.name} could not be run: {run.failure}",
                "run `wsquiz probe` on it and correct the app",
            )
    if question.kind == "predict" and question.answer is not None:
        answer = question.answer
        value = value_of(answer.from_, observation.main, answer.index, answer.client)
        if value is None:
            add(
                "answer",
                f"the answer is read from {answer.from_}, but the server shows "
                f"{describe_missing(answer.from_, observation.main)} {now}",
                "correct the scenario (does it receive?) or the answer's source and index",
            )
    if question.kind == "choice":
        letters = key_letters(question, observation)
        if not letters:
            add(
                "options",
                f"no option's claim holds against the live server {now}",
                "correct the options' claims (or answer.where) to what the server does",
            )
    for i, claim in enumerate(question.claims):
        if not applies(claim.when):
            continue  # not claimed on this stack
        holds, observed = claim_holds(claim, observation.main)
        if not holds:
            seen = (
                observed if observed is not None else describe_missing(claim.of, observation.main)
            )
            add(
                f"claims[{i}]",
                f'the content claims {claim.describe()}, but the server now shows "{seen}" {now}',
                "update the claim and the explanation to what the server does, or the app",
            )
    return problems
