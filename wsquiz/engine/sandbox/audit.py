"""Inside the sandboxed server: tampering with the grader's reporting ends the server, said so.

The server reports what a student's code raised; hiding that report would raise a score. Two
guards are installed before the student's module runs, and neither can be reached from it
without an introspection this module also watches:
- an audit hook (`sys.addaudithook`, which cannot be removed): replacing the code or defaults
  of the grader's functions, walking the collector's objects or other threads' frames,
  tracing, importing wsquiz afresh, calling the C API or memory functions through ctypes;
- a watcher thread (started with `_thread`, so no `threading` object names it; restarted in a
  forked child) that compares, every few milliseconds, the objects the report goes through
  (the recorder, its class, the capture module, the sink, the uvicorn app chain, the report
  pipe itself) with what they were before the student's code ran.
Either ends the server with `TAMPERED` (the keeper, outside, reports that status) after
writing what it saw to the report pipe.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

TAMPERED = 6
TICK_S = 0.02
_WATCHED_EVENTS = frozenset(
    {
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "sys._settraceallthreads",
        "sys._setprofileallthreads",
        "ctypes.cdata",
    }
)
_NATIVE = frozenset(
    {
        "memcpy", "memmove", "memset", "mprotect", "process_vm_writev", "ptrace", "fork",
        "vfork", "clone", "clone3", "syscall", "dup2", "dup3", "close", "close_range",
        "write", "pwrite64", "pwritev", "mmap", "munmap",
    }
)  # fmt: skip

Snapshot = tuple[tuple[Any, ...], ...]


def _entries(namespace: dict[str, Any], label: str) -> tuple[Any, ...]:
    """What a namespace holds now: its keys, and each value by identity."""
    return (label, namespace, frozenset(namespace), tuple(namespace.items()))


def snapshot(
    modules: Iterable[ModuleType], objects: Iterable[Any], *, strict: bool = True
) -> Snapshot:
    """What to compare later; with `strict` an object may not gain attributes either (the
    recorder: an instance's own `emit` would hide its class's)."""
    taken: list[tuple[Any, ...]] = []
    for module in modules:
        taken.append(_entries(vars(module), f"module {module.__name__}"))
    for obj in objects:
        if isinstance(obj, type):
            taken.append(_entries(dict(vars(obj)), f"class {obj.__qualname__}"))
            taken.append(("class dict", obj, tuple(vars(obj).items())))
        elif callable(obj) and hasattr(obj, "__code__"):
            cells = tuple(c.cell_contents for c in (obj.__closure__ or ()))
            taken.append(("function", obj, obj.__code__, obj.__defaults__, cells))
        elif hasattr(obj, "__dict__"):
            taken.append(("object", obj, tuple(vars(obj).items()), strict))
    return tuple(taken)


def changed(taken: Snapshot) -> str | None:
    """What differs from the snapshot, in words (None: nothing)."""
    for entry in taken:
        kind, obj = entry[0], entry[1]
        if kind.startswith(("module", "class ")) and kind != "class dict":
            namespace = obj
            keys = frozenset(namespace)
            if keys != entry[2]:
                if entry[2] - keys:
                    return f"{kind}: {sorted(entry[2] - keys)[0]} was deleted"
                for key in keys - entry[2]:
                    # what Python itself adds: a warning's registry, a submodule imported
                    if key != "__warningregistry__" and type(namespace[key]) is not ModuleType:
                        return f"{kind}: {key} was added"
            for key, value in entry[3]:
                if namespace.get(key) is not value:
                    return f"{kind}: {key} was replaced"
        elif kind == "class dict":
            now = tuple(vars(obj).items())
            if len(now) != len(entry[2]) or any(
                a[0] != b[0] or a[1] is not b[1] for a, b in zip(now, entry[2], strict=True)
            ):
                return f"class {obj.__qualname__} was changed"
        elif kind == "function":
            cells = tuple(c.cell_contents for c in (obj.__closure__ or ()))
            if (
                obj.__code__ is not entry[2]
                or obj.__defaults__ is not entry[3]
                or len(cells) != len(entry[4])
                or any(a is not b for a, b in zip(cells, entry[4], strict=True))
            ):
                return f"function {obj.__qualname__} was changed"
        elif kind == "object":
            before = dict(entry[2])
            added = set(vars(obj)) - set(before)
            if added and entry[3]:
                return f"{type(obj).__qualname__} object: {sorted(added)[0]} was added"
            for key in ("_sink", "app_file", "app", "loaded_app", "config"):
                if key in before and vars(obj).get(key) is not before[key]:
                    return f"{type(obj).__qualname__} object: {key} was replaced"
    return None


def _pipe_id(fd: int) -> tuple[int, int]:
    try:
        info = os.fstat(fd)
    except OSError:
        return (-1, -1)
    return (info.st_dev, info.st_ino)


_prepared: list[tuple[Snapshot, frozenset[int]]] = []  # filled in place: the module is watched


def _watched_modules() -> tuple[ModuleType, ...]:
    import json.encoder
    import traceback

    from wsquiz.engine import capture, serving, transcript
    from wsquiz.engine.sandbox import audit

    return (
        capture,
        transcript,
        serving,
        audit,
        traceback,
        json,
        json.encoder,
        sys.modules["builtins"],
    )


def prepare() -> None:
    """Take the snapshot every server shares (in the zygote: forks keep objects' identities)."""
    from wsquiz.engine import capture, transcript

    modules = _watched_modules()
    protected = set()
    for module in modules:
        for value in vars(module).values():
            protected.add(id(value))
            if isinstance(value, type):
                protected.update(id(inner) for inner in vars(value).values())
    _prepared.append(
        (snapshot(modules, (capture.Recorder, transcript.ServerError)), frozenset(protected))
    )


def install(events_fd: int, objects: Iterable[Any]) -> Callable[[Iterable[Any]], None]:
    """Start both guards; returns `watch`, to add what exists only once the student's module
    has run (the app chain): it returns once the watcher holds its own copy."""
    if not _prepared:
        prepare()
    shared, protected = _prepared[0]
    taken = shared + snapshot((), objects)
    pipe = _pipe_id(events_fd)
    later: list[Any] = []
    handed: list[Snapshot] = []
    ack, wake = _thread.allocate_lock(), _thread.allocate_lock()
    ack.acquire()  # released by the watcher once it holds its copy of what `watch` gave it
    wake.acquire()  # released by `watch`: the watcher takes it at once, not at its next tick
    sys.addaudithook(_hook(events_fd, protected))

    def start() -> None:
        _thread.start_new_thread(_watch, (events_fd, pipe, taken, later, ack, wake, handed))

    start()
    os.register_at_fork(after_in_child=start)  # a forked child is watched as well

    def watch(more: Iterable[Any]) -> None:
        later.append(tuple(more))
        with contextlib.suppress(RuntimeError):
            wake.release()
        ack.acquire()

    return watch


def _tamper(
    fd: int,
    what: str,
    write: Callable[[int, bytes], int] = os.write,
    end: Callable[[int], None] = os._exit,
) -> None:
    try:
        text = "tampering with the grader: " + what.replace(chr(34), "'").replace(chr(92), "/")
        write(fd, b'["tamper", "' + text.encode("ascii", "replace") + b'"]\n')
    finally:
        end(TAMPERED)


def _watch(
    fd: int,
    pipe: tuple[int, int],
    taken: Snapshot,
    later: list[Any],
    ack: Any,
    wake: Any,
    handed: list[Snapshot],
    tamper: Callable[[int, str], None] = _tamper,
    differs: Callable[[Snapshot], str | None] = changed,
    take: Callable[..., Snapshot] = snapshot,
    pipe_id: Callable[[int], tuple[int, int]] = _pipe_id,
) -> None:
    try:
        while True:
            if later and not handed:
                handed.append(take((), later[0], strict=False))
                ack.release()
            if pipe_id(fd) != pipe:
                tamper(fd, "the server's report pipe was closed or replaced")
            what = differs(taken) or (differs(handed[0]) if handed else None)
            if what:
                tamper(fd, what)
            wake.acquire(True, TICK_S)
    except BaseException as exc:  # anything that stops the watcher is an attack on it
        tamper(fd, f"the grader's watcher was stopped ({type(exc).__name__})")


def _hook(fd: int, protected: frozenset[int]) -> Callable[[str, tuple[Any, ...]], None]:
    native = _NATIVE
    watched = _WATCHED_EVENTS

    def hook(
        event: str,
        args: tuple[Any, ...],
        _id: Callable[[Any], int] = id,
        _type: Any = type,
        tamper: Callable[[int, str], None] = _tamper,
    ) -> None:
        if event in watched:
            tamper(fd, f"{event} was called")
        elif event in ("object.__setattr__", "object.__delattr__"):
            if _id(args[0]) in protected:
                tamper(
                    fd, f"{event[7:-2]} on the grader's {args[1] if _type(args[1]) is str else '?'}"
                )
        elif event == "ctypes.dlsym":
            name: Any = args[1] if len(args) > 1 else None
            if _type(name) is str and (name.startswith(("Py", "_Py")) or name in native):
                tamper(fd, f"ctypes reached {name}")
        elif event == "import":
            name = args[0]  # only its exact type is trusted: no method of a student's object runs
            if _type(name) is str and (name == "wsquiz" or name.startswith("wsquiz.")):
                tamper(fd, f"import of {name}")

    return hook
