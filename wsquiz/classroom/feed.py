"""What the boards are sent: the teacher's private snapshot, and the public one a projector may
show (who is here and who is done, the spread after the reveal; never a student's answer or
score, nor the join code unless the teacher chose to show it); and a joining student's welcome.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsquiz.classroom.material import MaterialItem
    from wsquiz.classroom.room import Classroom
    from wsquiz.classroom.seats import Seat

LEADERBOARD = 5


def spread_rows(room: Classroom, item: MaterialItem, private: bool) -> list[dict[str, Any]]:
    """The bars of an item's answers: each option (with its text), then other answers by count.

    Bars the teacher hid are left out of what anyone else is sent; the teacher sees them marked.
    """
    given = room.answers.get(item.id, {})
    counts = Counter(room.group_of(a) for a in given.values())
    right = {room.group_of(a) for a in given.values() if a.correct}
    key = set(re.findall(r"\b[A-J]\b", room.keys.get(item.id, "").upper()))
    hidden = room.hidden.get(item.id, set())
    total = sum(counts.values())
    rows: list[dict[str, Any]] = []
    for letter, text in item.options:
        count = counts.pop(letter, 0)
        rows.append(
            {
                "answer": letter,
                "text": text,
                "count": count,
                "correct": letter in right or letter in key,
            }
        )
    for answer, count in counts.most_common():
        rows.append({"answer": answer, "text": "", "count": count, "correct": answer in right})
    shown = []
    for row in rows:
        row["percent"] = round(100 * row["count"] / total) if total else 0
        if row["answer"] in hidden:
            if not private:
                continue
            row["hidden"] = True
        shown.append(row)
    return shown


def check_rows(room: Classroom) -> list[dict[str, Any]]:
    passed = Counter(
        r["name"] for row in room.checks.values() for r in row.results if r.get("passed")
    )
    total = len(room.seats)
    return [
        {
            "answer": name,
            "text": "",
            "count": passed.get(name, 0),
            "correct": passed.get(name, 0) > 0,  # a tick only where someone passes it
            "percent": round(100 * passed.get(name, 0) / total) if total else 0,
        }
        for name in room.material.check_names
    ]


def _student_row(room: Classroom, number: int, name: str, private: bool) -> dict[str, Any]:
    seat = room.seats[name]
    item = room.current
    row: dict[str, Any] = {"name": name, "online": seat.peer is not None}
    if private:
        row["n"] = number
    if room.material.mode == "quiz":
        current = room.answers.get(item.id, {}).get(name) if item else None
        row["done"] = current is not None
        if private:
            mine = [room.answers.get(i.id, {}).get(name) for i in room.items]
            row["answered"] = sum(a is not None for a in mine)
            row["correct"] = sum(a.correct for a in mine if a is not None)
            if current is not None:
                row["answer"] = room.group_of(current)
                row["right"] = current.correct
    else:
        best = room.checks.get(name)
        row["done"] = best is not None and best.passed
        if private:  # the projector shows who is done, never a student's score
            row["attempts"] = room.attempts.get(name, 0)
            if best is not None:
                row["score"], row["max_score"] = best.score, best.max_score
    return row


def leaderboard(room: Classroom) -> list[dict[str, Any]]:
    """The final standings (right answers, then the earliest to finish)."""
    scores = []
    for name in room.seats:
        mine = [room.answers.get(i.id, {}).get(name) for i in room.items]
        right = [a for a in mine if a is not None and a.correct]
        last = max((a.at for a in right), default=0.0)
        scores.append((-len(right), last, name))
    return [
        {"name": name, "correct": -score, "total": len(room.items)}
        for score, _, name in sorted(scores)[:LEADERBOARD]
        if score < 0
    ]


def snapshot(room: Classroom, private: bool) -> dict[str, Any]:
    item = room.current
    revealed = item is not None and item.id in room.revealed
    show = private or revealed
    students = [
        _student_row(room, number, name, private) for number, name in enumerate(room.seats, start=1)
    ]
    online = sum(s.peer is not None for s in room.seats.values())
    data: dict[str, Any] = {
        "type": "board",
        "title": room.material.title,
        "mode": room.material.mode,
        "session": room.session.id,
        "code": room.session.code if private or room.show_code else None,
        "join": room.join_url,
        "ended": room.ended,
        "private": private,
        "locked": room.locked,
        "total": len(room.items),
        "index": room.index,
        "question": item.public() if item else None,
        "joined": len(room.seats),
        "online": online,
        "students": students,
        "revealed": revealed,
        "key": room.keys.get(item.id) if item and show else None,
        "explanation": room.material.explanation(item.id) if item and show else None,
    }
    if room.deadline is not None:
        data["remaining"] = max(0.0, round(room.deadline - time.time(), 1))
    if room.material.mode == "quiz":
        given = room.answers.get(item.id, {}) if item else {}
        data["answered"] = len(given)
        data["answered_online"] = sum(
            1 for name in given if (s := room.seats.get(name)) is not None and s.peer is not None
        )
        data["spread"] = spread_rows(room, item, private) if item and show else None
        if room.ended:
            data["leaderboard"] = leaderboard(room)
    else:
        data["answered"] = sum(1 for row in room.checks.values() if row.passed)
        data["answered_online"] = sum(
            1
            for name, row in room.checks.items()
            if row.passed and (s := room.seats.get(name)) is not None and s.peer is not None
        )
        data["spread"] = check_rows(room)
    return data


def welcome(room: Classroom, seat: Seat, token: str, rejoined: bool) -> dict[str, Any]:
    """What a student is told on joining: their seat's token, their answers (right or wrong
    only where it may be told), what has been revealed."""
    mine: dict[str, dict[str, Any]] = {}
    for item_id, given in room.answers.items():
        if (a := given.get(seat.name)) is not None:
            mine[item_id] = {"answer": a.answer}
            if room.feedback == "instant" or item_id in room.revealed:
                mine[item_id]["correct"] = a.correct
            if item_id in room.revealed:  # the key only once the teacher revealed it
                mine[item_id]["observed"] = a.observed
    best = room.checks.get(seat.name)
    return {
        "type": "welcome",
        "name": seat.name,
        "token": token,
        "session": room.session.id,
        "mode": room.material.mode,
        "title": room.material.title,
        "rejoined": rejoined,
        "total": len(room.items),
        "feedback": room.feedback,
        "answers": mine,
        "revealed": sorted(room.revealed),
        "check": None
        if best is None
        else {"passed": best.passed, "score": best.score, "max_score": best.max_score},
    }
