"""Tracebacks a learner sees: their own frames and the exception's last line, nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wsquiz._support import paths
from wsquiz.cli import app
from wsquiz.engine.appfile import AppSpec, load_app
from wsquiz.engine.capture import describe_exception
from wsquiz.errors import AppLoadError

runner = CliRunner()

RECEIVES_AFTER_LEAVING = """\
# wsquiz exercise: echo-loop
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            data = await websocket.receive_text()
            await websocket.send_text(f"Echo: {data}")
    except WebSocketDisconnect:
        await websocket.receive_text()
"""


def frames_named(text: str) -> list[str]:
    return re.findall(r'File "([^"]+)"', text)


def test_check_shows_only_the_learners_frames_and_the_last_line(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text(RECEIVES_AFTER_LEAVING)
    result = runner.invoke(app, ["check", str(mine), "--json"])
    assert result.exit_code == 1, result.output
    leaving = next(
        c for c in json.loads(result.stdout)["checks"] if c["name"] == "client-leaves-cleanly"
    )
    shown = leaving["traceback"]
    assert shown.startswith("Traceback (most recent call last):")
    assert frames_named(shown) == [str(mine)]  # not starlette's receive, where it was raised
    assert "line 15, in ws" in shown
    assert 'Cannot call "receive"' in shown.rstrip().splitlines()[-1]
    text = runner.invoke(app, ["check", str(mine)]).stdout
    assert "your server raised:" in text
    assert "site-packages" not in text and "starlette/websockets.py" not in text


def _framework(call: object) -> None:
    assert callable(call)
    call()


def test_an_error_with_no_frame_in_the_app_is_its_last_line_only(tmp_path: Path) -> None:
    def raising() -> None:
        _framework(lambda: int("x"))

    try:
        raising()
    except ValueError as exc:
        error = describe_exception(exc, str(tmp_path / "app.py"))
    assert error.traceback == "ValueError: invalid literal for int() with base 10: 'x'\n"
    assert (error.file, error.line) == (None, None)


def test_a_bundled_apps_frames_are_named_as_in_the_course() -> None:
    file = paths.bundled_root() / "quizzes" / "apps" / "made_up.py"
    namespace: dict[str, object] = {}
    exec(compile("def handler(call):\n    call()\n", str(file), "exec"), namespace)
    try:
        _framework(lambda: namespace["handler"](lambda: 1 / 0))  # type: ignore[operator]
    except ZeroDivisionError as exc:
        error = describe_exception(exc, str(file))
    assert frames_named(error.traceback) == ["quizzes/apps/made_up.py"]
    assert error.traceback.endswith("ZeroDivisionError: division by zero\n")
    assert (error.file, error.line) == (str(file), 2)  # where it is, for the code that needs it


def test_a_bundled_apps_load_error_names_it_as_in_the_course() -> None:
    with pytest.raises(AppLoadError) as caught:
        load_app(AppSpec.parse(paths.bundled_root() / "quizzes" / "apps" / "accept_sync_def.py"))
    error = caught.value
    assert error.message.startswith("quizzes/apps/accept_sync_def.py:8: SyntaxError")
    assert error.path == "quizzes/apps/accept_sync_def.py"
    assert frames_named(error.detail) == ["quizzes/apps/accept_sync_def.py"]


def test_an_installed_course_never_shows_the_package_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed, the course lives inside the package (site-packages/wsquiz/_content)."""
    content = tmp_path / "site-packages" / "wsquiz" / "_content"
    broken = content / "quizzes" / "apps" / "broken.py"
    broken.parent.mkdir(parents=True)
    broken.write_text("import json\n\njson.loads('{')\n")
    monkeypatch.setattr(paths, "bundled_root", lambda: content)
    with pytest.raises(AppLoadError) as caught:
        load_app(AppSpec.parse(broken))
    error = caught.value
    for text in (error.message, error.path, error.detail):
        assert "site-packages" not in text and "_content" not in text
    assert error.message.startswith("quizzes/apps/broken.py:3: JSONDecodeError")
    assert frames_named(error.detail) == ["quizzes/apps/broken.py"]


def test_a_learners_load_error_keeps_its_own_path(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("import json\njson.loads('{')\n")
    with pytest.raises(AppLoadError) as caught:
        load_app(AppSpec.parse(mine))
    assert caught.value.path == str(mine)
    assert frames_named(caught.value.detail) == [str(mine)]
