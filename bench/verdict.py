"""Answer submitted -> verdict ready, for every bundled question, as the interactive quiz does it.

warm: the question's observation was submitted to the lab when the question was shown (the
learner reads for a moment), so an answer only waits for judging. cold: the baseline that
observes only once the answer arrives (the same in-process lab, no head start).
Prints one JSON line. Bar: verdict_ms (warm median) <= 50.
Usage: python bench/verdict.py [--rounds N] [--read-ms MS]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from wsquiz.course.quizzes import load_course
from wsquiz.engine.lab import Lab
from wsquiz.learn.judge import key_of
from wsquiz.learn.quiz import QuizSession

ROOT = Path(__file__).resolve().parent.parent
BAR_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--read-ms", type=float, default=200.0, help="time spent reading")
    args = parser.parse_args()
    course = load_course(ROOT)
    questions = [(quiz, q) for quiz in course.quizzes for q in quiz.questions]
    warm: list[float] = []
    cold: list[float] = []
    with Lab() as lab:
        # warm the lab once (imports), as the quiz does before its first question
        first_quiz, first = questions[0]
        QuizSession(first_quiz, lab).observation(first)
        for _ in range(args.rounds):
            for quiz, question in questions:
                session = QuizSession(quiz, lab)
                session.prepare(question)  # shown: the server starts while the learner reads
                time.sleep(args.read_ms / 1000)
                answer = key_of(question, session.observation(question))
                start = time.perf_counter()
                verdict = session.attempt(question, answer).verdict
                warm.append((time.perf_counter() - start) * 1000)
                assert verdict.correct, verdict

                session = QuizSession(quiz, lab)
                start = time.perf_counter()
                verdict = session.attempt(question, answer).verdict
                cold.append((time.perf_counter() - start) * 1000)
                assert verdict.correct, verdict
    verdict_ms = statistics.median(warm)
    cold_ms = statistics.median(cold)
    print(
        json.dumps(
            {
                "bench": "verdict",
                "verdict_ms": round(verdict_ms, 3),
                "verdict_p90_ms": round(sorted(warm)[int(len(warm) * 0.9) - 1], 3),
                "cold_ms": round(cold_ms, 3),
                "speedup": round(cold_ms / verdict_ms, 1) if verdict_ms else None,
                "questions": len(questions),
                "samples": len(warm),
                "bar_ms": BAR_MS,
                "ok": verdict_ms <= BAR_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
