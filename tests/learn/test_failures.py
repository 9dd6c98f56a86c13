"""Failures that name the cause: a missing `await` first, with its line; repeated warnings once
with a count; a near miss marked; the hint of the check that failed; a file that did not load
told apart from a check that failed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support import ROOT, flat, invoke
from wsquiz.learn.diagnosis import differing, missing_await, near_miss

ECHO = ROOT / "exercises" / "01-echo-loop"
WIDE = {"COLUMNS": "100"}


def mine(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "echo-loop.py"
    source = (ECHO / "solution.py").read_text()
    assert old in source
    path.write_text(source.replace(old, new))
    return path


def test_a_missing_await_is_named_first_with_its_line(tmp_path: Path) -> None:
    path = mine(tmp_path, "await websocket.receive_text()", "websocket.receive_text()")
    code, out = invoke("check", str(path))
    assert code == 1
    lines = out.splitlines()
    head = flat("\n".join(lines[:10]))
    assert "likely cause: missing `await`" in head
    assert "line 12: `websocket.receive_text()` is called without `await`" in head
    assert "fix: write `await websocket.receive_text()` on line 12" in head
    # the warning is said once, with its count, not a line per warning
    warned = [line for line in lines if "was never awaited" in line and "RuntimeWarning" in line]
    assert len(warned) == 1 and "(x" in warned[0], warned
    assert "a blocking loop" not in out  # not the stall's guess: the cause is known
    assert len(lines) < 200, len(lines)
    code, raw = invoke("check", str(path), "--json")
    cause = json.loads(raw)["cause"]
    assert cause["title"] == "missing `await`" and cause["line"] == 12


def test_missing_await_without_a_line_still_names_the_coroutine(tmp_path: Path) -> None:
    warnings = ["RuntimeWarning: coroutine 'WebSocket.accept' was never awaited"] * 3
    cause = missing_await(tmp_path / "gone.py", warnings)
    assert cause is not None and cause.line is None and cause.count == 3
    assert "WebSocket.accept() was never awaited" in cause.message
    assert missing_await(tmp_path / "gone.py", ["DeprecationWarning: old"]) is None


def test_a_near_miss_marks_the_differing_characters(tmp_path: Path) -> None:
    path = mine(tmp_path, 'f"Echo: {data}"', 'f"echo: {data}"')
    code, out = invoke("check", str(path))
    assert code == 1
    text = flat(out)
    assert "(nearly: 'echo: hello' for 'Echo: hello', only the case differs)" in text
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("expected  Echo: hello"))
    assert lines[at + 1].strip() == "observed  echo: hello"
    marks = lines[at + 2]
    assert marks.strip() == "^" and marks.index("^") == lines[at].index("Echo")

    assert near_miss("Echo: hello", "Echo: helo") and near_miss("Echo: hi", "echo: hi")
    assert not near_miss("Echo: hello", "Messages received: 3")
    assert [d for _, _, d in differing("Echo: x", "echo: x")] == [True, False]


def course_with_check_hint(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    shutil.copytree(ECHO, course / "exercises" / "01-echo-loop")
    toml = course / "exercises" / "01-echo-loop" / "exercise.toml"
    text = toml.read_text()
    marker = 'name = "client-leaves-cleanly"\n'
    assert marker in text
    toml.write_text(
        text.replace(marker, marker + 'hint = "Catch WebSocketDisconnect around the loop."\n')
    )
    return course


def test_the_hint_is_the_failed_checks_own(tmp_path: Path) -> None:
    course = course_with_check_hint(tmp_path)
    source = (ECHO / "solution.py").read_text()
    leaky = tmp_path / "leaky.py"  # echoes well, but raises when the client leaves
    leaky.write_text(
        source.replace("    except WebSocketDisconnect:\n", "    except ValueError:\n")
    )
    code, out = invoke("check", str(leaky), "--exercise", "echo-loop", "--content", str(course))
    assert code == 1
    assert "hint: Catch WebSocketDisconnect around the loop." in flat(out)

    wrong = tmp_path / "wrong.py"  # fails the first check, which has no hint of its own
    wrong.write_text(source.replace('f"Echo: {data}"', "data"))
    code, out = invoke("check", str(wrong), "--exercise", "echo-loop", "--content", str(course))
    assert code == 1
    assert "hint: Put `receive_text()` and `send_text()` inside" in flat(out)


def test_a_file_that_did_not_load_is_not_a_failed_check(tmp_path: Path) -> None:
    broken = mine(tmp_path, "async def websocket_endpoint", "def websocket_endpoint")
    code, out = invoke("check", str(broken))
    assert code == 1
    text = flat(out)
    assert "your app did not serve: the file did not load, nothing was checked" in text
    assert "nothing was checked, your file did not load" in text
    assert "SyntaxError" in text
    assert "hint:" not in text  # the error says what to fix; the exercise's hint would not
    code, raw = invoke("check", str(broken), "--json")
    assert json.loads(raw)["error_kind"] == "load"
