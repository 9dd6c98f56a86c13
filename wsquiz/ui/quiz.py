"""A quiz question's views: the code, the options, the live check, the verdict, the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from wsquiz.course.quizzes import Option, Question, Quiz
    from wsquiz.learn.judge import Observation, Run, Verdict
    from wsquiz.learn.menu import Item
    from wsquiz.learn.quiz import Attempt
from wsquiz.ui.code import NARROW, ByWidth, code_panel
from wsquiz.ui.course import step_text
from wsquiz.ui.transcript import load_error_view, transcript_view


def question_view(
    question: Question,
    number: int,
    total: int,
    collapsed: bool = False,
    prompt_last: bool = False,
) -> Group:
    """A question as the learner first sees it: prompt, code, options. `collapsed`: each
    option's own app is one line (`v A` shows its code), so that all fits a short terminal;
    `prompt_last`: the question's text after the code, just above the answer prompt."""
    head = Text.assemble(
        (f"{question.quiz} {number}/{total}", "bold magenta"),
        ("  ", ""),
        (question.id, "dim"),
        ("  ", ""),
        (question.kind, "dim italic"),
    )
    prompt = Text(question.prompt, "bold")
    parts: list[RenderableType] = [head] if prompt_last else [head, prompt]
    if question.app is not None:
        parts.append(code_panel(question.app))
    if prompt_last:
        parts.append(prompt)
    for option in question.options:
        label = f"{option.letter}) {option.text}"
        if option.app is not None and not collapsed:
            parts.append(code_panel(option.app, title=f"{label}  [dim]{option.app.name}[/]"))
        elif option.app is not None:
            lines = len(option.app.read_text(encoding="utf-8", errors="replace").splitlines())
            shown = f"{option.text}  ({option.app.name}, {lines} lines: v {option.letter} shows it)"
            parts.append(option_line(option.letter, shown))
        else:
            parts.append(option_line(option.letter, option.text))
    return Group(*parts)


def option_code_view(question: Question, letter: str) -> RenderableType:
    """One option's own app, for `v LETTER` in a collapsed question."""
    option = next((o for o in question.options if o.letter == letter.upper()), None)
    if option is None or option.app is None:
        with_code = ", ".join(o.letter for o in question.options if o.app is not None)
        return Text(f"no option {letter!r} with code here (options with code: {with_code})")
    label = f"{option.letter}) {option.text}"
    return code_panel(option.app, title=f"{label}  [dim]{option.app.name}[/]")


def fitted_question_view(
    question: Question, number: int, total: int, console: Console
) -> tuple[Group, bool]:
    """The question as tall as the terminal allows with its text and the answer prompt still on
    the screen: the options' code panels collapse to a line each when the whole would not fit
    (then True), and the question's text goes after the code when it would still scroll away."""
    reserve = 3  # the answer help line, the prompt, a line of slack

    def fits(view: Group) -> bool:
        return (
            len(console.render_lines(view, console.options, pad=False)) + reserve <= console.height
        )

    full = question_view(question, number, total)
    if fits(full):
        return full, False
    collapsible = any(o.app is not None for o in question.options)
    if collapsible:
        collapsed = question_view(question, number, total, collapsed=True)
        if fits(collapsed):
            return collapsed, True
    return question_view(question, number, total, collapsible, prompt_last=True), collapsible


def option_line(letter: str, text: str, style: str = "", indent: str = "  ") -> Table:
    """`  B) text`, where a text too long for a line goes on under the text, not the letter."""
    line = Table.grid(padding=(0, 1))
    line.add_column(no_wrap=True)
    line.add_column()
    line.add_row(Text(f"{indent}{letter})", style), Text(text, style))
    return line


def answer_help(
    question: Question, hint_shown: bool = False, tried: bool = False, collapsed: bool = False
) -> Text:
    if question.options:
        letters = ", ".join(o.letter for o in question.options)
        ask = f"answer with a letter ({letters})"
    else:
        ask = "type your prediction"
    if tried:
        ask = f"try again: {ask}"
    keys = [] if hint_shown or not question.hint else ["h hint"]
    if collapsed:
        keys.append("v LETTER shows an option's code")
    keys.append("s show the answer")
    if tried:
        keys.append("n next")
    keys.append("q quit")
    return Text(f"{ask}; {', '.join(keys)}", "dim")


def wrong_view(question: Question, attempt: Attempt) -> Group:
    """A wrong answer, unlock-style: said wrong, and of the live check only what does not give
    the key away: the runs of the options the learner chose that have their own app."""
    from wsquiz.learn.judge import chosen_letters

    parts: list[RenderableType] = []
    picked = chosen_letters(question, attempt.verdict.answer) or frozenset()
    for option, run in zip(question.options, attempt.observation.variants, strict=True):
        if run is not None and option.letter in picked:
            parts.append(run_view(run, f"live check {option.letter}) {run.app.name}"))
    mark, style = ("≈", "bold yellow") if attempt.status == "nearly" else ("✘", "bold red")
    parts.append(Text(f"{mark} {attempt.feedback}", style))
    return Group(*parts)


def shown_view(question: Question, key: str, observation: Observation) -> Group:
    """The answer, asked for: the live check, the key, the explanation."""
    parts: list[RenderableType] = [live_check_view(question, observation)]
    parts.append(Text(f"The answer: {key} (this question counts as shown).", "bold cyan"))
    if question.kind == "concept":
        for option in question.options:
            if option.correct:
                parts.append(option_line(option.letter, option.text, "green"))
    for option in question.options:
        if option.explanation and option.app is not None:
            parts.append(option_line(option.letter, option.explanation, "dim"))
    if question.explanation:
        parts.append(
            Panel(Text(question.explanation), title="why", title_align="left", border_style="green")
        )
    return Group(*parts)


def run_view(run: Run, title: str) -> RenderableType:
    if run.load_error is not None:
        view = load_error_view(run.load_error)
        view.title = f"{title}: the app did not load"
        return view
    if run.transcript is None:
        return Panel(Text(run.failure or "not run", "red"), title=title, border_style="red")
    return transcript_view(run.transcript, title=title)


def live_check_view(question: Question, observation: Observation) -> Group:
    """What the server(s) really did for this question."""
    parts: list[RenderableType] = []
    if observation.main is not None:
        parts.append(run_view(observation.main, f"live check: {observation.main.app.name}"))
    for option, run in zip(question.options, observation.variants, strict=True):
        if run is not None:
            parts.append(run_view(run, f"live check {option.letter}) {run.app.name}"))
    if question.kind == "choice":
        parts.append(options_check_view(question, observation))
    return Group(*parts)


def _run_summary(run: Run | None) -> str:
    from wsquiz.learn.judge import value_of

    if run is None:
        return "not run"
    if run.load_error is not None:
        return f"did not start: {run.load_error.problem}"
    if run.failure is not None:
        return run.failure
    status = value_of("handshake_status", run) or "no handshake"
    error = value_of("server_error", run)
    raised = f", raised {error}" if error and error != "none" else ""
    return f"handshake {status}{raised}"


def _evidence(question: Question, option: Option, run: Run | None) -> str:
    """What decides the option: the value of each thing its claim is about (the question's
    own condition included), as observed; for an option's own app that did not run, why."""
    from wsquiz.learn.judge import claim_holds

    claims = option.claims + (question.answer.where if question.answer else ())
    if option.app is not None and (run is None or not run.started or not claims):
        return _run_summary(run)
    return "\n".join(
        f"{f'{c.client}: ' if c.client else ''}{c.of} = {claim_holds(c, run)[1] or 'nothing'}"
        for c in claims
    )


def options_check_view(question: Question, observation: Observation) -> RenderableType:
    """Each option checked against the server: does its claim hold, and on what evidence?"""
    from wsquiz.learn.judge import option_holds

    rows: list[tuple[Text, Table, Text]] = []
    for option in question.options:
        holds = option_holds(question, option, observation)
        seen = _evidence(question, option, observation.run_for(option))
        mark = Text("✔", "green") if holds else Text("✘", "red")
        rows.append((mark, option_line(option.letter, option.text, indent=""), Text(seen, "dim")))

    def build(width: int) -> RenderableType:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("", width=2)
        table.add_column("option")
        if width < NARROW:  # the evidence under the option's text, not squeezed beside it
            for mark, line, seen in rows:
                table.add_row(mark, Group(line, Text.assemble("   ", seen)))
            return table
        table.add_column("observed", max_width=max(20, width * 2 // 5))
        for row in rows:
            table.add_row(*row)
        return table

    return ByWidth(build)


def verdict_view(
    question: Question, verdict: Verdict, observation: Observation, chosen: str = ""
) -> Group:
    """The live check, the verdict, the explanation (and what the original text got wrong)."""
    parts: list[RenderableType] = [live_check_view(question, observation)]
    mark, style = ("✔", "bold green") if verdict.correct else ("✘", "bold red")
    parts.append(Text(f"{mark} {verdict.message}", style))
    if question.kind == "concept" and not verdict.correct:
        right = next((o for o in question.options if o.correct), None)
        if right is not None:
            parts.append(option_line(right.letter, right.text, "green"))
    from wsquiz.learn.judge import check_quote, letters_of

    picked = letters_of(chosen) or frozenset()
    for option in question.options:
        if option.explanation and (option.letter in picked or option.app is not None):
            parts.append(option_line(option.letter, option.explanation, "dim"))
    quote = check_quote(question, observation)
    if quote is not None and not quote.same:
        shown = quote.observed if quote.observed is not None else "(nothing)"
        printed_by = quote.package or quote.versions
        parts.append(
            Panel(
                Text.assemble(
                    (f"{quote.source.capitalize()} quotes:\n  ", ""),
                    (quote.quoted, "italic"),
                    (f"\nThe installed server ({printed_by}) printed:\n  ", ""),
                    (shown, "bold"),
                ),
                title="versions differ",
                border_style="yellow",
                title_align="left",
            )
        )
    if question.explanation:
        parts.append(
            Panel(Text(question.explanation), title="why", title_align="left", border_style="green")
        )
    return Group(*parts)


def hint_view(question: Question) -> Text:
    return Text(f"hint: {question.hint or 'no hint for this one'}", "yellow")


OUTCOME_CELLS: dict[str, tuple[str, str]] = {
    "right_first_try": ("✔ right", "green"),
    "right_after_retry": ("✔ right after a retry", "yellow"),
    "shown": ("shown", "cyan"),
    "wrong": ("✘ wrong", "red"),
    "unanswered": ("not answered", "dim"),
}


def outcome_counts_text(counts: dict[str, int], first: bool = True) -> str:
    """`2 right first try, 1 right after a retry, 1 shown, 0 wrong, 1 unanswered` (`first`:
    with the first tries)."""
    said = [f"{counts.get('right_first_try', 0)} right first try"] if first else []
    said += [
        f"{counts.get('right_after_retry', 0)} right after a retry",
        f"{counts.get('shown', 0)} shown",
        f"{counts.get('wrong', 0)} wrong",
        f"{counts.get('unanswered', 0)} unanswered",
    ]
    return ", ".join(said)


def quiz_summary_view(
    quiz: Quiz,
    outcomes: dict[str, str],
    answered_now: int,
    next_step: Item | None = None,
    all_done: bool = False,
) -> Group:
    """The quiz's end: each question's outcome, the counts, and where to go next."""
    table = Table(title=f"{quiz.title}: summary", title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("question")
    table.add_column("result")
    counts = dict.fromkeys(OUTCOME_CELLS, 0)
    for number, question in enumerate(quiz.questions, 1):
        outcome = outcomes.get(question.id, "unanswered")
        counts[outcome] += 1
        text, style = OUTCOME_CELLS[outcome]
        table.add_row(str(number), question.id, Text(text, style))
    total = len(quiz.questions)
    first = counts["right_first_try"]
    line = Text(
        f"{first}/{total} right on the first try ({answered_now} answered in this session).\n"
        + outcome_counts_text(counts, first=False)
        + ".",
        "bold",
    )
    parts: list[RenderableType] = [table, line]
    if next_step is not None:
        parts.append(step_text(next_step))
    elif all_done:
        parts.append(
            Text("All done: every lesson, quiz and exercise. `wsquiz` shows it all.", "bold green")
        )
    return Group(*parts)
