"""Writing files atomically, without following a link that someone else planted.

Every file wsquiz writes for keeps (exports, answer sheets, classroom tokens, the autograder)
goes through `write_atomic` or `write_all`: a reader sees the old file or the new one, never
half of one, and the write cannot be redirected, even by root into a folder a student can
write to (a world-writable export folder):

- the folder is opened component by component; a symbolic link is followed only where nobody
  else could have planted it (its folder is ours or root's and not writable by others, or the
  link is ours or root's in a sticky folder such as /tmp), as the kernel's `protected_symlinks`
  rule does; a missing folder is created by us;
- the temporary file is created in that folder, through its descriptor, with
  `O_CREAT | O_EXCL | O_NOFOLLOW` under a random name: never a file someone made before us;
- the destination's entry is then replaced (`rename`): a link or file planted under the
  destination's name is replaced, never written through.

Errors are `OSError`s with the path and a reason; callers turn them into their own messages.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

NAME_MAX = 255  # bytes in one file name (Linux, macOS)
MAX_HOPS = 40  # symbolic links followed while opening one folder (the kernel's own limit)
# O_PATH (Linux): a folder is opened to be walked through, which needs no read permission.
_OPEN_DIR = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# os.replace takes src_dir_fd and dst_dir_fd wherever os.rename does (its listed form).
_BY_DIR_FD = {os.open, os.mkdir, os.stat, os.rename, os.unlink, os.readlink} <= os.supports_dir_fd


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o666) -> Path:
    """Write `data` (text as UTF-8) to `path` atomically; create its folder if missing.

    `mode` is the new file's permissions before the umask (0o600 for a secret).
    """
    return write_all(path.parent, {path.name: data}, mode=mode)[0]


def write_all(folder: Path, files: Mapping[str, str | bytes], *, mode: int = 0o666) -> list[Path]:
    """Write several files of one folder, all or none: every one is written in full (as a
    temporary file) before any takes its place, so a failure (disk full, a name too long)
    leaves the folder as it was."""
    for name in files:
        if not name or name in (".", "..") or "/" in name or "\0" in name:
            raise OSError(errno.EINVAL, "not a file name", name)
        if len(os.fsencode(name)) > NAME_MAX:
            raise OSError(errno.ENAMETOOLONG, f"file name longer than {NAME_MAX} bytes", name)
    if not _BY_DIR_FD:  # no descriptor-relative calls (Windows): O_EXCL temporaries only
        return _write_by_path(folder, files, mode)
    with _folder(folder) as fd:
        staged: dict[str, str] = {}
        try:
            for name, data in files.items():
                staged[name] = _stage(fd, name, data, mode, folder)
        except BaseException:
            for temporary in staged.values():
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=fd)
            raise
        try:
            for name in staged:
                _replaceable(fd, name, folder)
        except OSError:
            for temporary in staged.values():
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=fd)
            raise
        written = []
        for name, temporary in staged.items():
            try:
                os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=fd)
                raise OSError(exc.errno, exc.strerror, str(folder / name)) from None
            written.append(folder / name)
        return written


def _replaceable(fd: int, name: str, folder: Path) -> None:
    """Refuse, before any file takes its place, a destination that a rename cannot replace:
    a folder, or someone else's file in a sticky folder (as /tmp is) when we are not root."""
    try:
        found = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(folder / name))
    sticky = os.fstat(fd).st_mode & stat.S_ISVTX
    if sticky and os.geteuid() not in (0, found.st_uid):
        raise PermissionError(errno.EPERM, "someone else's file is in the way", str(folder / name))


def _stage(fd: int, name: str, data: str | bytes, mode: int, folder: Path) -> str:
    """A temporary file of the folder `fd`, made by us alone, holding `data` (synced)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    for _ in range(100):
        temporary = f".{name[:32]}.{secrets.token_hex(6)}.partial"
        try:
            out = os.open(temporary, _CREATE, mode, dir_fd=fd)
        except FileExistsError:
            continue
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(folder / name)) from None
        try:
            with open(out, "wb", closefd=True) as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=fd)
            raise
        return temporary
    raise OSError(errno.EEXIST, "no free temporary name", str(folder / name))


@contextlib.contextmanager
def _folder(folder: Path) -> Iterator[int]:
    fd = open_folder(folder)
    try:
        yield fd
    finally:
        os.close(fd)


def open_folder(folder: Path, *, create: bool = True) -> int:
    """A descriptor of `folder`, reached without following a link someone else could have
    planted (see the module's docstring); missing folders are created when `create`."""
    pending = _parts(os.path.abspath(folder))
    done: list[str] = []
    hops = 0
    fd = os.open("/", _OPEN_DIR)
    try:
        while pending:
            name = pending.pop(0)
            where = "/" + "/".join([*done, name])
            try:
                found = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not create:
                    raise FileNotFoundError(errno.ENOENT, "no such folder", where) from None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=fd)
                found = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(found.st_mode):
                hops += 1
                if hops > MAX_HOPS:
                    raise OSError(errno.ELOOP, "too many symbolic links", where)
                if not _may_follow(os.fstat(fd), found):
                    raise OSError(
                        errno.ELOOP,
                        "a symbolic link in a folder others can write to: not followed",
                        where,
                    )
                target = os.readlink(name, dir_fd=fd)
                pending = _parts(os.path.join("/", *done, target, *pending))
                done = []
                os.close(fd)
                fd = os.open("/", _OPEN_DIR)
                continue
            if not stat.S_ISDIR(found.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", where)
            inner = os.open(name, _OPEN_DIR | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
            done.append(name)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _parts(path: str) -> list[str]:
    return [part for part in os.path.normpath(path).split("/") if part not in ("", ".")]


def _may_follow(folder: os.stat_result, link: os.stat_result) -> bool:
    """Whether a link found in `folder` can only have been put there by us or root."""
    trusted = (0, os.geteuid())
    if link.st_uid not in trusted:
        return folder.st_uid in trusted and not _others_write(folder)
    if folder.st_uid in trusted and not _others_write(folder):
        return True
    return bool(folder.st_mode & stat.S_ISVTX)  # others may write there, but not replace it


def _others_write(folder: os.stat_result) -> bool:
    if folder.st_mode & stat.S_IWOTH:
        return True
    return bool(folder.st_mode & stat.S_IWGRP) and folder.st_gid != os.getegid()


def _write_by_path(folder: Path, files: Mapping[str, str | bytes], mode: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    try:
        for name, data in files.items():
            raw = data.encode("utf-8") if isinstance(data, str) else data
            temporary = folder / f".{name[:32]}.{secrets.token_hex(6)}.partial"
            out = os.open(temporary, _CREATE, mode)
            staged[name] = temporary
            with open(out, "wb") as handle:
                handle.write(raw)
    except BaseException:
        for temporary in staged.values():
            with contextlib.suppress(OSError):
                temporary.unlink()
        raise
    for name, temporary in staged.items():
        os.replace(temporary, folder / name)
    return [folder / name for name in staged]
