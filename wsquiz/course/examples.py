"""Example apps: `lessons/examples/NAME.py`, else `quizzes/apps/NAME.py`, found by name for
`wsquiz run` and the lessons, and checked to be runnable app files."""

from __future__ import annotations

import re
from pathlib import Path

from wsquiz._support.names import choose_from, guess, relative
from wsquiz.course.problems import Problem
from wsquiz.engine.appfile import AppSpec
from wsquiz.errors import UsageError

EXAMPLES = ("lessons/examples", "quizzes/apps")


def example_problems(path: Path, root: Path) -> list[Problem]:
    try:
        source = path.read_text(encoding="utf-8")
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        return [
            Problem(
                relative(path, root),
                f"line {exc.lineno}",
                "",
                f"SyntaxError: {exc.msg}",
                "an example must be a runnable app file",
            )
        ]
    except (OSError, UnicodeDecodeError) as exc:
        shown = relative(path, root)
        return [Problem(shown, "", "", f"cannot read it ({exc})", "save it as UTF-8")]
    if not re.search(r"^app\s*=", source, re.MULTILINE):
        return [
            Problem(
                relative(path, root),
                "",
                "",
                "defines no module-level `app`",
                "an example is an app file: app = FastAPI() at the top level",
            )
        ]
    return []


def example_names(root: Path) -> list[str]:
    names: list[str] = []
    for folder in EXAMPLES:
        names += [p.stem for p in sorted((root / folder).glob("*.py")) if p.stem not in names]
    return names


def find_example(name: str, root: Path) -> Path:
    """The app file of an example: lessons/examples/NAME.py, else quizzes/apps/NAME.py."""
    stem = name[:-3] if name.endswith(".py") else name
    if stem and "/" not in stem and "\\" not in stem:
        for folder in EXAMPLES:
            candidate = root / folder / f"{stem}.py"
            if candidate.is_file():
                return candidate
            # names are case-insensitive: `Receive_Loop` is receive_loop.py
            lowered = root / folder / f"{stem.lower()}.py"
            if lowered.is_file():
                return lowered
    raise UsageError(
        f"no example named {name!r} in {root}",
        fix=choose_from(stem, example_names(root), "examples"),
    )


def app_or_example(text: str, root: Path) -> AppSpec:
    """`APP` of `wsquiz run`: a file (`path/app.py[:attr]`) or the name of a bundled example."""
    looks_like_path = "/" in text or text.endswith(".py") or ":" in text
    if looks_like_path or Path(text).exists():
        return AppSpec.parse(text)

    try:
        return AppSpec.parse(find_example(text, root))
    except UsageError:
        raise UsageError(
            f"{text!r} is neither a file nor the name of an example",
            fix=f"{guess(text, example_names(root))}give the path of a .py file, "
            "or an example's name (`wsquiz learn LESSON` shows each lesson's examples)",
        ) from None
