"""The projector board in a real headless browser (Debian's chromium), driven over DevTools."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support import ROOT
from wsquiz.classroom.host import Host, open_classroom
from wsquiz.classroom.material import ExerciseMaterial, QuizMaterial
from wsquiz.classroom.store import ClassroomStore

WAIT = 30.0
CHROMIUM = next(
    (
        p
        for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"))
        if p and os.access(p, os.X_OK)
    ),
    None,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on this machine (apt-get install chromium; .ci/run installs it)",
)

DOM = """JSON.stringify({
  students: [...document.querySelectorAll('#students li')].map(li => li.textContent),
  bars: [...document.querySelectorAll('.bar')].map(b => [b.dataset.answer, +b.dataset.count]),
  spread: document.getElementById('spread').textContent,
  code: document.getElementById('code').textContent,
  progress: document.getElementById('progress').textContent,
  prompt: document.getElementById('prompt').textContent,
  codes: [...document.querySelectorAll('#prompt code')].map(c => c.textContent),
  options: [...document.querySelectorAll('#options li')].map(li => li.textContent),
  key: (document.getElementById('key') || {}).textContent || '',
  labels: [...document.querySelectorAll('.bar .label')].map(l => l.textContent),
})"""
EMPTY = {
    "students": [],
    "bars": [],
    "spread": "",
    "code": "",
    "progress": "",
    "prompt": "",
    "codes": [],
    "options": [],
    "key": "",
    "labels": [],
}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[int]:
    """A headless chromium with its DevTools port; yields the port."""
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT
        while not (active.exists() and active.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start (exit status {process.poll()})")
            time.sleep(0.05)
        yield int(active.read_text().split()[0])
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Page:
    """One browser tab over the DevTools protocol."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        await self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
            if reply.get("id") == number:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply["result"])

    async def dom(self) -> dict[str, Any]:
        result = await self.call("Runtime.evaluate", expression=DOM, returnByValue=True)
        value = result["result"].get("value")
        if not isinstance(value, str):  # the page is still loading
            return dict(EMPTY)
        return dict(json.loads(value))

    async def until(self, what: str, test: Any) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            seen = await self.dom()
            if test(seen):
                return seen
            await asyncio.sleep(0.1)
        raise AssertionError(f"the board never showed {what}; it showed {seen}")


async def open_page(port: int, url: str) -> Page:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?{url}", method="PUT")
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        target = json.loads(response.read())
    ws = await connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=WAIT)
    page = Page(ws)
    await page.call("Runtime.enable")
    return page


async def student(host: Host, name: str) -> ClientConnection:
    ws = await connect(f"ws://127.0.0.1:{host.port}/ws/student", open_timeout=WAIT)
    await ws.send(json.dumps({"type": "join", "code": host.room.session.code, "name": name}))
    assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "welcome"
    return ws


async def next_of(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if message.get("type") == kind:
            return message


def bars(dom: dict[str, Any]) -> dict[str, int]:
    return {answer: count for answer, count in dom["bars"]}


def test_the_board_shows_students_and_live_bars(browser: int, lab: Any, tmp_path: Path) -> None:
    room, _ = open_classroom(
        QuizMaterial(ROOT, "basics", lab), ClassroomStore(tmp_path / "classroom.db")
    )
    echo = next(i for i, item in enumerate(room.items) if item.id == "echo-reply")
    right = "Message received: hello"

    with Host(room) as host:

        async def scenario() -> None:
            teacher = await connect(
                f"ws://127.0.0.1:{host.port}/ws/teacher?key={room.session.host_key}"
            )
            alice = await student(host, "alice")
            bob = await student(host, "bob")
            await teacher.send(json.dumps({"type": "push", "index": echo}))
            await next_of(alice, "question")
            await next_of(bob, "question")

            # the teacher's own board (?key=): bars grow as the answers arrive
            mine = await open_page(browser, f"{host.url}/board?key={room.session.host_key}")
            dom = await mine.until("alice and bob", lambda d: len(d["students"]) == 2)
            assert sorted(dom["students"]) == ["alice", "bob"]
            assert dom["code"] == room.session.code
            assert bars(dom) == {}  # nobody has answered yet: no bars
            await alice.send(json.dumps({"type": "answer", "item": "echo-reply", "answer": right}))
            dom = await mine.until("alice's answer", lambda d: bars(d).get(right) == 1)
            assert "1 of 2 answered" in dom["progress"]
            await bob.send(json.dumps({"type": "answer", "item": "echo-reply", "answer": "hi"}))
            dom = await mine.until("bob's answer", lambda d: bars(d).get("hi") == 1)
            assert bars(dom) == {right: 1, "hi": 1}

            # the projector (no key): progress only, the bars come with the reveal
            projector = await open_page(browser, f"{host.url}/board")
            dom = await projector.until("both students", lambda d: len(d["students"]) == 2)
            assert bars(dom) == {} and "hidden until the teacher reveals" in dom["spread"]
            assert "2 of 2 answered" in dom["progress"]
            await teacher.send(json.dumps({"type": "reveal"}))
            dom = await projector.until("the revealed spread", lambda d: len(d["bars"]) == 2)
            assert bars(dom) == {right: 1, "hi": 1}

            # a third student joins: the projector's list updates live too
            carol = await student(host, "carol")
            dom = await projector.until("carol", lambda d: len(d["students"]) == 3)
            assert any(re.fullmatch("carol", s) for s in dom["students"])
            for ws in (alice, bob, carol, teacher, mine.ws, projector.ws):
                await ws.close()

        asyncio.run(asyncio.wait_for(scenario(), 120))


def test_the_projector_lists_the_options_and_says_the_key_in_words(
    browser: int, lab: Any, tmp_path: Path
) -> None:
    material = QuizMaterial(ROOT, "basics", lab)
    room, _ = open_classroom(material, ClassroomStore(tmp_path / "classroom.db"))
    index, item = next((i, q) for i, q in enumerate(room.items) if q.id == "first-call")
    question = material.question("first-call")
    right = next(o for o in question.options if o.text == "websocket.accept()")

    with Host(room) as host:

        async def scenario() -> None:
            teacher = await connect(
                f"ws://127.0.0.1:{host.port}/ws/teacher?key={room.session.host_key}"
            )
            alice = await student(host, "alice")
            await teacher.send(json.dumps({"type": "push", "index": index}))
            await next_of(alice, "question")
            projector = await open_page(browser, f"{host.url}/board")
            dom = await projector.until("the options", lambda d: d["options"])
            assert dom["options"] == [f"{letter} {text}" for letter, text in item.options]
            assert dom["key"] == ""  # no key before the reveal
            await alice.send(
                json.dumps({"type": "answer", "item": "first-call", "answer": right.letter})
            )
            await next_of(alice, "verdict")
            await teacher.send(json.dumps({"type": "reveal"}))
            dom = await projector.until("the key", lambda d: d["key"])
            assert dom["key"] == f"Answer: {right.letter}: websocket.accept()"
            # the bars carry each option's text beside its letter
            assert f"{right.letter}  websocket.accept()" in dom["labels"]
            assert bars(dom)[right.letter] == 1
            for ws in (alice, teacher, projector.ws):
                await ws.close()

        asyncio.run(asyncio.wait_for(scenario(), 120))


def test_in_an_exercise_the_projector_shows_who_is_done_not_scores(
    browser: int, lab: Any, tmp_path: Path
) -> None:
    material = ExerciseMaterial(ROOT, "echo-loop", lab)
    room, _ = open_classroom(material, ClassroomStore(tmp_path / "classroom.db"))
    solution = material.exercise.solution.read_text()
    starter = material.exercise.starter.read_text()
    top = f"{material.max_score:g}/{material.max_score:g}"

    with Host(room) as host:

        async def scenario() -> None:
            ada, bob = await student(host, "ada"), await student(host, "bob")
            await ada.send(json.dumps({"type": "check", "source": solution}))
            assert (await next_of(ada, "checked"))["passed"] is True
            await bob.send(json.dumps({"type": "check", "source": starter}))
            assert (await next_of(bob, "checked"))["passed"] is False

            projector = await open_page(browser, f"{host.url}/board")
            dom = await projector.until("ada done", lambda d: "ada ✓" in d["students"])
            assert sorted(dom["students"]) == ["ada ✓", "bob"]  # done or not: no scores
            assert "1 of 2 passed every check" in dom["progress"]
            # the statement's Markdown is rendered, not shown raw
            assert "`" not in dom["prompt"] and "/ws" in dom["codes"]
            assert "receive_text()" in dom["codes"]

            mine = await open_page(browser, f"{host.url}/board?key={room.session.host_key}")
            dom = await mine.until("the scores", lambda d: len(d["students"]) == 2)
            assert f"ada {top} ✓" in dom["students"]  # the teacher's own board keeps them
            assert any(re.fullmatch(r"bob [\d.]+/[\d.]+", s) for s in dom["students"])
            for ws in (ada, bob, projector.ws, mine.ws):
                await ws.close()

        asyncio.run(asyncio.wait_for(scenario(), 120))
