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


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """A screenshot's rows of RGB(A) pixels (8-bit PNG, as Chromium writes them)."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks, width, height, kind = 8, b"", 0, 0, 6
    while at < len(data):
        size, name = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + size]
        if name == b"IHDR":
            width, height, _, kind = struct.unpack(">IIBB", body[:10])
        elif name == b"IDAT":
            chunks += body
        at += 12 + size
    step = 4 if kind == 6 else 3
    raw, rows, previous = zlib.decompress(chunks), [], bytearray(width * step)
    stride = width * step + 1
    for y in range(height):
        kind_of, line = raw[y * stride], bytearray(raw[y * stride + 1 : (y + 1) * stride])
        for x in range(len(line)):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind_of == 1:
                line[x] = (line[x] + left) & 255
            elif kind_of == 2:
                line[x] = (line[x] + up) & 255
            elif kind_of == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind_of == 4:
                guess = left + up - corner
                near = min((abs(guess - v), i) for i, v in enumerate((left, up, corner)))[1]
                line[x] = (line[x] + (left, up, corner)[near]) & 255
        rows.append(bytes(line))
        previous = line
    return width, step, rows


def inked(shot: tuple[int, int, list[bytes]], box: dict[str, float]) -> int:
    """How many pixels in `box` differ from the page's background (#111): what is drawn."""
    _, step, rows = shot
    count = 0
    for y in range(max(0, int(box["top"])), min(len(rows), int(box["bottom"]))):
        row = rows[y]
        for x in range(max(0, int(box["left"])), int(box["right"])):
            pixel = row[x * step : x * step + 3]
            if len(pixel) == 3 and max(abs(c - 17) for c in pixel) > 40:
                count += 1
    return count


BOXES = """JSON.stringify(Object.fromEntries(['students', 'source', 'options', 'timer',
  'explanation', 'leaderboard', 'progress', 'code'].map(id => {
    const r = document.getElementById(id).getBoundingClientRect();
    return [id, {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                 text: document.getElementById(id).textContent}];
  }).concat([['font', parseFloat(getComputedStyle(document.documentElement).fontSize)],
             ['counts', [...document.querySelectorAll('.bar .count')]
                          .map(c => c.textContent)]])))"""


async def look(page: Page, width: int, height: int) -> tuple[dict[str, Any], Any]:
    import base64

    await page.call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )
    await asyncio.sleep(0.3)
    boxes = json.loads(
        (await page.call("Runtime.evaluate", expression=BOXES, returnByValue=True))["result"][
            "value"
        ]
    )
    shot = await page.call("Page.captureScreenshot", format="png")
    return boxes, png_pixels(base64.b64decode(shot["data"]))


def test_the_projector_fits_a_class_shows_the_code_and_scales(
    browser: int, lab: Any, tmp_path: Path
) -> None:
    """30 students, a predict question with its endpoint, a countdown, at two screen sizes:
    everything the back row needs is drawn inside the screen, bigger on the bigger screen."""
    room, _ = open_classroom(
        QuizMaterial(ROOT, "basics", lab),
        ClassroomStore(tmp_path / "classroom.db"),
        show_code=True,
        time_limit=600,  # a countdown (long: a busy machine must not close the answers)
    )
    echo = next(i for i, item in enumerate(room.items) if item.id == "echo-reply")
    right = "Message received: hello"

    with Host(room) as host:

        async def scenario() -> None:
            teacher = await connect(
                f"ws://127.0.0.1:{host.port}/ws/teacher?key={room.session.host_key}"
            )
            students = [await student(host, f"student{n:02d}") for n in range(30)]
            await teacher.send(json.dumps({"type": "push", "index": echo}))
            for ws in students:
                await next_of(ws, "question")
            projector = await open_page(browser, f"{host.url}/board")
            await projector.call("Page.enable")
            await projector.until("the class", lambda d: len(d["students"]) == 30)
            fonts = []
            for width, height in ((1280, 720), (1920, 1080)):
                boxes, shot = await look(projector, width, height)
                fonts.append(boxes["font"])
                assert boxes["code"]["text"] == room.session.code  # the teacher chose it
                assert "websocket.receive_text()" in boxes["source"]["text"]
                for name in ("students", "source", "timer", "progress"):
                    box = boxes[name]
                    assert 0 <= box["top"] < box["bottom"] <= height, (name, box, height)
                    assert inked(shot, box) > 50, f"{name} is not drawn at {width}x{height}"
                assert re.fullmatch(r"\d+s", boxes["timer"]["text"])
                assert boxes["students"]["right"] > 0.6 * width  # the screen is used
            assert fonts[1] > fonts[0] * 1.2

            for n, ws in enumerate(students[:10]):
                given = right if n % 2 else "hi"
                await ws.send(json.dumps({"type": "answer", "item": "echo-reply", "answer": given}))
            for ws in students[:10]:  # recorded; right or wrong waits for the reveal
                assert set(await next_of(ws, "verdict")) == {"type", "item", "answer"}
            await teacher.send(json.dumps({"type": "reveal"}))
            await projector.until("the bars", lambda d: len(d["bars"]) == 2)
            boxes, shot = await look(projector, 1920, 1080)
            assert sorted(boxes["counts"]) == ["5 (50%)", "5 (50%)"]
            assert boxes["explanation"]["text"] and inked(shot, boxes["explanation"]) > 50
            for name in ("students", "explanation"):
                assert boxes[name]["bottom"] <= 1080, f"{name} fell below the fold"
            assert boxes["timer"]["text"] == ""  # no countdown once revealed

            await teacher.send(json.dumps({"type": "end"}))
            await asyncio.sleep(0.5)
            boxes, shot = await look(projector, 1920, 1080)
            assert boxes["leaderboard"]["text"].startswith("student")
            assert inked(shot, boxes["leaderboard"]) > 50
            for ws in (*students, teacher, projector.ws):
                await ws.close()

        asyncio.run(asyncio.wait_for(scenario(), 180))
