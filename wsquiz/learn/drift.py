"""Drift between server stacks: a course's observed answers and claims recorded with the stack
they were observed on (`wsquiz validate --live --record`), two such records compared
(`--against`), and what an answer sheet recorded on another stack means for its grading."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wsquiz.course.quizzes import Question, Quiz
from wsquiz.engine import stack
from wsquiz.errors import UsageError
from wsquiz.learn.judge import Observation, claim_holds, key_of

FORMAT = 1


def question_record(quiz: Quiz, question: Question, observation: Observation) -> dict[str, Any]:
    """One question as observed: its key and each claim (held or not, and what was seen)."""
    claims: list[dict[str, Any]] = []
    for claim in question.claims:
        bounds = tuple(getattr(claim, "when", ()) or ())
        if not stack.applies(bounds):
            claims.append({"claim": claim.describe(), "holds": None, "observed": None})
            continue
        holds, seen = claim_holds(claim, observation.main)
        claims.append({"claim": claim.describe(), "holds": holds, "observed": seen})
    return {
        "id": f"{quiz.name}/{question.id}",
        "answer": key_of(question, observation),
        "claims": claims,
    }


def course_record(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from wsquiz import __version__

    return {
        "format": FORMAT,
        "wsquiz": __version__,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "stack": stack.current().to_dict(),
        "questions": rows,
    }


def write_record(path: Path, record: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=2, ensure_ascii=False)
            out.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot write the record ({exc})", fix="choose a writable path"
        ) from None


def read_record(path: Path) -> dict[str, Any]:
    fix = "give a file `wsquiz validate --live --record FILE` wrote"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such record", fix=fix) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a record of observations ({exc})", fix=fix) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("questions"), list)
        or stack.Stack.from_dict(data.get("stack")) is None
    ):
        raise UsageError(f"{path}: not a record of observations (no stack or questions)", fix=fix)
    return data


@dataclass(frozen=True)
class Change:
    """One question whose answer or claim differs between two records."""

    id: str
    what: str  # "answer", or the claim (`close_code is "1006"`), or "question"
    old: str
    new: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "what": self.what, "old": self.old, "new": self.new}


def _claim_text(claim: dict[str, Any] | None) -> str:
    if claim is None:
        return "(no such claim)"
    if claim.get("holds") is None:
        return "not claimed on this stack"
    state = "holds" if claim["holds"] else "fails"
    seen = claim.get("observed")
    return f"{state} (observed {seen!r})" if seen is not None else f"{state} (observed nothing)"


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Each question whose answer or claim changed from `old` to `new`, in `new`'s order."""
    before = {row.get("id"): row for row in old["questions"] if isinstance(row, dict)}
    changes: list[Change] = []
    for row in new["questions"]:
        qid = str(row["id"])
        was: dict[str, Any] | None = before.pop(qid, None)
        if was is None:
            changes.append(Change(qid, "question", "(not recorded)", str(row["answer"])))
            continue
        if str(was.get("answer")) != str(row["answer"]):
            changes.append(Change(qid, "answer", str(was.get("answer")), str(row["answer"])))
        old_claims = {c.get("claim"): c for c in was.get("claims") or () if isinstance(c, dict)}
        for claim in row.get("claims") or ():
            earlier = old_claims.get(claim["claim"])
            if earlier is None or (earlier.get("holds"), earlier.get("observed")) != (
                claim.get("holds"),
                claim.get("observed"),
            ):
                changes.append(
                    Change(qid, claim["claim"], _claim_text(earlier), _claim_text(claim))
                )
    for gone, row in before.items():
        changes.append(Change(str(gone), "question", str(row.get("answer")), "(not recorded)"))
    return changes


def stacks_of(old: dict[str, Any], new: dict[str, Any]) -> tuple[stack.Stack, stack.Stack]:
    a, b = stack.Stack.from_dict(old.get("stack")), stack.Stack.from_dict(new.get("stack"))
    assert a is not None and b is not None  # read_record and course_record guarantee them
    return a, b


# ---- answer sheets recorded on another stack ------------------------------------------------


def sheet_stack_note(sheet: dict[str, Any]) -> str | None:
    """`recorded on another stack: ...` when the sheet says which stack it was recorded on
    and that stack is not this one; None when it is the same, or the sheet does not say."""
    recorded = stack.Stack.from_dict(sheet.get("stack") or sheet.get("versions"))
    if recorded is None:
        return None
    changes = recorded.changes(stack.current())
    if not changes:
        return None
    shown = ", ".join(f"{name} {was} (here {now})" for name, was, now in changes)
    return f"recorded on another stack: {shown}"


def sheet_keys(sheet: dict[str, Any]) -> dict[str, str]:
    """The key each answer was judged against when the sheet was recorded (if it says)."""
    keys = sheet.get("keys")
    if not isinstance(keys, dict):
        return {}
    return {str(k): str(v) for k, v in keys.items()}


def read_sheet_json(path: Path) -> dict[str, Any]:
    """The raw sheet (a JSON one), for its stack and keys; {} when it is not JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
