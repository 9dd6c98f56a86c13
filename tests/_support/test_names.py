"""The one place that guesses what a mistyped name meant."""

from __future__ import annotations

from pathlib import Path

from wsquiz._support.names import (
    choose_from,
    close_names,
    did_you_mean,
    guess,
    relative,
    suggest,
    unknown_key,
)


def test_suggest_finds_a_close_name_or_one_by_its_part() -> None:
    assert suggest("anwser", ["answer", "hint"]) == "answer"
    assert suggest("chat", ["echo-loop", "chat-room"]) == "chat-room"
    assert suggest("ECHO-LOOP", ["echo-loop"]) == "echo-loop"
    assert suggest("zzz", ["answer", "hint"]) is None


def test_messages_name_the_guess_and_the_choices() -> None:
    assert did_you_mean("anwser", ["answer"]) == ' (did you mean "answer"?)'
    assert did_you_mean("zzz", ["answer"]) == ""
    assert choose_from("basic", ["01-basics", "02-close"], "quizzes") == (
        "did you mean '01-basics'? the quizzes are: 01-basics, 02-close"
    )
    assert choose_from("x", [], "lessons") == "the lessons are: none"
    message, fix = unknown_key("promt", ("id", "prompt"))
    assert message == 'unknown key "promt" (did you mean "prompt"?)'
    assert fix == "the keys allowed here are: id, prompt"


def test_relative_inside_and_outside_the_root(tmp_path: Path) -> None:
    assert relative(tmp_path / "quizzes" / "a.toml", tmp_path) == "quizzes/a.toml"
    elsewhere = Path("/somewhere/else.toml")
    assert relative(elsewhere, tmp_path) == str(elsewhere)


def test_close_names_lists_the_closest_first_and_guess_begins_a_fix() -> None:
    present = ["echo.py", "echo_once.py", "chat.py"]
    assert close_names("echo_onc.py", present, most=2, cutoff=0.5) == ["echo_once.py", "echo.py"]
    assert close_names("zzz.txt", present, most=2, cutoff=0.5) == []
    assert guess("anwser", ["answer"]) == "did you mean 'answer'? "
    assert guess("zzz", ["answer"]) == ""
