"""The Linux system calls a sandbox makes, through ctypes: prctl, unshare, mounts, capabilities."""

from __future__ import annotations

import contextlib
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_SECUREBITS = 28
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAP_V3 = 0x20080522

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_BIND = 4096
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

SYS_OPEN_TREE = 428
SYS_MOVE_MOUNT = 429
OPEN_TREE_CLONE = 1
AT_RECURSIVE = 0x8000
AT_FDCWD = -100
MOVE_MOUNT_F_EMPTY_PATH = 0x4

libc.syscall.restype = ctypes.c_long
libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]


def prctl(option: int, value: int) -> int:
    return int(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0))


def check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def unshare(flags: int) -> None:
    check(libc.unshare(flags), "unshare")


def setns(fd: int, kind: int) -> None:
    check(libc.setns(fd, kind), "setns")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    check(
        libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def open_tree(path: str) -> int:
    """A detached copy of the mount tree at `path` (to put back after a tmpfs hides it)."""
    flags = OPEN_TREE_CLONE | AT_RECURSIVE | os.O_CLOEXEC
    return check(
        int(libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), ctypes.c_uint(flags))), "open_tree"
    )


def move_mount(fd: int, target: str) -> None:
    check(
        int(
            libc.syscall(
                SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, target.encode(), MOVE_MOUNT_F_EMPTY_PATH
            )
        ),
        f"move_mount {target}",
    )


def drop_capabilities() -> None:
    """Empty every capability set, the bounding and ambient sets included."""
    for number in range(64):
        prctl(PR_CAPBSET_DROP, number)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = (ctypes.c_uint32 * 2)(_CAP_V3, 0)
    data = (ctypes.c_uint32 * 6)(0, 0, 0, 0, 0, 0)
    check(libc.capset(header, data), "capset")


def become(uid: int, gid: int) -> None:
    """Become `uid` with no capabilities at all and no way to gain any (no_new_privs)."""
    for number in range(64):
        prctl(PR_CAPBSET_DROP, number)
    if uid == 0:
        # root of a user namespace: keep uid 0 from giving capabilities back on exec
        prctl(PR_SET_SECUREBITS, 0x3F)
    with contextlib.suppress(OSError):
        os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    drop_capabilities()
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    # A change of user makes the process undumpable, its /proc/self root's: give it back
    # (its user is its own; core dumps are off by RLIMIT_CORE).
    prctl(PR_SET_DUMPABLE, 1)
