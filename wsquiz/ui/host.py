"""`wsquiz classroom host` at the teacher's terminal: open or resume the session, serve it, say
how to join, and run the teacher's live board until they quit."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from wsquiz.classroom.host import (
    DEFAULT_PORT,
    check_address,
    check_options,
    export_command,
    load_material,
    open_classroom,
    serve,
)
from wsquiz.classroom.store import ClassroomStore


def run_host(
    console: Any,
    *,
    quiz: str | None,
    exercise: str | None,
    host: str = "127.0.0.1",
    port: int | None = None,
    content: str | None = None,
    db: Path | None = None,
    new: bool = False,
    live: bool = True,
    feedback: str = "reveal",
    show_code: bool = False,
    time_limit: float | None = None,
) -> None:
    """`wsquiz classroom host`: serve the class and run the teacher's board until `q`.

    `port` None is 8765 for a new session, and for a resumed one the port it served on.
    """
    from rich.text import Text

    from wsquiz.engine.lab import Lab
    from wsquiz.ui.board import TeacherConsole, single_keys

    # before a session is opened for a class that cannot be served
    check_address(host, DEFAULT_PORT if port is None else port)
    chosen = check_options(feedback, time_limit)
    store = ClassroomStore(db)
    lab = Lab()
    try:
        material = load_material(content, quiz, exercise, lab)
        room, resumed = open_classroom(
            material, store, new=new, feedback=chosen, show_code=show_code, time_limit=time_limit
        )
        served, moved = serve(room, host, port)
        with served:
            session = room.session
            say_how_to_join(console, room, served, host, resumed=resumed, moved=moved)
            # Single keys on a terminal, as the board's footer says; the mode is put back even
            # on Ctrl-C (the interrupt leaves asyncio.run before the terminal is restored).
            with contextlib.suppress(KeyboardInterrupt), single_keys() as keys:
                teacher = TeacherConsole(
                    served.local_url, session.host_key, console, live=live, keys=keys
                )
                asyncio.run(teacher.run())
            with contextlib.suppress(Exception):  # a piped `e` then the end of input: handled
                served.call(room.settled(), timeout=5)
            if room.ended:
                console.print(
                    Text(
                        f"session {session.id} has ended: no one can join it again; "
                        "export it with:",
                        "bold",
                    )
                )
            else:
                console.print(
                    f"session {session.id} stays open: run the same command to resume it, "
                    "`e` on the board ends it; export it with:"
                )
            # whole, on one line: a command to copy
            console.print(
                export_command(session.id, db), soft_wrap=True, markup=False, highlight=False
            )
    finally:
        lab.close()
        store.close()


def say_how_to_join(
    console: Any, room: Any, served: Any, host: str, *, resumed: bool, moved: str | None
) -> None:
    """The session opened or resumed, and the lines the teacher gives the class."""
    from rich.text import Text

    session = room.session
    material = room.material
    what = f"{material.mode} {material.name}"
    if resumed:
        console.print(
            Text(
                f"resuming session {session.id} ({what}): {len(room.seats)} student(s), "
                f"{room.kept()} kept (--new starts a fresh one)",
                "yellow",
            )
        )
    else:
        console.print(Text(f"new session {session.id} ({what})", "green"))
    if moved:
        # their terminals keep trying the old address: the teacher has to tell them
        console.print(Text(f"{moved}: students must rejoin at {served.url}", "bold red"))
    console.print(
        Text.assemble(
            ("students must rejoin with:  " if moved else "students join with:  ", "bold"),
            (
                f"wsquiz classroom join {served.url} --code {session.code} --name NAME",
                "bold cyan",
            ),
        )
    )
    console.print(f"join code: {session.code}")
    console.print(f"projector board: {served.url}/board")
    console.print(
        f"your board (answers before the reveal): {served.local_url}/board?key={session.host_key}"
    )
    if host in ("127.0.0.1", "::1", "localhost"):
        console.print(
            Text(
                "listening on this machine only: pass --host 0.0.0.0 to let a classroom network in",
                "dim",
            )
        )
