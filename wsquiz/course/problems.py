"""What is wrong with content: a located `Problem`, and `Broken`, a quiz, lesson or exercise
left out of the course because of its problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from wsquiz._support.names import relative
from wsquiz.errors import ContentError


def quoted(value: object) -> str:
    return f'"{value}"'


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the content: where it is, what is wrong, how to fix it."""

    file: str
    where: str
    key: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        place = ": ".join(p for p in (self.file, self.where) if p)
        text = f"{place}: {self.message}" if place else self.message
        return f"{text}\n  fix: {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
            "where": self.where,
            "key": self.key,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Broken:
    """A quiz, lesson or exercise with problems: left out of the course, reported by name,
    while the rest of the course stays usable."""

    kind: ClassVar[str] = "quiz"
    plural: ClassVar[str] = "quizzes"

    name: str
    path: Path  # its file (a folder for an exercise)
    problems: tuple[Problem, ...]

    def summary(self) -> str:
        """One line: the first problem, and how many more."""
        first = self.problems[0]
        more = len(self.problems) - 1
        where = ": ".join(p for p in (first.file, first.where) if p)
        line = f"{self.kind} {quoted(self.name)} cannot be used: {where}: {first.message}"
        return line + (f" (and {more} more)" if more else "")

    def error(self, root: Path) -> ContentError:
        """Asked for by name: every problem (the first five), and that the rest still works."""
        count = len(self.problems)
        shown = "\n".join(str(p) for p in self.problems[:5])
        more = count - 5
        where = relative(self.path, root) + ("/" if self.path.is_dir() else "")
        return ContentError(
            f"{self.kind} {quoted(self.name)} cannot be used: {count} "
            f"problem{'s' if count > 1 else ''} in {where}:\n{shown}"
            + (f"\n(and {more} more)" if more > 0 else ""),
            fix=f"correct {'them' if count > 1 else 'it'} (`wsquiz validate {root}` lists every "
            f"problem); the other {self.plural} work meanwhile",
        )
