"""A broadcast question reaching a whole class: N students on loopback, the host in its own process.

Each round the teacher pushes a question (about the size of a real one: prompt, options and the
app's code); the latency of a student is the time from the push being sent to that student
holding the question. The same run measures the naive manager (one `await send_text` per
socket, in turn, as in the seed's chat room) as the baseline, and then both again with one
stalled student (a laptop that stopped reading): ours drops that student after its send
timeout and the class goes on; the naive loop waits on that one socket for ever.
Prints one JSON line. Bar: 200 students, p99 <= 100 ms on 2 cores.
Usage: python bench/classroom.py [--students N] [--rounds R] [--payload BYTES]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection, connect

if TYPE_CHECKING:
    from wsquiz.classroom.store import Mode

BAR_MS = 100.0
ROUND_TIMEOUT = 3.0


class BenchMaterial:
    """Questions with a payload like a real one's; the host never judges in this benchmark."""

    mode: Mode = "quiz"
    name = "bench"
    title = "Broadcast benchmark"
    content = "bench"
    check_names: tuple[str, ...] = ()

    def __init__(self, payload: int) -> None:
        from wsquiz.classroom.material import Item

        options = (("A", "one"), ("B", "two"), ("C", "three"), ("D", "four"))
        self.items = tuple(Item(f"q{i}", "choice", f"Question {i}?", options) for i in range(10))
        self.max_score = float(len(self.items))
        # random text: a repeated line would compress to nothing over permessage-deflate
        self._code = base64.b64encode(os.urandom(payload * 3 // 4)).decode()

    def observe(self, item_id: str) -> Any:
        return None

    def judge(self, item_id: str, answer: str, observation: Any) -> Any:
        raise NotImplementedError

    def key(self, item_id: str, observation: Any) -> str:
        return "A"

    def explanation(self, item_id: str) -> str:
        return ""

    def bundle(self, item_id: str) -> dict[str, Any]:
        return {"quiz": "bench", "apps": {"app.py": self._code}}

    def group(self, item_id: str, answer: str, correct: bool, observed: str) -> str:
        raise NotImplementedError

    def verify(self, source: str, student: str, file: object = None) -> Any:
        raise NotImplementedError


def serve(pipe: Connection, payload: int, sequential: bool) -> None:
    """The host process: serve until told to stop."""
    from wsquiz.classroom.host import Host, open_classroom
    from wsquiz.classroom.store import ClassroomStore

    store = ClassroomStore(Path(tempfile.mkdtemp()) / "bench.db")
    room, _ = open_classroom(BenchMaterial(payload), store)
    room.sequential = sequential
    host = Host(room).start()
    # after the start: uvicorn sets its loggers' level as it starts
    for noisy in ("asyncio", "uvicorn.error"):  # sockets the benchmark aborts at the end
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    pipe.send((host.port, room.session.code, room.session.host_key))
    pipe.recv()
    host.stop()


def stalled_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


async def measure(
    port: int, code: str, key: str, students: int, rounds: int, stalled: bool
) -> dict[str, Any]:
    got: dict[int, list[float]] = {}
    everyone: dict[int, asyncio.Event] = {}
    base = f"ws://127.0.0.1:{port}"

    async def student(name: str) -> ClientConnection:
        ws = await connect(f"{base}/ws/student", open_timeout=30, max_size=None, ping_interval=None)
        await ws.send(json.dumps({"type": "join", "code": code, "name": name}))
        await ws.recv()
        return ws

    async def listen(ws: ClientConnection) -> None:
        async for raw in ws:
            if '"type": "question"' not in raw[:40]:
                continue
            at = time.perf_counter()
            round_no = current[0]
            got.setdefault(round_no, []).append(at)
            if len(got[round_no]) == students:
                everyone[round_no].set()

    current = [0]
    if stalled:  # the first to join, so a loop over the class in join order meets it first
        sleeper = await connect(
            f"{base}/ws/student", sock=_connected(port), max_size=None, ping_interval=None
        )
        await sleeper.send(json.dumps({"type": "join", "code": code, "name": "sleeper"}))
        await sleeper.recv()
        sleeper.transport.pause_reading()  # the laptop lid closes: nothing is read any more
    class_ = await asyncio.gather(*(student(f"s{i}") for i in range(students)))
    listeners = [asyncio.create_task(listen(ws)) for ws in class_]
    teacher = await connect(f"{base}/ws/teacher?key={key}", max_size=None, ping_interval=None)
    latencies: list[float] = []
    last: list[float] = []
    completed = 0
    for round_no in range(rounds + 2):
        current[0] = round_no
        everyone[round_no] = asyncio.Event()
        start = time.perf_counter()
        await teacher.send(json.dumps({"type": "push", "index": round_no % 10}))
        try:
            await asyncio.wait_for(everyone[round_no].wait(), ROUND_TIMEOUT)
        except asyncio.TimeoutError:
            break
        completed = round_no + 1
        if round_no >= 2:  # two warm-up rounds
            times = [(t - start) * 1000 for t in got[round_no]]
            latencies += times
            last.append(max(times))
        await asyncio.sleep(0.05)  # the teacher does not push twice in the same millisecond
    for task in listeners:
        task.cancel()
    for ws in [*class_, teacher]:
        ws.transport.abort()
    if not latencies:
        return {"completed_rounds": max(0, completed - 2), "blocked": True}
    return {
        "completed_rounds": completed - 2,
        "blocked": completed < rounds + 2,
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "all_p50_ms": round(statistics.median(last), 2),
        "all_p99_ms": round(percentile(last, 99), 2),
    }


def _connected(port: int) -> socket.socket:
    sock = stalled_socket()
    sock.connect(("127.0.0.1", port))
    return sock


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run(
    students: int, rounds: int, payload: int, sequential: bool, stalled: bool
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(child, payload, sequential), daemon=True)
    process.start()
    try:
        port, code, key = parent.recv()
        return asyncio.run(measure(port, code, key, students, rounds, stalled))
    finally:
        parent.send("stop")
        process.join(5)
        if process.is_alive():  # the naive host may be stuck on the stalled socket
            process.kill()
            process.join()


def main() -> None:
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # aborted sockets at the end
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--payload", type=int, default=2048, help="bytes of app code per push")
    args = parser.parse_args()
    ours = run(args.students, args.rounds, args.payload, sequential=False, stalled=False)
    naive = run(args.students, args.rounds, args.payload, sequential=True, stalled=False)
    # With a stalled student: a smaller class and bigger pushes, so that the stalled socket's
    # buffers (the kernel's on both sides, then the server's own) fill within the run.
    big, few, more = 256 * 1024, 20, 40
    ours_stalled = run(few, more, big, sequential=False, stalled=True)
    naive_stalled = run(few, more, big, sequential=True, stalled=True)
    result = {
        "students": args.students,
        "rounds": args.rounds,
        "payload_bytes": args.payload,
        "p50_ms": ours.get("p50_ms"),
        "p99_ms": ours.get("p99_ms"),
        "all_p50_ms": ours.get("all_p50_ms"),
        "all_p99_ms": ours.get("all_p99_ms"),
        "naive_p50_ms": naive.get("p50_ms"),
        "naive_p99_ms": naive.get("p99_ms"),
        "naive_over_ours_p99": (
            round(naive["p99_ms"] / ours["p99_ms"], 2)
            if ours.get("p99_ms") and naive.get("p99_ms")
            else None
        ),
        "stalled_student": {
            "students": few,
            "rounds": more,
            "payload_bytes": big,
            "ours": ours_stalled,
            "naive": naive_stalled,
        },
        "bar_p99_ms": BAR_MS,
        "meets_bar": bool(ours.get("p99_ms") is not None and ours["p99_ms"] <= BAR_MS),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
