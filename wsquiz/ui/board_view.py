"""The teacher's board as Rich renders it: the question, the spread, the class and the keys.

Given the terminal's height it fits: every line is one line (cut with an ellipsis, never
wrapped), a class too large for the table becomes a compact grid, the event log takes what is
left, and the key footer is always the last line. Everything students sent is literal text.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from wsquiz.classroom.text import literal

KEYS_FOOTER = "Enter/n next · p previous · r reveal · N Enter go to question N · e end · q quit"
LINES_FOOTER = (
    "a command, then Enter: Enter/n next · p previous · r reveal · N go to question N"
    " · e end · q quit"
)
SEAT_KEYS = "k N kick · m N NAME rename · l lock/unlock joins · h N hide/show answer N"
SEAT_LINES = "kick N · rename N NAME · lock · unlock · hide N · show N (N: a number on the board)"
# An exercise is on screen from the start: nothing to step through or reveal (the host would
# only push the same exercise again).
EXERCISE_FOOTER = "e end · q quit"
ENDED_FOOTER = "q quit"
ENDED = "the session has ended: q leaves"
TABLE_ROWS = 12  # more students than this (or than fit) are shown as a grid


def footer(board: dict[str, Any] | None, single_keys: bool) -> str:
    """The keys that do something now: per mode, and only `q` once the session has ended."""
    if board is not None and board.get("ended"):
        return ENDED_FOOTER
    if board is not None and board.get("mode") != "quiz":
        return EXERCISE_FOOTER if single_keys else f"a command, then Enter: {EXERCISE_FOOTER}"
    return KEYS_FOOTER if single_keys else LINES_FOOTER


def commands_of(board: dict[str, Any] | None) -> frozenset[str]:
    """The teacher's commands the host acts on now (before the first board: all of them)."""
    seats = {"kick", "rename", "lock", "unlock"}
    if board is not None and board.get("ended"):
        return frozenset()
    if board is not None and board.get("mode") != "quiz":
        return frozenset({"end", *seats})
    return frozenset({"next", "prev", "push", "move", "reveal", "end", "hide", "show", *seats})


def bar_text(count: int, most: int, width: int = 24) -> str:
    filled = round(width * count / most) if most else 0
    return "█" * filled + "·" * (width - filled)


def line(*parts: str | tuple[str, str], style: str = "") -> Text:
    """One line of the board: cut with an ellipsis where the terminal ends, never wrapped."""
    text = Text.assemble(*parts, style=style, no_wrap=True, overflow="ellipsis")
    return text


def first_words(text: str, limit: int = 160) -> str:
    """A prompt's first paragraph, cut at a word (with an ellipsis) when too long."""
    para = " ".join(text.strip().split("\n\n")[0].split())
    if len(para) <= limit:
        return para
    cut = para[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def _status(board: dict[str, Any], question: dict[str, Any]) -> Text:
    online, joined = board.get("online", 0), board.get("joined", 0)
    if board["mode"] != "quiz":
        return line(
            (f"exercise {literal(question['id'])}", "bold magenta"),
            f": {board['answered']} of {joined} passed every check",
        )
    state = "revealed" if board["revealed"] else "open"
    counted = board.get("answered_online", board["answered"])
    remaining = board.get("remaining")
    return line(
        (f"question {board['index'] + 1}/{board['total']} ", "bold magenta"),
        (literal(question["id"]), "dim"),
        f"  {state}; ",
        f"{counted} of {online} answered (online; {board['answered']} of {joined} joined)",
        ("" if remaining is None else f"; {remaining:.0f}s left", "bold yellow"),
        ("" if board.get("key") is None else f"; key: {literal(board['key'], 80)}", "green"),
    )


def _spread(board: dict[str, Any], spread: list[dict[str, Any]]) -> Table:
    most = max(s["count"] for s in spread) or 1
    quiz = board["mode"] == "quiz"
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("answer", max_width=40, no_wrap=True, overflow="ellipsis")
    table.add_column("bar", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("number", no_wrap=True)  # what `h N` hides
    for number, row in enumerate(spread, start=1):
        right = bool(row.get("correct")) and (quiz or row["count"] > 0)
        style = "green" if right else "blue"
        label = literal(row["answer"], 40)
        if row.get("text"):
            label = f"{label}) {literal(row['text'], 36)}"
        mark = " ✔" if right else ""
        percent = f" {row['percent']}%" if "percent" in row else ""
        hidden = " (hidden)" if row.get("hidden") else ""
        table.add_row(
            Text(label, "dim" if hidden else "", no_wrap=True, overflow="ellipsis"),
            Text(bar_text(row["count"], most), style),
            Text(f"{row['count']}{mark}{percent}{hidden}"),
            Text(f"#{number}", "dim"),
        )
    return table


def _table(board: dict[str, Any]) -> Table:
    students = Table(expand=False, box=None, pad_edge=False)
    students.add_column("name", no_wrap=True, overflow="ellipsis", max_width=34)
    if board["mode"] == "quiz":
        students.add_column("now", no_wrap=True, overflow="ellipsis", max_width=30)
        students.add_column("answered", justify="right")
        students.add_column("right", justify="right")
    else:
        students.add_column("best", justify="right")
        students.add_column("checks", justify="right")
    for row in board["students"]:
        name = Text(literal(row["name"]), "" if row["online"] else "dim")
        if board["mode"] == "quiz":
            now = literal(row["answer"], 30) if "answer" in row else ("✔" if row["done"] else "…")
            style = "green" if row.get("right") else ("red" if row.get("right") is False else "")
            students.add_row(
                name, Text(now, style), str(row.get("answered", "")), str(row.get("correct", ""))
            )
        else:
            best = f"{row['score']:g}/{row['max_score']:g}" if "score" in row else "-"
            students.add_row(
                name, Text(best, "green" if row.get("done") else ""), str(row.get("attempts", ""))
            )
    return students


def _grid(board: dict[str, Any], width: int, rows: int) -> list[Text]:
    """Students as a compact grid: `12✔ name` per cell, as many columns as the width holds."""
    students = board["students"]
    if not students or rows <= 0:
        return []
    longest = max(len(literal(s["name"])) for s in students)
    name_width = max(6, min(16, longest))
    cell = name_width + 5
    columns = max(1, width // cell)
    shown = students[: rows * columns]
    lines: list[Text] = []
    for start in range(0, len(shown), columns):
        text = Text(no_wrap=True, overflow="ellipsis")
        for number, row in enumerate(shown[start : start + columns], start=start + 1):
            number = row.get("n", number)
            if board["mode"] == "quiz":
                right = row.get("right")
                mark, style = ("✔", "green") if row["done"] else ("·", "")
                if right is False:
                    mark, style = "✘", "red"
            else:
                mark, style = ("✔", "green") if row.get("done") else ("·", "")
            name = literal(row["name"])
            if len(name) > name_width:
                name = name[: name_width - 1] + "…"
            text.append(f"{number:>3}", "dim")
            text.append(mark, style)
            text.append(f" {name:<{name_width}}", "" if row["online"] else "dim")
        lines.append(text)
    hidden = len(students) - len(shown)
    if hidden > 0:
        lines[-1] = Text.assemble(lines[-1][: max(0, width - 12)], (f" +{hidden} more", "bold"))
    return lines


def _not_answered(board: dict[str, Any]) -> Text | None:
    if board["mode"] != "quiz" or board.get("question") is None or board.get("revealed"):
        return None
    waiting = [literal(s["name"]) for s in board["students"] if s["online"] and not s["done"]]
    if not waiting:
        return None
    return line(("not answered: ", "yellow"), ", ".join(waiting))


def board_view(
    board: dict[str, Any],
    events: deque[str] | None = None,
    *,
    single_keys: bool = False,
    typed: str = "",
    height: int | None = None,
    width: int = 120,
) -> Group:
    """The teacher's live board: who joined, who answered or passed what, the spread.

    With `height` (a live terminal), it fits: the class as a grid if need be, fewer events.
    """
    code = board.get("code")
    join = f"join: wsquiz classroom join {literal(board['join'])}"
    head = line(
        (literal(board["title"], 60), "bold"),
        "  ",
        (join + (f" --code {literal(code)}" if code else ""), "cyan"),
        ("  joins locked" if board.get("locked") else "", "bold red"),
    )
    top: list[RenderableType] = [head]
    question = board.get("question")
    if board.get("ended"):
        top.append(line((ENDED, "bold red")))
    if question is None:
        if not board.get("ended"):
            waiting = "no question yet: press Enter (or n) to push the first one"
            top.append(line((waiting, "yellow")))
    else:
        top.append(_status(board, question))
        # cut at a word, within the line: never in the middle of one
        prompt = first_words(literal(question["prompt"]), min(160, max(20, width - 2)))
        top.append(line((prompt, "bold")))
    spread = board.get("spread") or []
    if spread:
        top.append(_spread(board, spread))
    top.append(line((f"students: {board['online']} online, {board['joined']} joined", "bold")))
    missing = _not_answered(board)
    if missing is not None:
        top.append(missing)
    bottom: list[RenderableType] = []
    if typed:
        bottom.append(line((f"{typed}▏ (Enter; Esc cancels)", "bold yellow")))
    if not board.get("ended"):
        bottom.append(line((SEAT_KEYS if single_keys else SEAT_LINES, "dim italic")))
    bottom.append(line((footer(board, single_keys), "dim italic")))
    log = list(events or ())
    if height is None:  # printed once (a pipe): everything, as a table
        middle: list[RenderableType] = [_table(board)]
        if log:
            middle.append(Text("\n".join(log), "dim"))
        return Group(*top, *middle, *bottom)
    used = 1 + len(top) - (1 if spread else 0) + len(spread) + len(bottom)
    room = max(0, height - used - 1)
    count = len(board["students"])
    keep_events = min(len(log), 3 if room - 3 >= min(count, 4) else max(0, room - count))
    students_room = room - keep_events
    middle = []
    if count and count + 1 <= min(students_room, TABLE_ROWS + 1):
        middle.append(_table(board))
        students_room -= count + 1
    else:
        grid = _grid(board, width, students_room)
        middle.extend(grid)
        students_room -= len(grid)
    keep_events = min(len(log), keep_events + max(0, students_room))
    if keep_events:
        middle.extend(line((literal(e), "dim")) for e in log[-keep_events:])
    return Group(*top, *middle, *bottom)


def event_text(event: dict[str, Any]) -> str:
    """One event of the class as a line of the log (names literal)."""
    kind = event.get("event")
    name = literal(event.get("name", ""), 40)
    if kind == "join":
        return f"{name} {'rejoined' if event.get('rejoined') else 'joined'}"
    if kind == "leave":
        return f"{name} left"
    if kind == "answer":
        verdict = "right" if event["correct"] else "wrong"
        return f"{name} answered {literal(event['item'])} ({verdict})"
    if kind == "check":
        return f"{name} checked: {event['score']:g}/{event['max_score']:g}"
    if kind == "push":
        return f"question {event['index'] + 1} pushed"
    if kind == "reveal":
        return f"revealed {literal(event['item'])}: {literal(event['key'], 80)}"
    if kind == "end":
        return "session ended"
    if kind == "kick":
        return f"{name} removed from the class"
    if kind == "rename":
        return f"{name} renamed {literal(event.get('to', ''), 40)}"
    if kind == "lock":
        return "joins locked: only rejoins" if event.get("locked") else "joins open again"
    if kind == "limit":
        return f"limit: {literal(event.get('message', ''), 200)}"
    return literal(str(event), 200)
