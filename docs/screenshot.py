"""Regenerate docs/quiz.svg: a real question of the bundled course, answered and checked live.

Usage: python docs/screenshot.py
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from wsquiz.course.quizzes import load_course
from wsquiz.engine.lab import Lab
from wsquiz.learn.judge import judge, observe_question
from wsquiz.ui.quiz import answer_help, question_view, verdict_view

ROOT = Path(__file__).resolve().parent.parent
QUIZ, QUESTION, ANSWER = "basics", "count-messages", "3"


def main() -> None:
    quiz = load_course(ROOT).quiz(QUIZ)
    question = quiz.question(QUESTION)
    number = quiz.questions.index(question) + 1
    with Lab() as lab:
        observation = observe_question(question, lab)
    console = Console(record=True, width=100, force_terminal=True, color_system="truecolor")
    console.print(question_view(question, number, len(quiz.questions)))
    console.print(answer_help(question))
    console.print(Text.assemble(("answer> ", ""), (ANSWER, "bold")))
    console.print(verdict_view(question, judge(question, ANSWER, observation), observation))
    target = ROOT / "docs" / "quiz.svg"
    console.save_svg(str(target), title=f"wsquiz quiz {QUIZ}")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
