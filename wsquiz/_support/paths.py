"""Where content and user data live."""

from __future__ import annotations

import os
from pathlib import Path

from wsquiz.errors import UsageError

PACKAGE = Path(__file__).resolve().parent.parent
CONTENT_DIRS = ("quizzes", "lessons", "exercises")


def bundled_root() -> Path:
    """The bundled course: inside the wheel, or the source checkout's top level."""
    packaged = PACKAGE / "_content"
    return packaged if packaged.is_dir() else PACKAGE.parent


def course_path(path: str | Path) -> str:
    """A file of the bundled course as the course names it (`quizzes/apps/x.py`, never a path
    inside the installed package); any other file as given."""
    try:
        relative = Path(path).resolve().relative_to(bundled_root().resolve())
    except (ValueError, OSError):
        return str(path)
    inside = bool(relative.parts) and relative.parts[0] in CONTENT_DIRS
    return relative.as_posix() if inside else str(path)


def content_root(override: str | Path | None = None) -> Path:
    """The course folder in use: `--content DIR`, else $WSQUIZ_CONTENT, else the bundled one."""
    chosen = override or os.environ.get("WSQUIZ_CONTENT")
    if not chosen:
        return bundled_root()
    root = Path(chosen).expanduser().resolve()
    given = "--content" if override else "WSQUIZ_CONTENT"
    if not root.is_dir():
        raise UsageError(
            f"{root} is a file: a course is a folder"
            if root.exists()
            else f"{root}: no such course folder",
            fix=f"point {given} at a folder holding quizzes/, lessons/ or exercises/",
        )
    if not any((root / name).is_dir() for name in CONTENT_DIRS):
        raise UsageError(
            f"{root}: holds none of {', '.join(CONTENT_DIRS)}/",
            fix="a course folder has the bundled layout: quizzes/, lessons/, exercises/",
        )
    return root


def data_home() -> Path:
    """Where progress and gradebooks are kept: $WSQUIZ_HOME, else the user data folder."""
    chosen = os.environ.get("WSQUIZ_HOME")
    if chosen:
        home = Path(chosen).expanduser()
    else:
        from platformdirs import user_data_path

        home = user_data_path("wsquiz", appauthor=False)
    home.mkdir(parents=True, exist_ok=True)
    return home
