"""Names a user may mistype, and paths shown the way the user knows them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path


def suggest(word: str, names: Iterable[str]) -> str | None:
    """The likeliest name meant by a mistyped `word`: close as a whole, or to one of its parts."""
    names = list(names)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if not close and word != word.lower():
        close = difflib.get_close_matches(word.lower(), names, n=1, cutoff=0.6)
    if close:
        return close[0]
    best: tuple[float, str] | None = None
    for name in names:
        for part in re.split(r"[-_]", name):
            score = difflib.SequenceMatcher(None, word.lower(), part).ratio()
            if score >= 0.75 and (best is None or score > best[0]):
                best = (score, name)
    return best[1] if best else None


def close_names(word: str, names: Iterable[str], *, most: int, cutoff: float) -> list[str]:
    """Up to `most` names close to `word` as a whole, the closest first."""
    return difflib.get_close_matches(word, list(names), n=most, cutoff=cutoff)


def guess(word: str, names: Iterable[str]) -> str:
    """`did you mean 'x'? ` to begin a fix with, or nothing when no name is close."""
    close = suggest(word, names)
    return f"did you mean {close!r}? " if close else ""


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """` (did you mean "x"?)` to append to a message, or nothing when no name is close."""
    close = suggest(word, names)
    return f' (did you mean "{close}"?)' if close else ""


def choose_from(word: str, names: Iterable[str], kind: str) -> str:
    """The fix for an unknown name: the likeliest one meant, then every one there is."""
    names = list(names)
    return f"{guess(word, names)}the {kind} are: {', '.join(names) or 'none'}"


def unknown_key(key: str, known: Iterable[str]) -> tuple[str, str]:
    """Message and fix for a misspelt key in a content file."""
    known = list(known)
    return f'unknown key "{key}"{did_you_mean(key, known)}', (
        f"the keys allowed here are: {', '.join(known)}"
    )


def relative(path: Path, root: Path) -> str:
    """`path` relative to `root` when it lies inside it, else as given."""
    for inside, top in ((path, root), (path.resolve(), root.resolve())):
        try:
            return str(inside.relative_to(top))
        except ValueError:
            continue
    return str(path)
