"""Inside the sandboxed server, before the student's code: its own view of the filesystem.

The server is PID 1 of its own PID namespace and has its own mount namespace. It gets:
- a private, size-limited tmpfs on /tmp (its home and temporary folder; the app's copy is in
  /tmp/app, the working directory), and on /var/tmp and /dev/shm; a /proc of its namespace;
- a Landlock allowlist: the system and Python's own files read-only, the installed packages
  but wsquiz (its source and the course's solutions), the tmpfs folders writable, nothing else
  (no submissions, gradebook, course, classroom store, home folders, other sandboxes).
Folders Python needs that lie under a hidden /tmp (a virtualenv there) are put back, read-only.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from pathlib import Path

from wsquiz.engine.sandbox import _sys, landlock
from wsquiz.errors import AppLoadError

APP_DIR = "/tmp/app"
PRIVATE = ("/tmp", "/var/tmp", "/dev/shm")  # writable, the sandbox's own
HOMES = ("/root", "/home", "/run/user")  # emptied: no home folder is visible at all
HIDDEN = PRIVATE + HOMES
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt/conda")
MAX_COPIED = 2 * 1024 * 1024
MAX_FILES = 200
SKIPPED = {"__pycache__", ".git", ".venv", "venv", "node_modules", ".mypy_cache"}
PYTHON_PATHS: tuple[list[str], list[str]] | None = None  # found once, in the zygote
CARRIED: list[str] | None = None  # and what of them is put back under a hidden folder


def python_paths() -> tuple[list[str], list[str]]:
    """(whole folders, single entries) of Python's installation a server may read: the
    standard library, and every installed package but wsquiz itself."""
    folders: set[str] = set()
    entries: set[str] = set()
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        folders.add(os.path.join(prefix, "bin"))
        entries.add(os.path.join(prefix, "pyvenv.cfg"))
    for place in sys.path:
        if not place or not os.path.isdir(place):
            continue
        place = os.path.realpath(place)
        if os.path.isfile(os.path.join(place, "wsquiz", "__init__.py")) or os.path.basename(
            place
        ).endswith(("site-packages", "dist-packages")):
            with contextlib.suppress(OSError):
                for name in os.listdir(place):
                    if not name.startswith(("wsquiz", "__editable__")) and not os.path.exists(
                        os.path.join(place, name, "_content")
                    ):
                        if os.path.isfile(os.path.join(place, "pyproject.toml")):
                            continue  # a source checkout: its folders are not packages
                        entries.add(os.path.join(place, name))
        else:
            folders.add(place)
    return sorted(folders), sorted(entries)


def read_app(folder: Path, main: Path, whole: bool) -> dict[str, bytes]:
    """The files the app may see (relative path: bytes): its own file, and with `whole` its
    folder's other files (bounded), read now, as the grader could, before the view changes."""
    key = main.relative_to(folder).as_posix() if whole else main.name
    files = {key: main.read_bytes()}
    if not whole:
        return files
    total = len(files[key])
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and not d.startswith("."))
        for name in sorted(names):
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if relative in files or path.is_symlink():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            total += len(data)
            if total > MAX_COPIED or len(files) >= MAX_FILES:
                raise _too_large(folder, len(files) >= MAX_FILES)
            files[relative] = data
    return files


def _too_large(folder: Path, files: bool) -> AppLoadError:
    # A copy cut short would serve an app missing some of its files, and say nothing.
    limit = f"{MAX_FILES} files" if files else f"{MAX_COPIED >> 20} MiB"
    return AppLoadError(
        folder,
        f"the app's folder is too large to copy into the sandbox (over {limit}; "
        f"{', '.join(sorted(SKIPPED))} and hidden folders are not counted)",
        fix="serve the app from a smaller folder of its own, or point --app-dir at the "
        "folder that holds only the app's modules",
    )


def own_view(files: dict[str, bytes], uid: int, disk_mb: int, carried: list[str]) -> None:
    """Mount the private folders and write the app's copy (run as root of the namespaces)."""
    _sys.mount(None, "/", None, _sys.MS_REC | _sys.MS_PRIVATE)
    trees = []
    for path in carried:
        with contextlib.suppress(OSError):
            trees.append((path, _sys.open_tree(path)))
    size = f"size={disk_mb}m,nr_inodes=4096"
    flags = _sys.MS_NOSUID | _sys.MS_NODEV
    _sys.mount("tmpfs", "/tmp", "tmpfs", flags, f"{size},mode=0755")
    for place in PRIVATE[1:]:
        with contextlib.suppress(OSError):
            _sys.mount("tmpfs", place, "tmpfs", flags, f"{size},mode=1777")
    for place in HOMES:
        if os.path.isdir(place):
            with contextlib.suppress(OSError):
                _sys.mount("tmpfs", place, "tmpfs", flags, "size=1m,nr_inodes=1024,mode=0755")
    with contextlib.suppress(OSError):
        flags = _sys.MS_NOSUID | _sys.MS_NODEV | _sys.MS_NOEXEC
        _sys.mount("proc", "/proc", "proc", flags)
    for path, tree in trees:
        os.makedirs(path, exist_ok=True)
        _sys.move_mount(tree, path)
        os.close(tree)
    write_app(APP_DIR, files)
    os.chown("/tmp", uid, uid)
    os.chmod("/tmp", 0o700)


def write_app(folder: str, files: dict[str, bytes]) -> None:
    os.makedirs(folder, mode=0o755 if folder == APP_DIR else 0o700)
    for relative, data in files.items():
        target = Path(folder, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def carried_paths(folders: list[str], entries: list[str]) -> list[str]:
    """The Python folders under a folder the sandbox hides, outermost only."""
    under = [p for p in [*folders, *entries] if p.startswith(tuple(h + "/" for h in HIDDEN))]
    roots: list[str] = []
    for path in sorted(under):
        if not any(path == r or path.startswith(r + "/") for r in roots):
            roots.append(path)
    # put back the installation's folder as a whole (site-packages holds wsquiz: Landlock
    # still allows only the entries named)
    tops = []
    for root in roots:
        prefix = next((p for p in (sys.prefix, sys.exec_prefix) if root.startswith(p + "/")), root)
        if prefix not in tops:
            tops.append(prefix)
    return tops


def rules(
    folders: list[str], entries: list[str], writable: tuple[str, ...] = PRIVATE
) -> list[tuple[str, int]]:
    found = [(p, landlock.READ) for p in (*SYSTEM, "/proc", *folders, *entries)]
    found.append(("/dev", landlock.DEVICES))
    found += [(p, landlock.WRITE) for p in writable]
    return found


def limit_resources(memory_mb: int, cpu_s: int, processes: int) -> None:
    vsz = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    for which, value in (
        (resource.RLIMIT_AS, vsz + memory_mb * 1024 * 1024),
        (resource.RLIMIT_FSIZE, 8 * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, 256),
        (resource.RLIMIT_NPROC, processes),
    ):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (value, value))
    with contextlib.suppress(ValueError, OSError):  # SIGXCPU at the limit, SIGKILL 1 s later
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
