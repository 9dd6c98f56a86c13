"""Find and import an app file: `path/app.py` (attribute `app`) or `path/app.py:attr`.

Every load is a fresh module, so no state leaks from one launch to the next.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsquiz.errors import AppLoadError, UsageError

_counter = itertools.count(1)


@dataclass(frozen=True)
class AppSpec:
    path: Path
    attr: str = "app"

    @classmethod
    def parse(cls, text: str | Path) -> AppSpec:
        raw = str(text)
        path_text, attr = raw, "app"
        head, sep, tail = raw.rpartition(":")
        if sep and tail.isidentifier() and head.endswith(".py"):
            path_text, attr = head, tail
        path = Path(path_text).expanduser()
        if not path.exists():
            raise UsageError(
                f"{path}: no such file",
                fix="give the path of a Python file that defines a FastAPI app, e.g. app.py:app",
            )
        if path.is_dir():
            raise UsageError(f"{path}: is a folder", fix="give the path of a .py file")
        return cls(path.resolve(), attr)

    def __str__(self) -> str:
        return f"{self.path}:{self.attr}" if self.attr != "app" else str(self.path)


def load_app(spec: AppSpec) -> tuple[Any, str]:
    """Import the file as a new module; return (ASGI app, module name). Raises AppLoadError."""
    from wsquiz._support.paths import course_path

    name = f"wsquiz_app_{next(_counter)}_{spec.path.stem.replace('-', '_')}"
    shown = course_path(spec.path)  # a bundled app by its place in the course
    try:
        source = spec.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AppLoadError(shown, f"cannot read the file ({exc})") from None
    try:
        code = compile(source, str(spec.path), "exec")
    except SyntaxError as exc:
        raise AppLoadError(
            shown,
            f"SyntaxError: {exc.msg}",
            line=exc.lineno,
            fix="correct the syntax on that line; the app never started",
            detail=_syntax_detail(exc).replace(_file_line(spec.path), _file_line(shown), 1),
        ) from None
    module_spec = importlib.util.spec_from_file_location(name, spec.path)
    if module_spec is None:
        raise AppLoadError(shown, "not importable as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except SystemExit as exc:
        unload(name)
        raise AppLoadError(
            shown,
            f"the module called sys.exit({exc.code!r}) while being imported",
            line=_line_in(exc, spec.path),
            fix="do not exit at import time; the server imports the module to find the app",
        ) from None
    except BaseException as exc:
        unload(name)
        if isinstance(exc, KeyboardInterrupt):
            raise
        said = str(exc) or _unsaid(exc)
        raise AppLoadError(
            shown,
            f"{type(exc).__name__} while importing" + (f": {said}" if said else ""),
            line=_line_in(exc, spec.path),
            fix=_import_fix(exc),
            detail=_trimmed(exc, spec.path).replace(_file_line(spec.path), _file_line(shown)),
        ) from None
    app = getattr(module, spec.attr, None)
    if app is None:
        unload(name)
        found = [k for k, v in vars(module).items() if _is_asgi(v) and not k.startswith("_")]
        hint = (
            f"it defines {', '.join(found)}: use {spec.path.name}:{found[0]}"
            if found
            else (f"define `{spec.attr} = FastAPI()` in the file")
        )
        raise AppLoadError(shown, f"no attribute {spec.attr!r} in the module", fix=hint)
    if not _is_asgi(app):
        unload(name)
        raise AppLoadError(
            shown,
            f"{spec.attr!r} is {_article(type(app).__name__)} {type(app).__name__}, "
            "not an ASGI app",
            fix=f"set {spec.attr} = FastAPI() (or another ASGI application)",
        )
    return app, name


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def unload(module_name: str) -> None:
    sys.modules.pop(module_name, None)


def _is_asgi(value: Any) -> bool:
    """An async callable taking (scope, receive, send): a FastAPI app, or a bare ASGI function.

    An endpoint function (one `websocket` parameter) is not one.
    """
    if inspect.isclass(value) or not callable(value):
        return False
    target = value if inspect.isfunction(value) or inspect.ismethod(value) else value.__call__
    if not (
        inspect.iscoroutinefunction(target)
        or inspect.iscoroutinefunction(getattr(target, "__func__", None))
    ):
        return False
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 3


def _line_in(exc: BaseException, path: Path) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename) == path:
            return frame.lineno
    return None


def _trimmed(exc: BaseException, path: Path) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def _file_line(path: str | Path) -> str:
    """How a traceback names a file."""
    return f'File "{path}"'


def _syntax_detail(exc: SyntaxError) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc))


def _unsaid(exc: BaseException) -> str:
    """What an exception raised without a message means, where that is known."""
    if isinstance(exc, MemoryError):
        return "out of memory (the server's memory limit was reached)"
    return ""


def _import_fix(exc: BaseException) -> str:
    if isinstance(exc, ModuleNotFoundError):
        return f"install the missing package ({exc.name}) or correct the import"
    if isinstance(exc, MemoryError):
        return "allocate far less at import (or nothing: do the work inside the endpoint)"
    return "the error happened while the module ran at import; correct the line shown"
