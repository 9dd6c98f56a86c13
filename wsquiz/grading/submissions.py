"""Finding each student's submission in a folder, and splitting a class into shards.

A submissions folder holds one entry per student: `<student>.py`, or a folder `<student>/`
with one `.py` (exercises), or `<student>.json` / `<student>.toml` answer sheets (quizzes).
An entry that cannot be graded (a symbolic link, two files, a file too large, a name that is
not UTF-8) is still a `Submission`, carrying the reason as its `problem`: it costs that
student alone. A `Submission` carries a digest of what is graded, so `--resume` can tell an
unchanged submission from one replaced since, and names the student's file relative to the
submissions folder: feedback never shows the grader's paths.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from wsquiz.errors import UsageError
from wsquiz.grading.gradebook import Kind

MAX_SOURCE = 1024 * 1024  # a submission larger than this is not source code
SHEET_SUFFIXES = (".json", ".toml")


@dataclass(frozen=True)
class Submission:
    """One student's entry: the file to grade, or why there is none to grade.

    `root` is the folder the submission was found in: feedback names the file relative to it.
    """

    student: str
    path: Path | None
    problem: str | None = None
    root: Path | None = None

    @cached_property
    def digest(self) -> str:
        """sha256 of what is graded: the file's bytes, or the reason there is nothing to grade.

        Empty when the file cannot be read: such a submission never counts as already graded.
        """
        digest = hashlib.sha256()
        if self.problem is not None or self.path is None:
            problem = readable(self.problem or "no submission")
            digest.update(b"problem\0" + problem.encode("utf-8"))
            return digest.hexdigest()
        digest.update(b"file\0")
        try:
            with self.path.open("rb") as handle:
                while chunk := handle.read(1 << 16):
                    digest.update(chunk)
        except OSError:
            return ""
        return digest.hexdigest()

    @property
    def origin(self) -> str:
        """Where it came from, for the instructor: the graded file, else the student's entry."""
        place = self.path or (self.root / self.student if self.root is not None else None)
        return str(place.absolute()) if place is not None else ""

    @property
    def shown(self) -> str:
        """The file as feedback names it: relative to the submissions folder."""
        if self.path is None:
            return ""
        if self.root is not None:
            try:
                return self.path.absolute().relative_to(self.root.absolute()).as_posix()
            except ValueError:
                pass
        return self.path.name

    def scrub(self, text: str) -> str:
        """`text` with the grader's absolute paths of this submission made relative."""
        if self.path is None or not text:
            return text
        places: dict[str, str] = {}
        for root in _forms(self.root):
            places[root + os.sep] = ""
        for path in _forms(self.path):
            places[path] = self.shown
        for place in sorted(places, key=len, reverse=True):
            text = text.replace(place, places[place])
        return text


def _forms(path: Path | None) -> set[str]:
    """The spellings of a path a message may hold: as given (`../subs`), absolute, and with
    `..` and symlinks resolved."""
    if path is None:
        return set()
    forms = {str(path), str(path.absolute()), os.path.normpath(path.absolute())}
    with contextlib.suppress(OSError, RuntimeError):
        forms.add(str(path.resolve()))
    return {form for form in forms if form not in (os.sep, ".", "")}


# ---- finding submissions -------------------------------------------------------------------


def discover(folder: Path, kind: Kind) -> list[Submission]:
    """Every student's submission in `folder`, sorted by student name."""
    if not folder.is_dir():
        raise UsageError(
            f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder",
            fix="give the folder holding one submission per student",
        )
    found: dict[str, list[Submission]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        submission: Submission | None = None
        if readable(entry.name) != entry.name:
            submission = _unreadable(entry, folder)
        elif entry.is_symlink():
            submission = Submission(entry.stem, None, f"{entry.name} is a symbolic link", folder)
        elif kind == "exercise" and entry.is_file() and entry.suffix == ".py":
            submission = _source(entry.stem, entry, folder)
        elif kind == "exercise" and entry.is_dir():
            submission = single(entry, kind, entry.name, root=folder)
        elif kind == "quiz" and entry.is_file() and entry.suffix in SHEET_SUFFIXES:
            submission = _source(entry.stem, entry, folder)
        if submission is not None:
            found.setdefault(submission.student, []).append(submission)
    if not found:
        what = (
            "<student>.py or <student>/ folders"
            if kind == "exercise"
            else ("<student>.json or <student>.toml answer sheets")
        )
        raise UsageError(f"{folder}: holds no submissions", fix=f"put {what} in it")
    result = []
    for student, entries in sorted(found.items()):
        if len(entries) > 1:
            names = ", ".join(e.path.name for e in entries if e.path) or student
            problem = f"several submissions for {student} ({names})"
            result.append(Submission(student, None, problem, folder))
        else:
            result.append(entries[0])
    return result


def single(
    folder: Path, kind: Kind, student: str | None = None, *, root: Path | None = None
) -> Submission:
    """`folder` as the submission of one student (Gradescope's /autograder/submission).

    Feedback names the file relative to `root` (default: `folder`, so just its name).
    """
    student = readable(student or folder.name)
    root = root or folder
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder", fix="give the student's submission folder")
    suffixes = (".py",) if kind == "exercise" else SHEET_SUFFIXES
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix in suffixes and p.is_file() and not p.name.startswith((".", "_"))
    )
    wanted = "one .py file" if kind == "exercise" else "one .json or .toml answer sheet"
    if not files:
        return Submission(student, None, f"{folder.name}/ holds no {suffixes[0]} file", root)
    if len(files) > 1:
        names = ", ".join(readable(p.name) for p in files)
        problem = (
            f"{readable(folder.name)}/ holds several files ({names}): a submission is {wanted}"
        )
        return Submission(student, None, problem, root)
    if files[0].is_symlink():
        return Submission(student, None, f"{files[0].name} is a symbolic link", root)
    return _source(student, files[0], root)


def _source(student: str, path: Path, root: Path) -> Submission:
    if readable(path.name) != path.name:
        return _unreadable(path, root, student)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Submission(student, None, f"{path.name}: cannot read it ({exc.strerror})", root)
    if size > MAX_SOURCE:
        return Submission(
            student,
            path,
            f"{path.name} is {size // 1024} KiB: too large (the limit is {MAX_SOURCE // 1024} KiB)",
            root,
        )
    return Submission(student, path, root=root)


def readable(text: str) -> str:
    """`text` as it can be recorded and shown: bytes of a file name that are not UTF-8 (Python
    keeps them as lone surrogates) written as `\\xe9`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate that no file name gave
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _unreadable(path: Path, root: Path, student: str | None = None) -> Submission:
    """An entry whose name is not UTF-8: graded as nothing, under a name that can be kept."""
    shown = readable(path.name)
    problem = (
        f"{shown}: the file name is not valid UTF-8, so it cannot be graded under it; "
        "rename it (letters, digits, - and _) and grade again with --resume"
    )
    return Submission(student or readable(path.stem), None, problem, root)


# ---- shards --------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N): this machine grades the K-th of N shards."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(
            f"--shard {text!r}: expected K/N with 1 <= K <= N",
            fix="e.g. --shard 1/3 on the first of three machines, 2/3 on the second",
        )
    return int(match.group(1)), int(match.group(2))


def shard_of(student: str, count: int) -> int:
    """The shard (1..count) a student belongs to: stable across machines and runs."""
    digest = hashlib.sha256(readable(student).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(submissions: Sequence[Submission], shard: tuple[int, int] | None) -> list[Submission]:
    if shard is None:
        return list(submissions)
    number, count = shard
    return [s for s in submissions if shard_of(s.student, count) == number]
