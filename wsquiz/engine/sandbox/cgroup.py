"""A memory and a process-count limit for a whole sandbox tree: a cgroup of its own.

Made below this process's own cgroup (limits only ever tighten what the machine gives the
grader), with cgroup v1's `memory` and `pids` controllers, or v2's where they are enabled.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup")


def _own(controller: str) -> Path | None:
    """This process's cgroup folder for `controller` (v1 hierarchy, else the v2 one)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = V1_ROOT / controller / path.lstrip("/")
            if folder.is_dir():
                return folder
    for line in lines:
        number, _, path = line.split(":", 2)
        if number == "0":
            for root in (V1_ROOT / "unified", V1_ROOT):
                folder = root / path.lstrip("/")
                try:
                    enabled = (folder / "cgroup.controllers").read_text().split()
                except OSError:
                    continue
                if controller in enabled:
                    return folder
    return None


class Cgroups:
    """The sandbox's cgroups, one per controller; `join` moves a process in."""

    def __init__(self, name: str, memory_bytes: int = 0, processes: int = 0) -> None:
        self.folders: list[Path] = []
        memory, pids = _own("memory"), _own("pids")
        self._memory = self._make(memory, name) if memory is not None else None
        self._pids = self._make(pids, name) if pids is not None else None
        if memory_bytes and processes:
            self.limit(memory_bytes, processes)

    def limit(self, memory_bytes: int, processes: int) -> None:
        """Set the limits, once (made without, they are those of the parent cgroup); they hold
        for every process in there."""
        folder = self._memory
        if folder is not None:
            v1 = (folder / "memory.limit_in_bytes").exists()
            self._write(folder, "memory.limit_in_bytes" if v1 else "memory.max", memory_bytes)
            with contextlib.suppress(OSError):  # no swap either, where swap is accounted
                self._write(
                    folder,
                    "memory.memsw.limit_in_bytes" if v1 else "memory.swap.max",
                    memory_bytes if v1 else 0,
                )
        if self._pids is not None:
            self._write(self._pids, "pids.max", processes)

    def _make(self, parent: Path, name: str) -> Path:
        folder = parent / name
        folder.mkdir()
        self.folders.append(folder)
        return folder

    @staticmethod
    def _write(folder: Path, key: str, value: int) -> None:
        (folder / key).write_text(str(value))

    @property
    def limits_memory(self) -> bool:
        return any(
            (f / "memory.limit_in_bytes").exists() or (f / "memory.max").exists()
            for f in self.folders
        )

    def join(self, pid: int = 0) -> None:
        """Move `pid` in (0: this process, whatever its pid namespace calls it)."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))


def cgroup_name(keeper: int) -> str:
    return f"wsquiz-{keeper}"


def sandbox_cgroup_name(zygote: int, number: int) -> str:
    return f"wsquiz-{zygote}-{number}"


def remove(name: str) -> bool:
    """Remove a sandbox's cgroups; False while one still holds a process being torn down."""
    removed = True
    for controller in ("memory", "pids"):
        parent = _own(controller)
        if parent is None:
            continue
        try:
            (parent / name).rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            removed = False
    return removed


def sweep() -> None:
    """Remove the empty cgroups of sandboxes whose zygote was killed before it could (a busy
    one, still in use by another grader, cannot be removed: rmdir refuses)."""
    for controller in ("memory", "pids"):
        parent = _own(controller)
        if parent is not None:
            for folder in parent.glob("wsquiz-*"):
                with contextlib.suppress(OSError):
                    folder.rmdir()


def available() -> list[str]:
    """The controllers a sandbox can limit here ("memory", "pids")."""
    found = []
    for controller in ("memory", "pids"):
        folder = _own(controller)
        if folder is not None and os.access(folder, os.W_OK):
            found.append(controller)
    return found
