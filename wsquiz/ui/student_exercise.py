"""The student's terminal in an exercise session: the statement and starter, and each check of
the student's file, here and then on the host."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text
from websockets.asyncio.client import ClientConnection

from wsquiz.classroom.student import MAX_SEND
from wsquiz.errors import WsquizError

if TYPE_CHECKING:
    from wsquiz.ui.student import StudentClient


def show_exercise(self: StudentClient, message: dict[str, Any]) -> None:
    """The exercise the teacher set: its statement, the starter written for the student."""
    bundle = message.get("bundle") or {}
    name = str(bundle.get("exercise", message["item"]["id"]))
    from wsquiz.ui.markdown import CourseMarkdown

    body: list[RenderableType] = []
    if bundle.get("endpoint"):
        body.append(Text(f"endpoint: {bundle['endpoint']}", "cyan"))
    body.append(CourseMarkdown(message["item"]["prompt"]))
    checks = ", ".join(f"{c['name']} ({c['points']})" for c in bundle.get("checks", []))
    if checks:
        body.append(Text(f"checks: {checks}", "dim"))
    self.console.print(
        Panel(Group(*body), title=f"{name}: {bundle.get('title', '')}", border_style="blue")
    )
    if self.file is None:
        self.file = Path(f"{name.replace('-', '_')}.py")
    if not self.file.exists() and bundle.get("starter"):
        try:
            self.file.write_text(str(bundle["starter"]), encoding="utf-8")
        except OSError as exc:
            self.console.print(
                Text(
                    f"cannot write the starter to {self.file} ({exc.strerror or exc}): "
                    "write your app there yourself, or rejoin with --file PATH",
                    "red",
                )
            )
        else:
            self.console.print(Text(f"wrote the starter to {self.file}", "green"))
    self._local_exercise = local_exercise(name, [c["name"] for c in bundle.get("checks", [])])
    self.console.print(
        Text(
            f"edit {self.file}, then press Enter to check it (it is checked here and on the "
            "host); q to leave",
            "dim",
        )
    )


async def check_file(self: StudentClient, ws: ClientConnection) -> None:
    """Check the student's file here first (when this machine has the exercise), then send it."""
    assert self.file is not None
    try:
        source = self.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        self.console.print(Text(f"cannot read {self.file}: {exc}", "red"))
        return
    if self._local_exercise is not None and self.lab is not None:
        from wsquiz.engine.appfile import AppSpec
        from wsquiz.learn.checking import run_checks
        from wsquiz.ui.check import report_view

        try:
            report = await asyncio.to_thread(
                run_checks, self._local_exercise, AppSpec.parse(str(self.file)), self.lab
            )
            self.console.print(report_view(report, self._local_exercise))
        except WsquizError as exc:
            self.console.print(Text(f"the check failed here: {exc.message}", "yellow"))
    else:
        self.console.print(Text("sending your file to the host to be checked…", "dim"))
    # its name as the student knows it: what the host's checks say names it so
    message = json.dumps({"type": "check", "source": source, "file": self.file.name})
    if len(message) > MAX_SEND:  # the host would close the connection (1009)
        self.console.print(
            Text(
                f"{self.file} is too large to send ({len(message) // 1024} KiB as JSON; "
                f"the host takes up to {MAX_SEND // 1024} KiB)",
                "red",
            )
        )
        return
    await ws.send(message)


def local_exercise(name: str, checks: list[str]) -> Any:
    """The same exercise from this machine's course, if it has it (with the same checks)."""
    try:
        from wsquiz.course.exercises import find_exercise

        exercise = find_exercise(name)
    except WsquizError:
        return None
    return exercise if [c.name for c in exercise.checks] == checks else None
