"""Which of the sandbox's protections this machine (kernel, user) cannot give, found by trying.

A probe process tries each step a sandbox takes and reports what failed; the answer is kept for
the life of the process.
"""

from __future__ import annotations

import contextlib
import json
import os
from functools import cache

from wsquiz.engine.sandbox import _sys, cgroup, landlock

PROTECTIONS = {
    "user": "a user of its own (run as root for one per sandbox)",
    "pid": "a PID namespace of its own (its processes could see and signal others)",
    "net": "a network namespace of its own (it could connect to other sandboxes and the grader)",
    "ipc": "an IPC namespace of its own",
    "mount": "a mount namespace: private /tmp, /var/tmp, /dev/shm and a size-limited temp folder",
    "landlock": "Landlock: files outside the system and Python stay readable (needs Linux 5.13)",
    "landlock-net": "Landlock network rules (needs Linux 6.7)",
    "landlock-scope": "Landlock signal scoping (needs Linux 6.12)",
    "memory": "a memory limit for the sandbox's whole tree (cgroup): the limit is per process",
    "pids": "a process-count limit for the sandbox's whole tree (cgroup): it is per user",
}


@cache
def missing_protections() -> tuple[str, ...]:
    """What a sandbox here would lack, in words (empty: every protection holds)."""
    missing = []
    root = os.geteuid() == 0
    if not root:
        missing.append("user")
    version = landlock.abi()
    if version < 1:
        missing.append("landlock")
    if version < 4:
        missing.append("landlock-net")
    if version < 6:
        missing.append("landlock-scope")
    controllers = cgroup.available() if root else []
    missing += [c for c in ("memory", "pids") if c not in controllers]
    missing += _namespaces_missing(root)
    order = list(PROTECTIONS)
    return tuple(PROTECTIONS[key] for key in sorted(set(missing), key=order.index))


def _namespaces_missing(root: int | bool) -> list[str]:
    """Try the sandbox's unshare and mounts in a throwaway child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the probe
        result: list[str] = []
        try:
            os.close(read)
            flags = _sys.CLONE_NEWPID | _sys.CLONE_NEWNET | _sys.CLONE_NEWIPC | _sys.CLONE_NEWNS
            if not root:
                flags |= _sys.CLONE_NEWUSER
            try:
                _sys.unshare(flags)
            except OSError:
                result = ["pid", "net", "ipc", "mount"]
            else:
                try:
                    _sys.mount(None, "/", None, _sys.MS_REC | _sys.MS_PRIVATE)
                    _sys.mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m")
                except OSError:
                    result = ["mount"]
        finally:
            with contextlib.suppress(OSError):
                os.write(write, json.dumps(result).encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    try:
        return list(json.loads(data))
    except ValueError:
        return ["pid", "net", "ipc", "mount"]
