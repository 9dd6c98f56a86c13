"""A lesson taller than the terminal goes through a pager when read interactively, never when
the output is piped. The pager here is a `sed` that marks every line it is given."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest
from typer.testing import CliRunner

from tests.support import ROOT
from wsquiz.cli import app

PAGER = "sed s/^/PAGED:/"
MISORDERED = ROOT / "tests" / "fixtures" / "misordered"


def read(*args: str) -> str:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "PAGER": PAGER, "COLUMNS": "80"}
    env.pop("MANPAGER", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "wsquiz", "learn", *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 80),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def test_a_long_lesson_is_paged_in_a_terminal() -> None:
    out = read("closing")
    assert "PAGED:" in out
    assert "WebSocketDisconnected" in out


def test_a_lesson_that_fits_is_printed_as_it_is() -> None:
    out = read("intro", "--content", str(MISORDERED))
    assert "The first lesson." in out
    assert "PAGED:" not in out


def test_a_piped_lesson_is_never_paged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGER", PAGER)
    monkeypatch.setenv("TERM", "xterm")
    result = CliRunner().invoke(app, ["learn", "closing"])
    assert result.exit_code == 0, result.output
    assert "WebSocketDisconnected" in result.stdout
    assert "PAGED:" not in result.stdout
