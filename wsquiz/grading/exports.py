"""Gradebook exports: JSON, CSV (one row per student, a column per check), Gradescope.

Gradescope's `results.json` follows its autograder specification: a top-level `score`, an
`output` for the whole submission, and `tests`, each with `name`, `score`, `max_score`,
`status` ("passed" or "failed") and `output` (the feedback a student reads).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from wsquiz._support.files import open_folder, write_all, write_atomic
from wsquiz.errors import UsageError
from wsquiz.grading.gradebook import StudentResult, number

Format = Literal["csv", "json", "gradescope"]
FORMATS: tuple[Format, ...] = ("csv", "json", "gradescope")


def to_json(
    results: Sequence[StudentResult], kind: str = "", name: str = "", session: str = ""
) -> dict[str, Any]:
    """`{"quiz" | "exercise": name, "session"?: id, "results": [...]}` (session: a classroom's)."""
    data: dict[str, Any] = {}
    if kind:
        data[kind] = name
    if session:
        data["session"] = session
    data["results"] = [r.to_dict() for r in results]
    return data


def check_names(results: Sequence[StudentResult]) -> list[str]:
    """Every check, in the order graded (the exercise's order)."""
    names: dict[str, None] = {}
    for result in results:
        for check in result.checks:
            names.setdefault(check.name, None)
    return list(names)


def to_csv(results: Sequence[StudentResult]) -> str:
    """A row per student, a column per check; every text cell safe to open in a spreadsheet."""
    names = check_names(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *map(cell, names), "error"])
    for result in results:
        earned = {c.name: c.points for c in result.checks}
        writer.writerow(
            [
                cell(result.student),
                _number(result.score),
                _number(result.max_score),
                *(_number(earned.get(name, 0.0)) for name in names),
                cell(result.error or ""),
            ]
        )
    return buffer.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula (`=`, `+`, `-`,
    `@`, tab, carriage return) gets a leading `'`, as OWASP recommends against CSV injection.
    The numbers wsquiz writes itself are left as numbers. A carriage return inside a cell
    becomes a newline: the csv module quotes that one, and a reader keeps the row whole."""
    text = f"'{text}" if text.startswith(FORMULA_STARTS) else text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def to_gradescope(result: StudentResult) -> dict[str, Any]:
    """One student's `results.json`."""
    tests = [
        {
            "name": check.name,
            "score": number(check.points),
            "max_score": number(check.max_points),
            "status": "passed" if check.passed else "failed",
            "output": check.message,
        }
        for check in result.checks
    ]
    passed = sum(1 for c in result.checks if c.passed)
    summary = f"{passed} of {len(result.checks)} checks passed"
    if result.error:
        summary = f"{result.error}\n{summary}" if result.checks else result.error
    return {
        "score": number(result.score),
        "execution_time": round(result.elapsed_s, 3),
        "output": summary,
        "tests": tests,
        # the student's name as graded: a file name may have been made safe, cut or suffixed
        "extra_data": {"student": result.student},
    }


def format_for(out: Path) -> Format:
    """The export an `--out` given without `--format` asks for, by its suffix."""
    suffix = out.suffix.lower().lstrip(".")
    if suffix in ("csv", "json"):
        return "csv" if suffix == "csv" else "json"
    raise UsageError(
        f"--out {out}: which export? (--format is not given and the name does not say)",
        fix="add --format csv, json or gradescope (or name the file .csv or .json)",
    )


def check_out(fmt: str, out: Path, students: int) -> None:
    """Refuse an `--out` the export could not be written to, before any grading is done."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    one_file = fmt != "gradescope" or out.suffix == ".json"
    if fmt == "gradescope" and one_file and students != 1:
        raise UsageError(
            f"--out {out}: a Gradescope results.json holds one student, "
            f"and {students} are to be graded",
            fix="give --out a folder to get one <student>.json per student, "
            f"e.g. --out {out.with_suffix('')}/",
        )
    if one_file and out.is_dir():
        example = out / ("grades.csv" if fmt == "csv" else "grades.json")
        raise UsageError(
            f"--out {out}: a folder, and the {fmt} export is one file",
            fix=f"give --out a file's path, e.g. --out {example}",
        )
    if not one_file and out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {out}: a file, and Gradescope results go to a folder (one <student>.json each)",
            fix="give --out a folder's path",
        )
    folder = out.parent if one_file else out
    existing = next(p for p in (folder.absolute(), *folder.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UsageError(
            f"--out {out}: {existing} is a file, not a folder", fix="give --out another path"
        )
    try:
        os.close(open_folder(existing, create=False))
    except OSError as exc:
        raise _unwritable(Path(exc.filename or existing), exc) from None
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"--out {out}: {existing} is not writable",
            fix="give --out a path in a folder you can write to",
        )


def write(
    results: Sequence[StudentResult],
    fmt: str,
    out: Path,
    *,
    kind: str = "",
    name: str = "",
    session: str = "",
) -> list[Path]:
    """Write the export; return the files written.

    Gradescope takes one file per student: `out` ending in `.json` is that file (one student
    only); otherwise `out` is a folder that gets `<student>.json` for each.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    if fmt == "json":
        text = (
            json.dumps(to_json(results, kind, name, session), indent=2, ensure_ascii=False) + "\n"
        )
        return [_write_text(out, text)]
    if fmt == "csv":
        return [_write_text(out, to_csv(results))]
    if out.suffix == ".json":
        if len(results) != 1:
            raise UsageError(
                f"{out}: a Gradescope results.json holds one student, and {len(results)} "
                "were graded",
                fix="give --out a folder to get one <student>.json per student",
            )
        text = json.dumps(to_gradescope(results[0]), indent=2, ensure_ascii=False) + "\n"
        return [_write_text(out, text)]
    texts = {
        name: json.dumps(to_gradescope(result), indent=2, ensure_ascii=False) + "\n"
        for name, result in zip(file_names([r.student for r in results]), results, strict=True)
    }
    try:
        return write_all(out, texts)  # all the class or none of it
    except OSError as exc:
        raise _unwritable(Path(exc.filename or out), exc) from None


MAX_NAME = 120  # bytes of a student's name kept in a file name; the rest is told by a digest


def safe_name(student: str) -> str:
    """`student` as a file name: only letters, digits and `.@+-`, never hidden."""
    return re.sub(r"[^\w.@+-]", "_", student).lstrip(".") or "_"


def file_names(students: Sequence[str]) -> list[str]:
    """One `<name>.json` per student, unique (case aside, for the file systems that ignore it)
    and bounded: a name changed to be safe, or cut, gets a digest of the student's name when
    another student's name would give the same file, or when it is too long."""
    safe = [safe_name(student) for student in students]
    taken: dict[str, list[int]] = {}
    for index, name in enumerate(safe):
        taken.setdefault(name.casefold(), []).append(index)
    names = []
    for index, (student, name) in enumerate(zip(students, safe, strict=True)):
        rivals = taken[name.casefold()]
        first_exact = next((i for i in rivals if students[i] == safe[i]), rivals[0])
        cut = _cut(name, MAX_NAME)
        if cut != name or (len(rivals) > 1 and index != first_exact):
            digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).hexdigest()
            name = f"{cut}-{digest[:12]}"
        names.append(name)
    seen: set[str] = set()
    for index, name in enumerate(names):  # a student literally named like another's digest
        while name.casefold() in seen:
            name = f"{name}-{index}"
        seen.add(name.casefold())
        names[index] = name
    return [f"{name}.json" for name in names]


def _cut(name: str, limit: int) -> str:
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return name
    return raw[:limit].decode("utf-8", "ignore")


def _write_text(path: Path, text: str) -> Path:
    """Write atomically, never through a file or link someone else put there."""
    try:
        return write_atomic(path, text)
    except OSError as exc:
        raise _unwritable(path, exc) from None


def _unwritable(path: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"{path}: cannot write the export ({exc.strerror or exc}); nothing was written",
        fix="give --out a path in a folder you can write to (and only you can)",
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
