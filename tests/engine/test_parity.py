"""Apps written as real ones are (routers, print variants, task groups, background tasks, a
lifespan, sibling modules, packages, factories): `wsquiz probe --json` against what an
independent observer (`python -m uvicorn`, the `websockets` client, uvicorn's log) sees."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.engine.conftest import Witness
from wsquiz.cli import app

runner = CliRunner()


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())
    return folder


def ours(
    folder: Path, target: str, path: str = "/ws", *sends: str, extra: tuple[str, ...] = ()
) -> tuple[int, dict[str, Any]]:
    """`cd folder && wsquiz probe target --json`: the exit code and the JSON."""
    cwd = Path.cwd()
    args = ["probe", target, "--path", path, "--timeout", "1.5", "--json", *extra]
    for text in sends:
        args += ["--send", text]
    try:
        import os

        os.chdir(folder)
        result = runner.invoke(app, args)
    finally:
        os.chdir(cwd)
    return result.exit_code, json.loads(result.stdout)


def app_logs(data: dict[str, Any]) -> list[str]:
    """wsquiz's log lines that are the app's own output (not uvicorn's `LEVEL: ...`)."""
    return [line for line in data["logs"] if not line.startswith(("INFO:", "ERROR:", "WARNING:"))]


ROUTER = {
    "fa_test_ws_router.py": """
    from fastapi import APIRouter, FastAPI, WebSocket

    class CustomError(Exception):
        pass

    router = APIRouter(prefix="/router")
    inner = APIRouter()

    @router.websocket("/path/to/file")
    async def needs_query(websocket: WebSocket, token: str):
        await websocket.accept()
        await websocket.send_text(f"token {token}")
        await websocket.close()

    @inner.websocket("/boom")
    async def boom(websocket: WebSocket):
        await websocket.accept()
        raise CustomError("custom boom")

    router.include_router(inner, prefix="/nested")
    app = FastAPI()
    app.include_router(router)
    """
}


def test_included_routes_are_listed_and_a_403_is_not_a_missing_route(
    tmp_path: Path, witness: Witness
) -> None:
    folder = write(tmp_path, ROUTER)
    code, data = ours(folder, "fa_test_ws_router.py", "/router/path/to/file")
    seen = witness(folder, "fa_test_ws_router:app", "/router/path/to/file")
    assert code == 0
    assert data["handshake"]["status"] == seen.status == 403  # the missing query parameter
    assert set(data["routes"]) == {"/router/path/to/file", "/router/nested/boom"}
    code, data = ours(folder, "fa_test_ws_router.py", "/router/path/to/file?token=t1")
    seen = witness(folder, "fa_test_ws_router:app", "/router/path/to/file?token=t1")
    assert data["received"] == seen.received == ["token t1"]
    assert data["close"]["code"] == seen.close_code == 1000


def test_an_exception_is_named_as_the_users_module_names_it(
    tmp_path: Path, witness: Witness
) -> None:
    folder = write(tmp_path, ROUTER)
    _, data = ours(folder, "fa_test_ws_router.py", "/router/nested/boom")
    seen = witness(folder, "fa_test_ws_router:app", "/router/nested/boom")
    [error] = data["server_errors"]
    assert error["type"] == "fa_test_ws_router.CustomError"
    assert f"{error['type']}: {error['message']}" in seen.log
    assert error["line"] == seen.app_lines("fa_test_ws_router.py")[-1] == 18
    assert data["close"]["code"] == seen.close_code == 1006


PRINTS = {
    "app.py": """
    import sys
    from fastapi import FastAPI, WebSocket

    app = FastAPI()

    @app.websocket("/ws")
    async def chatty(websocket: WebSocket):
        await websocket.accept()
        print("user", 42, "joined")
        print("   ")
        print()
        print("half", end="")
        print(" and the rest")
        sys.stdout.write("two\\nlines\\n")
        print("to stderr", file=sys.stderr)
        await websocket.close()
    """
}


def test_printed_output_is_line_by_line_as_the_terminal_shows(
    tmp_path: Path, witness: Witness
) -> None:
    folder = write(tmp_path, PRINTS)
    _, data = ours(folder, "app.py")
    seen = witness(folder, "app:app")
    expected = ["user 42 joined", "   ", "", "half and the rest", "two", "lines", "to stderr"]
    assert app_logs(data) == expected
    log = seen.lines()
    start = log.index("user 42 joined")
    assert log[start : start + len(expected)] == expected


FAILING_STR = {
    "app.py": """
    from fastapi import FastAPI, WebSocket

    class Unprintable(Exception):
        def __str__(self):
            raise ValueError("no")

    app = FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        raise Unprintable()
    """
}


def test_an_exception_whose_str_fails_is_still_reported(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path, FAILING_STR)
    _, data = ours(folder, "app.py")
    seen = witness(folder, "app:app")
    [error] = data["server_errors"]
    assert error["type"] == "app.Unprintable"
    assert error["message"] == "<exception str() failed>"
    assert "app.Unprintable: <exception str() failed>" in seen.log
    assert error["line"] == seen.app_lines("app.py")[-1] == 12


TASK_GROUP = {
    "app.py": """
    import asyncio
    from fastapi import FastAPI, WebSocket

    app = FastAPI()

    async def reader(websocket):
        await websocket.receive_text()
        raise ValueError("reader exploded")

    async def ticker(websocket):
        await asyncio.sleep(5)

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        async with asyncio.TaskGroup() as group:
            group.create_task(reader(websocket))
            group.create_task(ticker(websocket))
    """
}


def test_a_task_groups_sub_exception_is_shown_at_its_line(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path, TASK_GROUP)
    _, data = ours(folder, "app.py", "/ws", "go")
    seen = witness(folder, "app:app", "/ws", ("go",))
    [error] = data["server_errors"]
    assert error["type"] == "ExceptionGroup"
    [sub] = error["exceptions"]
    assert (sub["type"], sub["message"]) == ("ValueError", "reader exploded")
    assert "ValueError: reader exploded" in seen.log
    assert sub["line"] == 8 and 8 in seen.app_lines("app.py")
    assert error["line"] == 16 and 16 in seen.app_lines("app.py")


HTTP_AFTER_ACCEPT = {
    "app.py": """
    from fastapi import FastAPI, HTTPException, WebSocket

    app = FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        await websocket.receive_text()
        raise HTTPException(status_code=404, detail="no such item")
    """
}


def test_an_http_exception_after_accept_is_shown_with_the_apps_line(
    tmp_path: Path, witness: Witness
) -> None:
    folder = write(tmp_path, HTTP_AFTER_ACCEPT)
    _, data = ours(folder, "app.py", "/ws", "x")
    seen = witness(folder, "app:app", "/ws", ("x",))
    [error] = data["server_errors"]
    assert error["line"] == 9 and seen.app_lines("app.py") == [9]
    linked = [e for e in (error, *error["chain"]) if e["type"].endswith("HTTPException")]
    assert linked and linked[0]["line"] == 9
    assert error["type"].rsplit(".", 1)[-1] in seen.log
    assert data["close"]["code"] == seen.close_code
    said = data["logs"].index("ERROR: Exception in ASGI application")
    assert data["logs"][said + 1 : said + 2] != [""]  # its own newline is no blank line
    lines = seen.lines()
    at = next(n for n, line in enumerate(lines) if "Exception in ASGI application" in line)
    assert lines[at + 1] == "Traceback (most recent call last):"  # no blank line between


BACKGROUND = {
    "app.py": """
    import asyncio
    from fastapi import FastAPI, WebSocket

    app = FastAPI()

    async def fails_now():
        raise KeyError("while open")

    async def after_close():
        await asyncio.sleep(0.05)
        print("cleanup ran")
        raise RuntimeError("after the close")

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        asyncio.create_task(fails_now())
        await asyncio.sleep(0.05)
        await websocket.send_text("bye")
        await websocket.close()
        asyncio.create_task(after_close())
    """
}


def test_background_task_errors_before_and_after_the_close(
    tmp_path: Path, witness: Witness
) -> None:
    folder = write(tmp_path, BACKGROUND)
    _, data = ours(folder, "app.py")
    seen = witness(folder, "app:app")
    assert data["received"] == seen.received == ["bye"]
    assert seen.log.count("Task exception was never retrieved") == 2
    assert [(e["type"], e["origin"], e["line"]) for e in data["server_errors"]] == [
        ("KeyError", "background task", 7),
        ("RuntimeError", "background task", 12),
    ]
    assert {7, 12} <= set(seen.app_lines("app.py"))
    assert "cleanup ran" in app_logs(data) and "cleanup ran" in seen.lines()
    assert sum("Task exception was never retrieved" in line for line in data["logs"]) == 2


LIFESPAN_FAILS = {
    "app.py": """
    from contextlib import asynccontextmanager
    from fastapi import FastAPI

    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("database is not there")
        yield

    app = FastAPI(lifespan=lifespan)
    """
}

LIFESPAN_SHUTDOWN = {
    "app.py": """
    from contextlib import asynccontextmanager
    from fastapi import FastAPI, WebSocket

    @asynccontextmanager
    async def lifespan(app):
        print("starting up")
        yield
        print("shutting down")

    app = FastAPI(lifespan=lifespan)

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        await websocket.close()
    """
}


def test_a_lifespan_failure_is_the_apps_error_at_its_line(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path, LIFESPAN_FAILS)
    code, data = ours(folder, "app.py")
    seen = witness(folder, "app:app")
    assert not seen.started and seen.exit_code == 3
    assert "RuntimeError: database is not there" in seen.log
    assert code == 2
    error = data["load_error"]
    assert "RuntimeError: database is not there" in error["problem"]
    assert "SystemExit" not in error["problem"]
    assert error["line"] == 6 and 6 in seen.app_lines("app.py")


def test_the_lifespan_shutdown_is_shown(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path, LIFESPAN_SHUTDOWN)
    _, data = ours(folder, "app.py")
    seen = witness(folder, "app:app")
    assert app_logs(data) == ["starting up", "shutting down"]
    assert "starting up" in seen.lines() and "shutting down" in seen.lines()
    assert "INFO: Application shutdown complete." in data["logs"]


FLOOD = {
    "app.py": """
    from fastapi import FastAPI, WebSocket

    app = FastAPI()

    @app.websocket("/ws")
    async def flood(websocket: WebSocket):
        await websocket.accept()
        for n in range(1500):
            await websocket.send_text(f"frame {n}")
        await websocket.close(1000, "done")
    """
}


def test_the_frame_limit_is_the_client_stopping_and_the_servers_close_is_kept(
    tmp_path: Path, witness: Witness
) -> None:
    folder = write(tmp_path, FLOOD)
    _, data = ours(folder, "app.py")
    seen = witness(folder, "app:app")
    assert len(seen.received) == 1500 and (seen.close_code, seen.close_reason) == (1000, "done")
    [client] = data["clients"]
    assert client["received"] == seen.received[:1000]
    assert client["truncated"] is True
    stopped = client["stopped_reading"]
    assert stopped["after_frames"] == 1000 and stopped["dropped"] == 500
    assert (client["close"]["code"], client["close"]["reason"]) == (1000, "done")
    assert client["close"]["by"] == "server" and client["close_sent"] is None
    assert data["timed_out"] == [] and data["failures"] == []


SIBLING = {
    "main.py": """
    from fastapi import FastAPI, WebSocket
    from helpers import shout

    app = FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(shout(await websocket.receive_text()))
        await websocket.close()
    """,
    "helpers.py": """
    def shout(text):
        return text.upper() + "!"
    """,
}


def test_a_main_that_imports_a_sibling_module(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path, SIBLING)
    code, data = ours(folder, "main.py", "/ws", "hi")
    seen = witness(folder, "main:app", "/ws", ("hi",))
    assert code == 0, data
    assert data["received"] == seen.received == ["HI!"]
    code, other = ours(folder.parent, f"{folder.name}/main.py", "/ws", "yo")
    assert code == 0 and other["received"] == ["YO!"]  # the app's folder, from anywhere


PACKAGE = {
    "pkg/__init__.py": "",
    "pkg/helpers.py": """
    class Refused(Exception):
        pass

    def greet(name):
        if name == "x":
            raise Refused(name)
        return f"hello {name}"
    """,
    "pkg/server.py": """
    from fastapi import FastAPI, WebSocket
    from .helpers import greet

    app = FastAPI()

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(greet(await websocket.receive_text()))
        await websocket.close()
    """,
}


@pytest.mark.parametrize("target", ["pkg.server:app", "pkg/server.py"])
def test_a_package_with_relative_imports(tmp_path: Path, witness: Witness, target: str) -> None:
    folder = write(tmp_path, PACKAGE)
    code, data = ours(folder, target, "/ws", "ann")
    seen = witness(folder, "pkg.server:app", "/ws", ("ann",))
    assert code == 0, data
    assert data["received"] == seen.received == ["hello ann"]
    _, data = ours(folder, target, "/ws", "x")
    seen = witness(folder, "pkg.server:app", "/ws", ("x",))
    [error] = data["server_errors"]
    assert error["type"] == "pkg.helpers.Refused" and "pkg.helpers.Refused: x" in seen.log
    assert error["file"].endswith("helpers.py") and error["line"] == 6
    assert 6 in seen.app_lines("helpers.py")


STATIC = {
    "app.py": """
    from fastapi import FastAPI, WebSocket
    from fastapi.staticfiles import StaticFiles

    app = FastAPI()
    app.mount("/static", StaticFiles(directory="static"), name="static")

    @app.websocket("/ws")
    async def endpoint(websocket: WebSocket):
        await websocket.accept()
        with open("static/greeting.txt") as handle:
            await websocket.send_text(handle.read().strip())
        await websocket.close()
    """,
    "static/greeting.txt": "hello from a file\n",
}


def test_relative_files_resolve_in_the_apps_folder(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path, STATIC)
    code, data = ours(folder.parent, f"{folder.name}/app.py")
    seen = witness(folder, "app:app")
    assert code == 0, data
    assert data["received"] == seen.received == ["hello from a file"]


FACTORY = {
    "main.py": """
    from fastapi import FastAPI, WebSocket

    def create_app():
        app = FastAPI()

        @app.websocket("/ws")
        async def endpoint(websocket: WebSocket):
            await websocket.accept()
            await websocket.send_text("made by a factory")
            await websocket.close()

        return app
    """
}


def test_a_factory_detected_with_uvicorns_warning(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path, FACTORY)
    code, data = ours(folder, "main.py:create_app")
    seen = witness(folder, "main:create_app")
    assert code == 0, data
    assert data["received"] == seen.received == ["made by a factory"]
    warning = [line for line in seen.lines() if "factory detected" in line]
    assert warning and warning[0].split(":", 1)[1].strip() in "\n".join(data["logs"])
    code, data = ours(folder, "main:create_app", extra=("--factory",))
    seen = witness(folder, "main:create_app", args=("--factory",))
    assert data["received"] == seen.received == ["made by a factory"]
    assert not any("factory detected" in line for line in data["logs"] + seen.lines())


def test_a_folder_of_modules_is_served_from_its_main(tmp_path: Path, witness: Witness) -> None:
    folder = write(tmp_path / "submission", SIBLING)
    code, data = ours(tmp_path, "submission", "/ws", "ok")
    seen = witness(folder, "main:app", "/ws", ("ok",))
    assert code == 0, data
    assert data["received"] == seen.received == ["OK!"]


ECHO_MAIN = {
    "main.py": """
    # wsquiz exercise: echo-loop
    from fastapi import FastAPI, WebSocket, WebSocketDisconnect
    from replies import echo

    app = FastAPI()

    @app.websocket("/ws")
    async def websocket_endpoint(websocket: WebSocket):
        await websocket.accept()
        try:
            while True:
                await websocket.send_text(echo(await websocket.receive_text()))
        except WebSocketDisconnect:
            print("Client disconnected")
    """,
    "replies.py": """
    def echo(data):
        return f"Echo: {data}"
    """,
}


def test_a_multi_module_submission_is_graded_and_checked_as_uvicorn_serves_it(
    tmp_path: Path, witness: Witness
) -> None:
    subs = tmp_path / "subs"
    write(subs / "ann", ECHO_MAIN)
    write(subs, {"bob.py": ECHO_MAIN["main.py"], "replies.py": ECHO_MAIN["replies.py"]})
    seen = witness(subs / "ann", "main:app", "/ws", ("hi",), timeout=0.5)
    assert seen.received == ["Echo: hi"]
    out = tmp_path / "grades.json"
    result = runner.invoke(
        app,
        [
            "grade",
            str(subs),
            "--exercise",
            "echo-loop",
            "--db",
            str(tmp_path / "g.db"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code in (0, 1), result.output
    rows = {row["student"]: row for row in json.loads(out.read_text())["results"]}
    assert rows["ann"]["score"] == rows["ann"]["max_score"] == 5
    # bob.py lies among the class's files: served alone, a module beside it is not its own
    assert rows["bob"]["score"] == 0
    assert "replies" in json.dumps(rows["bob"])
    checked = runner.invoke(app, ["check", str(subs / "ann"), "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["passed"] is True
