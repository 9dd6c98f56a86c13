"""Landlock (Linux >= 5.13, unprivileged): what a sandboxed server may read, write and reach.

A ruleset is an allowlist: paths not named are not readable at all, whatever their modes say.
With ABI 4 and later no TCP bind or connect is allowed (the server only accepts, on the socket
it was given); with ABI 6 and later it can signal, or reach the abstract Unix sockets of, no
process outside its own sandbox.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable

from wsquiz.engine.sandbox._sys import check, libc

SYS_CREATE_RULESET = 444
SYS_ADD_RULE = 445
SYS_RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 16, 32, 64, 128
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 256, 512, 1024, 2048, 4096
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV

READ = EXECUTE | READ_FILE | READ_DIR
WRITE = (
    READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM | MAKE_FIFO
) | (MAKE_SOCK | REFER | TRUNCATE)
DEVICES = READ | WRITE_FILE | IOCTL_DEV

NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi() -> int:
    """The Landlock ABI version the kernel offers (0: none)."""
    version = int(
        libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
    )
    return max(version, 0)


def _handled_fs(version: int) -> int:
    rights = (MAKE_SYM << 1) - 1
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def prepare(rules: Iterable[tuple[str, int]], version: int) -> int:
    """A ruleset file descriptor allowing `rules` (path, rights) and nothing else.

    Made while the paths can still be opened (before privileges are dropped); enforced later.
    """
    handled = _handled_fs(version)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if version >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if version >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    ruleset = check(
        int(libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)),
        "landlock_create_ruleset",
    )
    for path, rights in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue  # not on this system: nothing to allow
        try:
            allowed = rights & handled
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                allowed &= FILE_ONLY
            beneath = _PathBeneath(allowed, fd)
            check(
                int(
                    libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(beneath), 0)
                ),
                f"landlock_add_rule {path}",
            )
        finally:
            os.close(fd)
    return ruleset


def enforce(ruleset: int) -> None:
    """Restrict this thread (and all it will start) to the ruleset; needs no_new_privs."""
    check(int(libc.syscall(SYS_RESTRICT_SELF, ruleset, 0)), "landlock_restrict_self")
    os.close(ruleset)
