"""The interactive quiz at a terminal: a question at a time, checked live, saved after each answer.

Input is plain line input (Rich's `console.input`), so it works in a terminal and from a pipe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from wsquiz.course.quizzes import Question, Quiz
from wsquiz.learn.judge import chosen_letters
from wsquiz.learn.quiz import QuizSession
from wsquiz.ui.quiz import (
    answer_help,
    fitted_question_view,
    hint_view,
    option_code_view,
    quiz_summary_view,
    shown_view,
    verdict_view,
    wrong_view,
)

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.menu import Item
    from wsquiz.learn.progress import Progress

QUIT = {"q", "quit", "exit"}
HINT = {"h", "hint", "?"}
SHOW = {"s", "show"}
NEXT = {"n", "next"}


class Quit(Exception):
    """The learner asked to stop (q, Ctrl-D or Ctrl-C)."""


def _ask(console: Console, prompt: str) -> str:
    try:
        return console.input(prompt).strip()
    except (EOFError, KeyboardInterrupt):
        console.print()
        raise Quit from None


def _invalid(question: Question, text: str) -> str | None:
    if not question.options:
        return None
    letters = chosen_letters(question, text)
    valid = {o.letter for o in question.options}
    if letters is None or not letters <= valid:
        return f"answer with a letter: {', '.join(sorted(valid))}"
    return None


def play(
    quiz: Quiz,
    lab: Lab,
    console: Console,
    progress: Progress | None = None,
    retry_wrong: bool = False,
) -> QuizSession:
    """Run the quiz (or, `retry_wrong`, only its questions not answered right); return the
    session (its answers, attempts and what was shown)."""
    session = QuizSession(quiz, lab, progress)
    total = len(quiz.questions)
    previous = session.previous()
    indexes = list(range(total))
    if retry_wrong:
        again = {q.id for q in session.to_retry()}
        indexes = [i for i, q in enumerate(quiz.questions) if q.id in again]
        console.print(Text(quiz.title, "bold magenta"))
        if not indexes:
            console.print(
                Text("Nothing to retry: every answered question was answered right.", "cyan")
            )
        else:
            console.print(Text(f"Retrying {len(indexes)} question(s) not answered right.", "cyan"))
    else:
        start = session.start_index()
        indexes = indexes[start:]
        _greet(quiz, console, start, total, len(previous))
    questions = quiz.questions
    try:
        for position, index in enumerate(indexes):
            question = questions[index]
            session.prepare(question)
            if position + 1 < len(indexes):
                # the next server starts while the learner reads this one
                session.prepare(questions[indexes[position + 1]])
            console.print(Rule(style="dim"))
            view, collapsed = fitted_question_view(question, index + 1, total, console)
            console.print(view)
            _ask_until_done(question, session, console, collapsed)
    except Quit:
        session.settle()
        if progress is not None:
            console.print(Text(f"Saved. Go on later with: wsquiz quiz {quiz.name}", "cyan"))
        else:
            console.print(Text("Stopped (nothing saved: --no-save).", "cyan"))
    else:
        session.settle()
        console.print(Rule(style="dim"))
    step, all_done = _next_step(quiz, progress)
    answered = sum(1 for a in session.asked.values() if a.attempts or a.shown)
    console.print(quiz_summary_view(quiz, dict(session.outcomes()), answered, step, all_done))
    return session


def _greet(quiz: Quiz, console: Console, start: int, total: int, answered: int) -> None:
    if start > 0:
        console.print(
            Text(
                f"Resuming {quiz.title} at question {start + 1} of {total} "
                f"({answered} answered before).",
                "cyan",
            )
        )
        return
    console.print(Text(quiz.title, "bold magenta"))
    if answered and answered >= total:
        console.print(
            Text(
                "You have answered every question: here they are again "
                f"(only those not right: wsquiz quiz {quiz.name} --retry-wrong).",
                "cyan",
            )
        )
    if quiz.description:
        console.print(Text(quiz.description, "dim"))


def _next_step(quiz: Quiz, progress: Progress | None) -> tuple[Item | None, bool]:
    """Where the course goes on from here (wsquiz's own "next"), and whether all is done."""
    from wsquiz.errors import WsquizError
    from wsquiz.learn.menu import build_menu, next_after
    from wsquiz.learn.progress import Progress

    root = quiz.path.parent.parent
    try:
        if progress is not None:
            menu = build_menu(root, progress)
            return menu.next, menu.next is None and bool(menu.items)
        with Progress(quiet=True) as store:  # --no-save: read where the learner stands
            return next_after(build_menu(root, store), "quiz", quiz.name), False
    except WsquizError:
        return None, False


def _ask_until_done(
    question: Question, session: QuizSession, console: Console, collapsed: bool = False
) -> None:
    """Unlock-style: ask until the answer is right, shown (`s`) or passed (`n`), then wait for
    Enter. A wrong answer never shows the key."""
    hint_shown = False
    tried = False
    while True:
        console.print(answer_help(question, hint_shown, tried, collapsed))
        text = _ask(console, "answer> ")
        if not text:
            continue
        lowered = text.casefold()
        if lowered in QUIT:
            raise Quit
        if lowered in HINT:
            console.print(hint_view(question))
            hint_shown = True
            continue
        if lowered in SHOW:
            key, observation = session.show(question)
            console.print(shown_view(question, key, observation))
            break
        if tried and lowered in NEXT:
            return
        if collapsed and lowered.startswith("v "):
            console.print(option_code_view(question, lowered[2:].strip()))
            continue
        problem = _invalid(question, text)
        if problem is not None:
            console.print(Text(problem, "yellow"))
            continue
        attempt = session.attempt(question, text)
        if attempt.right:
            console.print(verdict_view(question, attempt.verdict, attempt.observation, text))
            break
        tried = True
        console.print(wrong_view(question, attempt))
    _after(question, console)


def _after(question: Question, console: Console) -> None:
    """After the answer is known: Enter goes on."""
    choice = "Enter next, q quit"
    while True:
        after = _ask(console, f"[dim]{choice}[/] > ").casefold()
        if after in QUIT:
            raise Quit
        if after in HINT:
            console.print(hint_view(question))
            continue
        if after in ("", "n", "next"):
            return
        console.print(Text(f"{after!r} is not one of these: {choice}", "yellow"))
