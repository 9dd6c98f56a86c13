"""A graded class in figures: the score histogram and the summary line's counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wsquiz.grading.gradebook import StudentResult


def histogram(results: Sequence[StudentResult], buckets: int = 10) -> list[tuple[str, int]]:
    """How many students scored in each band of the percentage (the last band includes 100)."""
    width = 100 // buckets
    counts = [0] * buckets
    for result in results:
        index = min(int(result.percent // width), buckets - 1)
        counts[max(index, 0)] += 1
    labels = [
        f"{i * width:>3}-{(i + 1) * width - 1 if i < buckets - 1 else 100:>3}%"
        for i in range(buckets)
    ]
    return list(zip(labels, counts, strict=True))


@dataclass(frozen=True)
class ClassSummary:
    graded: int
    mean_percent: float
    full_marks: int
    errors: int


def summarize(results: Sequence[StudentResult]) -> ClassSummary:
    count = len(results)
    return ClassSummary(
        graded=count,
        mean_percent=sum(r.percent for r in results) / count if count else 0.0,
        full_marks=sum(1 for r in results if r.max_score and r.score >= r.max_score),
        errors=sum(1 for r in results if r.error),
    )
