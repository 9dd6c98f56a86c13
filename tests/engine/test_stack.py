"""The installed stack: the floors declared, a stack below them refused, `--version`, and each of
uvicorn's WebSocket implementations really serving (told apart by what they do)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import APPS, ROOT
from wsquiz.cli import app
from wsquiz.engine import stack
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import Lab
from wsquiz.engine.scenario import Scenario
from wsquiz.engine.transcript import Transcript
from wsquiz.engine.versions import FLOORS, Condition, Stack, version_tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, no-redef]

runner = CliRunner()
HAS_WSPROTO = find_spec("wsproto") is not None


def test_pyproject_declares_the_floors_wsquiz_checks() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {}
    for line in declared:
        name, sep, version = line.partition(">=")
        if sep and name in FLOORS:
            floors[name] = version
    assert floors == FLOORS


def test_the_installed_stack_is_supported() -> None:
    assert stack.unsupported() == []
    stack.require_supported()


def test_versions_compare_as_numbers() -> None:
    assert version_tuple("0.52.1") > version_tuple("0.9.9")
    assert version_tuple("1.7") == version_tuple("1.7.0")
    assert version_tuple("1.0.0rc1") == (1,)


def _below_floor(tmp_path: Path, name: str, version: str) -> dict[str, str]:
    """An environment in which package metadata says `name` is `version` (found first on the
    path, as an older installation would be): what wsquiz reads, without importing anything."""
    info = tmp_path / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    return env


def test_a_stack_below_the_floor_is_refused_instead_of_producing_a_key(tmp_path: Path) -> None:
    env = _below_floor(tmp_path, "websockets", "16.0")
    done = subprocess.run(
        [sys.executable, "-m", "wsquiz", "quiz", "basics", "--key", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # no key at all
    assert "websockets 16.0" in done.stderr  # what is installed
    assert "websockets >= 17.4" in done.stderr  # what is needed
    assert "pip install -U 'websockets>=17.4'" in done.stderr  # how to fix it
    listed = subprocess.run(
        [sys.executable, "-m", "wsquiz", "quiz", "--list", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr  # listing observes nothing: not refused
    shown = subprocess.run(
        [sys.executable, "-m", "wsquiz", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert "websockets 16.0" in shown.stdout
    assert "unsupported: wsquiz needs websockets >= 17.4" in shown.stdout


def test_help_reads_no_server_package() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from wsquiz.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn', 'websockets') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_version_names_wsquiz_the_stack_and_what_auto_picks() -> None:
    from importlib.metadata import version

    import wsquiz

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"wsquiz {wsquiz.__version__}"
    for name in ("fastapi", "starlette", "uvicorn", "websockets"):
        assert f"{name} {version(name)}" in lines
    if HAS_WSPROTO:
        assert f"wsproto {version('wsproto')}" in lines
    # uvicorn >= 0.50 (every supported one) resolves `auto` to its sans-I/O protocol
    assert lines[-1] == "--ws auto picks websockets-sansio"


def test_an_unknown_implementation_is_refused() -> None:
    result = runner.invoke(app, ["probe", "echo_loop", "--ws", "tornado"])
    assert result.exit_code == 2
    assert "auto, websockets, websockets-sansio, wsproto" in result.output


@pytest.fixture
def serve_with() -> Iterator[None]:
    """Choose the implementation for one test, and put the default back after it."""
    yield
    stack.choose("auto")


LEAVE_ORDER = Scenario.from_steps(
    [
        {"connect": "/chat", "client": "alice"},
        {"connect": "/chat", "client": "bob"},
        {"close": 1000, "client": "bob"},
        {"receive": 1, "client": "alice"},
        {"send": "hi", "client": "alice"},
        {"receive": 1, "client": "alice"},
        {"expect_close": True, "client": "alice"},
    ]
)
LONG_REASON = Scenario.from_steps([{"connect": "/ws"}, {"expect_close": True}])


def _seen(lab: Lab, name: str, scenario: Scenario, isolated: bool = False) -> Transcript:
    return lab.observe(AppSpec.parse(APPS / name), scenario, isolated=isolated)


def test_the_legacy_websockets_implementation_serves_when_chosen(
    lab: Lab, serve_with: None
) -> None:
    stack.choose("websockets")
    assert stack.current().ws == "websockets"
    seen = _seen(lab, "room_left_first.py", LEAVE_ORDER)
    # Only the legacy protocol raises a plain RuntimeError for the send to bob's closed socket.
    assert [e.type for e in seen.server.errors][:1] == ["RuntimeError"]


def test_the_sansio_implementation_serves_by_default(lab: Lab, serve_with: None) -> None:
    assert stack.chosen() == "auto" and stack.current().ws == "websockets-sansio"
    seen = _seen(lab, "room_left_first.py", LEAVE_ORDER, isolated=True)
    assert seen.server.errors[0].name == "WebSocketDisconnect"
    long = _seen(lab, "close_long_reason.py", LONG_REASON)
    close = long.client().close
    assert close is not None and close.code == 1006


@pytest.mark.skipif(not HAS_WSPROTO, reason="wsproto is not installed (pip install wsproto)")
def test_the_wsproto_implementation_serves_when_chosen(lab: Lab, serve_with: None) -> None:
    stack.choose("wsproto")
    # wsproto sends a 126-byte close reason as it is; the websockets protocols refuse it.
    for isolated in (False, True):
        long = _seen(lab, "close_long_reason.py", LONG_REASON, isolated)
        close = long.client().close
        assert close is not None and close.code == 1000
        assert long.server.errors == ()


@pytest.mark.skipif(not HAS_WSPROTO, reason="wsproto is not installed (pip install wsproto)")
def test_a_key_says_which_stack_and_implementation_produced_it() -> None:
    result = runner.invoke(app, ["quiz", "closing", "--key", "--json", "--ws", "wsproto"])
    stack.choose("auto")
    assert result.exit_code == 0, result.output
    key = json.loads(result.output)
    assert key["stack"]["ws"] == "wsproto"
    assert set(key["stack"]) == {"fastapi", "starlette", "uvicorn", "websockets", "ws"}
    answers = {row["id"]: row["answer"] for row in key["questions"]}
    assert answers["close-long-reason"] == "1000"


def test_bounds_parse_and_hold_by_version_and_implementation() -> None:
    on = Stack((("fastapi", "0.140.0"), ("starlette", "1.7.0"), ("uvicorn", "0.52.1")), "wsproto")
    assert Condition.parse("starlette >= 1.7").holds(on)
    assert not Condition.parse("starlette<1.7").holds(on)
    assert Condition.parse("uvicorn < 0.53").holds(on)
    assert Condition.parse("ws == wsproto").holds(on)
    assert not Condition.parse("ws != wsproto").holds(on)
    assert not Condition.parse("websockets >= 1").holds(on)  # not recorded: not known to hold
    assert not Condition.parse("uvicorn < 0.39").reachable()
    for bad in ("uvicorn", "django >= 1", "ws >= wsproto", "ws == tornado", "uvicorn >= x"):
        with pytest.raises(ValueError):
            Condition.parse(bad)


def test_a_stack_reads_back_what_it_wrote_and_names_its_changes() -> None:
    one = Stack((("fastapi", "0.133.0"), ("uvicorn", "0.52.1")), "websockets")
    two = Stack.from_dict({**one.to_dict(), "uvicorn": "0.55.0", "ws": "wsproto"})
    assert Stack.from_dict(one.to_dict()) == one
    assert two is not None
    assert one.changes(two) == [("uvicorn", "0.52.1", "0.55.0"), ("ws", "websockets", "wsproto")]
    older_sheet = Stack.from_dict({"fastapi": "0.133.0", "uvicorn": "0.52.1"})  # no `ws` saved
    assert older_sheet is not None and older_sheet.changes(one) == []
    assert Stack.from_dict(None) is None and Stack.from_dict({"ws": "auto"}) is None
