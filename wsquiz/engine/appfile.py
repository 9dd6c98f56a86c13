"""Find and import an app as uvicorn does: `path/app.py[:attr]`, `module:attr`, or a folder.

The rules follow uvicorn's own loader (`uvicorn/importer.py`, `Config.load()`): the app's
folder (`--app-dir`) goes first on `sys.path`, so sibling modules import; the module gets the
name the user would import it by (`main`, `pkg.server`), so its exceptions are named as in the
user's code; `attr` may be dotted; a factory is called (`--factory`, or detected, with
uvicorn's warning). The working directory is the one `cd APP_DIR && uvicorn module:attr`
would have. Every load is fresh: the app's modules leave `sys.modules` again on `unload`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import shutil
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wsquiz.errors import AppLoadError, UsageError

FACTORY_WARNING = (
    "ASGI app factory detected. Using it, but please consider setting the --factory flag "
    "explicitly."
)
# What a sandbox copies of an app's folder (it serves the copy): bounded, so that an app kept
# in a big folder (a home folder) costs a clear error, not a copy of everything.
MAX_COPY_FILES = 2000
MAX_COPY_BYTES = 64 * 1024 * 1024
_SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env"}
_THIRD_PARTY = ("site-packages", "dist-packages")


def _is_module_name(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _package_root(path: Path) -> tuple[str, Path]:
    """The dotted name a file is imported by, and the folder that must be on `sys.path`:
    a file inside packages (folders with `__init__.py`) is `pkg.sub.file`, from the folder
    above the outermost package, so its relative imports work."""
    parts = [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        parts.insert(0, folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    if path.name == "__init__.py":
        parts.pop()
    return ".".join(parts), folder


def _module_file(module: str, app_dir: Path) -> Path | None:
    base = app_dir.joinpath(*module.split("."))
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class AppSpec:
    """Which app to serve: the entry module's file, the attribute, and how uvicorn would
    import it (module name, folder on `sys.path`, working directory, factory)."""

    path: Path
    attr: str = "app"
    module: str = ""  # the import name: "main", "pkg.server" ("" = derived from `path`)
    app_dir: Path = field(default=Path())  # first on sys.path (default: derived from `path`)
    cwd: Path = field(default=Path())  # the server's working directory (default: app_dir)
    factory: bool = False  # call `attr` to get the app (uvicorn's --factory)
    given: str = ""  # as the user wrote it, `module:attr` form only
    # the file is the whole app: a sandbox copies it alone, not its folder (a student's
    # `<name>.py` among the class's, whose folder holds everybody's)
    alone: bool = False

    def __post_init__(self) -> None:
        path = Path(self.path)
        object.__setattr__(self, "path", path)
        if not self.module or self.app_dir == Path():
            module, app_dir = _package_root(path)
            if not self.module:
                object.__setattr__(self, "module", module)
            if self.app_dir == Path():
                object.__setattr__(self, "app_dir", app_dir)
        if self.cwd == Path():
            object.__setattr__(self, "cwd", self.app_dir)

    @classmethod
    def parse(
        cls,
        text: str | Path,
        *,
        app_dir: str | Path | None = None,
        factory: bool = False,
    ) -> AppSpec:
        """`path/app.py`, `path/app.py:attr`, `module:attr` (from `app_dir`, default the
        working directory, as uvicorn), or a folder (its `main.py`, or its only app module)."""
        raw = str(text)
        given_dir = Path(app_dir).expanduser().resolve() if app_dir is not None else None
        head, sep, tail = raw.rpartition(":")
        module_form = sep and _is_module_name(tail) and _is_module_name(head)
        if module_form and not head.endswith(".py") and not Path(raw).exists():
            return cls._from_module(head, tail, given_dir, factory, raw)
        path_text, attr = raw, "app"
        if sep and _is_module_name(tail) and head.endswith(".py"):
            path_text, attr = head, tail
        path = Path(path_text).expanduser()
        if not path.exists():
            raise UsageError(
                f"{path}: no such file",
                fix="give the path of a Python file that defines a FastAPI app "
                "(app.py or app.py:app), or module:attr as for uvicorn",
            )
        if path.is_dir():
            return discover(path, factory=factory)
        return cls.for_file(path.resolve(), attr, app_dir=given_dir, factory=factory)

    @classmethod
    def for_file(
        cls, path: Path, attr: str = "app", *, app_dir: Path | None = None, factory: bool = False
    ) -> AppSpec:
        if app_dir is None:
            return cls(path, attr, factory=factory)
        try:
            relative = path.with_suffix("").relative_to(app_dir)
        except ValueError:
            raise UsageError(
                f"{path}: not inside --app-dir {app_dir}",
                fix="give an --app-dir that holds the file, or leave it out",
            ) from None
        parts = list(relative.parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        module = ".".join(parts)
        if not _is_module_name(module):
            raise UsageError(
                f"{path}: cannot be imported as a module from {app_dir} ({module!r})",
                fix="folder and file names must be Python identifiers",
            )
        return cls(path, attr, module=module, app_dir=app_dir, factory=factory)

    @classmethod
    def _from_module(
        cls, module: str, attr: str, app_dir: Path | None, factory: bool, raw: str
    ) -> AppSpec:
        folder = app_dir or Path.cwd().resolve()
        found = _module_file(module, folder)
        if found is None:
            raise UsageError(
                f'Could not import module "{module}" (looked in {folder})',
                fix="run from the folder that holds it, or give --app-dir FOLDER",
            )
        return cls(found, attr, module=module, app_dir=folder, cwd=Path.cwd().resolve(), given=raw)

    @property
    def root(self) -> Path:
        """The folder that holds everything the app may read: the app dir and the cwd."""
        if self.alone:
            return self.path.parent
        common = os.path.commonpath([self.app_dir, self.cwd])
        return Path(common)

    def relocated(self, old: Path, new: Path) -> AppSpec:
        """The same app at `new`, for a copy of the folder `old` made there."""

        def moved(path: Path) -> Path:
            return new / path.relative_to(old)

        return replace(
            self, path=moved(self.path), app_dir=moved(self.app_dir), cwd=moved(self.cwd)
        )

    def copy_into(self, dest: Path) -> AppSpec:
        """Copy the app's folder (`root`) into `dest` (bounded); the spec of the copy."""
        if self.alone:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.path, dest / self.path.name)
            return replace(self, path=dest / self.path.name, app_dir=dest, cwd=dest)
        copy_folder(self.root, dest)
        return self.relocated(self.root, dest)

    def __str__(self) -> str:
        if self.given:
            return self.given
        return f"{self.path}:{self.attr}" if self.attr != "app" else str(self.path)


def copy_folder(source: Path, dest: Path) -> None:
    """Copy an app's folder for a sandbox: hidden folders, caches and virtualenvs left out."""
    files = 0
    size = 0
    dest.mkdir(parents=True, exist_ok=True)
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIPPED_DIRS
            and not (Path(folder, d) / "pyvenv.cfg").exists()
        )
        here = Path(folder)
        target = dest / here.relative_to(source)
        target.mkdir(exist_ok=True)
        for name in names:
            item = here / name
            if item.is_symlink() or not item.is_file():
                continue
            files += 1
            size += item.stat().st_size
            if files > MAX_COPY_FILES or size > MAX_COPY_BYTES:
                raise UsageError(
                    f"{source}: the app's folder is too big to serve from "
                    f"(more than {MAX_COPY_FILES} files or {MAX_COPY_BYTES >> 20} MiB)",
                    fix="keep the app in a folder of its own, or give --app-dir with a "
                    "smaller folder",
                )
            shutil.copyfile(item, target / name)


def discover(folder: Path, entry: str | None = None, *, factory: bool = False) -> AppSpec:
    """The app of a folder of modules (a student's submission): the entry the exercise names,
    else `main.py`, else the only module that assigns `app` at its top level."""
    folder = folder.expanduser().resolve()
    for name in (entry, "main.py"):
        if name and (folder / name).is_file():
            return AppSpec.for_file(folder / name, app_dir=folder, factory=factory)
    modules = sorted(p for p in folder.glob("*.py") if p.is_file())
    with_app = [p for p in modules if _assigns_app(p)]
    if len(with_app) == 1:
        return AppSpec.for_file(with_app[0], app_dir=folder, factory=factory)
    if len(modules) == 1:
        return AppSpec.for_file(modules[0], app_dir=folder, factory=factory)
    named = ", ".join(p.name for p in with_app) or "none of its modules"
    raise UsageError(
        f"{folder}: is a folder, and which of its modules holds the app is not clear "
        f"({named} defines `app`)",
        fix="name the file (folder/main.py), or call the entry module main.py",
    )


def _assigns_app(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == "app" for t in targets):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "app":
            return True
    return False


@dataclass
class Loaded:
    """An imported app: the ASGI app, the modules it brought, and what loading said."""

    app: Any
    module: str
    modules: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # log lines uvicorn would print (the factory warning)
    path_entry: str = ""

    def __iter__(self) -> Iterator[Any]:
        """`app, module = load_app(spec)`, as before there was more to say."""
        return iter((self.app, self.module))


def is_own_file(filename: str, root: Path | str) -> bool:
    """A file of the app itself (under its folder, not an installed package in it)."""
    try:
        relative = Path(filename).resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return not any(part in _THIRD_PARTY or part.startswith(".") for part in relative.parts)


def load_app(spec: AppSpec) -> Loaded:
    """Import the app as uvicorn would; raises AppLoadError with the app's own line."""
    from wsquiz._support.paths import course_path

    shown = course_path(spec.path)  # a bundled app by its place in the course
    try:
        source = spec.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AppLoadError(shown, f"cannot read the file ({exc})") from None
    try:
        compile(source, str(spec.path), "exec")
    except SyntaxError as exc:
        raise AppLoadError(
            shown,
            f"SyntaxError: {exc.msg}",
            line=exc.lineno,
            fix="correct the syntax on that line; the app never started",
            detail=_syntax_detail(exc).replace(_file_line(spec.path), _file_line(shown), 1),
        ) from None
    entry = str(spec.app_dir)
    sys.path.insert(0, entry)
    before = set(sys.modules)
    _forget_modules_under(spec.app_dir)
    try:
        module = _import(spec)
    except SystemExit as exc:
        _unload_new(before, spec, entry)
        raise AppLoadError(
            shown,
            f"the module called sys.exit({exc.code!r}) while being imported",
            line=_line_in(exc, spec.path),
            fix="do not exit at import time; the server imports the module to find the app",
        ) from None
    except BaseException as exc:
        _unload_new(before, spec, entry)
        if isinstance(exc, KeyboardInterrupt):
            raise
        said = _safe_str(exc) or _unsaid(exc)
        raise AppLoadError(
            shown,
            f"{type(exc).__name__} while importing" + (f": {said}" if said else ""),
            line=_line_in(exc, spec.path),
            fix=_import_fix(exc, spec),
            detail=_trimmed(exc, spec).replace(_file_line(spec.path), _file_line(shown)),
        ) from None
    modules = tuple(name for name in sys.modules.keys() - before if _belongs(name, spec))
    _ours.update(modules)
    loaded = Loaded(None, spec.module, modules, path_entry=entry)
    try:
        loaded.app, loaded.notes = _the_app(module, spec, shown)
    except BaseException:
        unload(loaded)
        raise
    return loaded


def _import(spec: AppSpec) -> Any:
    """The entry module, freshly executed under its own name. A name already taken by a
    module that is not the app's (`test`, `types`) is borrowed only while the file runs."""
    parent, _, _ = spec.module.rpartition(".")
    if parent:
        importlib.import_module(parent)
    taken = sys.modules.get(spec.module)
    module_spec = importlib.util.spec_from_file_location(spec.module, spec.path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{spec.path} is not importable as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[spec.module] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.module, None)
        raise
    finally:
        if taken is not None:
            sys.modules[spec.module] = taken
    return module


def _the_app(module: Any, spec: AppSpec, shown: str) -> tuple[Any, tuple[str, ...]]:
    instance: Any = module
    for part in spec.attr.split("."):
        if not hasattr(instance, part):
            found = [k for k, v in vars(module).items() if _is_asgi(v) and not k.startswith("_")]
            hint = (
                f"it defines {', '.join(found)}: use {spec.path.name}:{found[0]}"
                if found
                else f"define `{spec.attr} = FastAPI()` in the file"
            )
            raise AppLoadError(shown, f"no attribute {spec.attr!r} in the module", fix=hint)
        instance = getattr(instance, part)
    notes: tuple[str, ...] = ()
    # uvicorn calls what it found: a TypeError means "not a factory" unless --factory says so
    try:
        made = instance()
    except TypeError as exc:
        if spec.factory:
            raise AppLoadError(
                shown,
                f"Error loading ASGI app factory: {exc}",
                line=_line_in(exc, spec.path),
                fix=f"{spec.attr} must be callable with no arguments and return the app",
            ) from None
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AppLoadError(
            shown,
            f"{type(exc).__name__} in the app factory {spec.attr}(): {_safe_str(exc)}",
            line=_line_in(exc, spec.path),
            fix="correct the line shown; the factory runs before the server serves",
            detail=_trimmed(exc, spec),
        ) from None
    else:
        instance = made
        if not spec.factory:
            notes = (f"WARNING: {FACTORY_WARNING}",)
    if not _is_asgi(instance):
        kind = type(instance).__name__
        raise AppLoadError(
            shown,
            f"{spec.attr!r} is {_article(kind)} {kind}, not an ASGI app",
            fix=f"set {spec.attr} = FastAPI() (or another ASGI application)",
        )
    return instance, notes


def _belongs(name: str, spec: AppSpec) -> bool:
    if name == "wsquiz" or name.startswith("wsquiz."):
        return False  # imported by the loader itself meanwhile, from wherever it lives
    filename = getattr(sys.modules.get(name), "__file__", None)
    return bool(filename) and is_own_file(str(filename), spec.app_dir)


_ours: set[str] = set()  # module names an app load put in sys.modules


def _forget_modules_under(folder: Path) -> None:
    """Modules of an earlier load of this folder: imported afresh, not reused."""
    for name in list(_ours):
        filename = getattr(sys.modules.get(name), "__file__", None)
        if filename and is_own_file(str(filename), folder):
            sys.modules.pop(name, None)
            _ours.discard(name)


def _unload_new(before: set[str], spec: AppSpec, entry: str) -> None:
    for name in sys.modules.keys() - before:
        if _belongs(name, spec) or name == spec.module:
            del sys.modules[name]
    _drop_path(entry)


def _drop_path(entry: str) -> None:
    if entry in sys.path:
        sys.path.remove(entry)


def unload(loaded: Loaded) -> None:
    """Take the app's modules (and its folder on sys.path) back out of this process."""
    for name in loaded.modules:
        sys.modules.pop(name, None)
        _ours.discard(name)
    if loaded.path_entry:
        _drop_path(loaded.path_entry)


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


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


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<exception str() failed>"


def _line_in(exc: BaseException, path: Path) -> int | None:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename) == path:
            return frame.lineno
    return None


def _trimmed(exc: BaseException, spec: AppSpec) -> str:
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if is_own_file(f.filename, spec.app_dir)
    ]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    try:
        lines += traceback.format_exception_only(type(exc), exc)
    except Exception:
        lines.append(f"{type(exc).__name__}: <exception str() failed>\n")
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


def _import_fix(exc: BaseException, spec: AppSpec) -> str:
    if isinstance(exc, ModuleNotFoundError):
        missing = (exc.name or "").split(".")[0]
        if missing and _module_file(missing, spec.app_dir.parent) is not None:
            return (
                f"{missing} is a module in {spec.app_dir.parent}, not in the app's folder: "
                f"give --app-dir {spec.app_dir.parent} (as uvicorn's --app-dir)"
            )
        if missing and _module_file(missing, spec.app_dir) is None:
            return f"install the missing package ({exc.name}) or correct the import"
        return f"correct the import of {exc.name} (the module is in the app's folder)"
    if isinstance(exc, MemoryError):
        return "allocate far less at import (or nothing: do the work inside the endpoint)"
    return "the error happened while the module ran at import; correct the line shown"
