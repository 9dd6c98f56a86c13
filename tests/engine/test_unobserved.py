"""A failure to observe is an error, never an answer: when wsquiz's own WebSocket client cannot
run (as with a `websockets` older than 15, whose `connect` rejects `proxy`), every command stops
with the cause and exits 2, and prints no verdict, key or score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from websockets.asyncio.client import connect as real_connect

from tests.support import APPS, FIXTURE, ROOT
from wsquiz.cli import app
from wsquiz.engine import client

runner = CliRunner()
SOLUTION = ROOT / "exercises" / "01-echo-loop" / "solution.py"


@pytest.fixture
def old_websockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def connect(*args: Any, **kwargs: Any) -> Any:
        if "proxy" in kwargs:  # what websockets 14's connect() says to it
            raise TypeError("create_connection() got an unexpected keyword argument 'proxy'")
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(client, "connect", connect)


def stops(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    said = result.stderr
    assert "the WebSocket client could not run" in said
    assert "unexpected keyword argument 'proxy'" in said and "websockets" in said
    return result


@pytest.mark.usefixtures("old_websockets")
def test_probe_stops() -> None:
    result = stops(["probe", str(APPS / "echo_once.py"), "--json"])
    assert result.stdout == ""


@pytest.mark.usefixtures("old_websockets")
def test_quiz_key_stops_without_a_key() -> None:
    result = stops(["quiz", "01-mini", "--key", "--json", "--content", str(FIXTURE)])
    assert result.stdout == "" and "none" not in result.output.lower().split("error")[0]


@pytest.mark.usefixtures("old_websockets")
def test_quiz_answers_stop_without_a_score(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.json"
    sheet.write_text(json.dumps({"mini-shout": "HI"}))
    result = stops(
        ["quiz", "01-mini", "--answers", str(sheet), "--json", "--content", str(FIXTURE)]
    )
    assert result.stdout == ""


@pytest.mark.usefixtures("old_websockets")
def test_validate_live_stops() -> None:
    stops(["validate", str(FIXTURE), "--live"])


@pytest.mark.usefixtures("old_websockets")
def test_check_stops_without_a_verdict() -> None:
    result = stops(["check", str(SOLUTION), "--exercise", "echo-loop", "--json"])
    assert result.stdout == ""


@pytest.mark.usefixtures("old_websockets")
def test_grade_stops_without_scores(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "ann.py").write_text(SOLUTION.read_text())
    db = tmp_path / "grades.db"
    result = stops(["grade", str(subs), "--exercise", "echo-loop", "--db", str(db)])
    assert "ann" not in result.stdout


@pytest.mark.usefixtures("old_websockets")
def test_an_interactive_quiz_stops_without_a_verdict() -> None:
    result = runner.invoke(
        app, ["quiz", "01-mini", "--content", str(FIXTURE), "--no-save"], input="HI\n\n\n"
    )
    assert result.exit_code == 2
    assert "the WebSocket client could not run" in result.output
    assert "correct" not in result.output.lower()


@pytest.mark.usefixtures("old_websockets")
def test_the_classroom_host_does_not_start(tmp_path: Path) -> None:
    result = stops(
        [
            "classroom",
            "host",
            "--quiz",
            "01-mini",
            "--content",
            str(FIXTURE),
            "--port",
            "0",
            "--plain",
            "--db",
            str(tmp_path / "class.db"),
        ]
    )
    assert "join" not in result.stdout.lower()


def test_the_preflight_passes_where_the_client_works() -> None:
    from wsquiz.engine.lab import preflight

    preflight()
