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
from wsquiz.learn.quiz import Session
from wsquiz.ui.quiz import answer_help, hint_view, question_view, quiz_summary_view, verdict_view

if TYPE_CHECKING:
    from wsquiz.engine.lab import Lab
    from wsquiz.learn.menu import Item
    from wsquiz.learn.progress import Progress

QUIT = {"q", "quit", "exit"}
HINT = {"h", "hint", "?"}


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
    quiz: Quiz, lab: Lab, console: Console, progress: Progress | None = None
) -> dict[str, str]:
    """Run the quiz; return the answers given in this session (question id -> last answer)."""
    session = Session(quiz, lab, progress)
    start = session.start_index()
    total = len(quiz.questions)
    previous = session.previous()
    if start > 0:
        console.print(
            Text(
                f"Resuming {quiz.title} at question {start + 1} of {total} "
                f"({len(previous)} answered before).",
                "cyan",
            )
        )
    else:
        console.print(Text(quiz.title, "bold magenta"))
        if previous and len(previous) >= total:
            console.print(Text("You have answered every question: here they are again.", "cyan"))
        if quiz.description:
            console.print(Text(quiz.description, "dim"))
    questions = quiz.questions
    try:
        for index in range(start, total):
            question = questions[index]
            session.prepare(question)
            if index + 1 < total:
                # the next server starts while the learner reads this one
                session.prepare(questions[index + 1])
            console.print(Rule(style="dim"))
            console.print(question_view(question, index + 1, total))
            _ask_until_done(question, session, console)
    except Quit:
        session.settle()
        if progress is not None:
            console.print(Text(f"Saved. Go on later with: wsquiz quiz {quiz.name}", "cyan"))
        else:
            console.print(Text("Stopped (nothing saved: --no-save).", "cyan"))
    else:
        session.settle()
        console.print(Rule(style="dim"))
    results = {**previous, **{k: v.correct for k, v in session.verdicts.items()}}
    retried = {k for k, v in session.verdicts.items() if v.correct and k in session.missed}
    step, all_done = _next_step(quiz, progress)
    console.print(quiz_summary_view(quiz, results, len(session.verdicts), retried, step, all_done))
    return {k: v.answer for k, v in session.verdicts.items()}


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


def _ask_until_done(question: Question, session: Session, console: Console) -> bool:
    """Ask, judge, show; retry on request. Returns whether the last answer was right."""
    hint_shown = False
    while True:
        console.print(answer_help(question, hint_shown))
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
        problem = _invalid(question, text)
        if problem is not None:
            console.print(Text(problem, "yellow"))
            continue
        verdict, observation = session.answer(question, text)
        console.print(verdict_view(question, verdict, observation, chosen=text))
        choice = "r retry, Enter next, q quit" if not verdict.correct else "Enter next, q quit"
        while True:
            after = _ask(console, f"[dim]{choice}[/] > ").casefold()
            if after in QUIT:
                raise Quit
            if after in ("r", "retry") and not verdict.correct:
                break
            if after in HINT:
                console.print(hint_view(question))
                continue
            if after in ("", "n", "next"):
                return verdict.correct
            # a mistyped `r` must not move on and lose the retry
            console.print(Text(f"{after!r} is not one of these: {choice}", "yellow"))
