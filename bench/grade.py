"""Grading speed: N generated echo-loop submissions graded with -j 2, against the naive way.

The grader: one lab (a warm process), every submission served in a sandbox forked from its
zygote with every protection on (as `wsquiz grade` does: `app_folder=False`),
each result written to a SQLite gradebook in its own transaction; the clock runs from the
lab's start to the last result written. The naive way, measured in the same run on a sample:
one `python -m uvicorn` subprocess per submission, polled until it serves, the same scenarios
played and judged against the same reference, then stopped.

Both are timed in rounds; the figures are each side's best round, as `timeit` takes the best
of its repeats: other tenants of the machine only ever slow a round down. Every round is in the
JSON too, with the CPU time (grader and every process it forked) per submission, which load
does not change.

Prints one JSON line: {"per_s", "naive_per_s", "speedup", ...}. Bar on 2 cores: per_s >= 25
and speedup >= 15.
Usage: python bench/grade.py [--n N] [--jobs J] [--rounds R] [--naive N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wsquiz.course.exercises import Exercise, find_exercise
from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.capture import Recorder
from wsquiz.engine.lab import Lab, play_against
from wsquiz.engine.sandbox import missing_protections
from wsquiz.engine.serving import Limits, Served
from wsquiz.engine.transcript import Transcript
from wsquiz.grading.exercise import ExerciseAssignment
from wsquiz.grading.gradebook import Gradebook
from wsquiz.grading.run import run as grade_all
from wsquiz.grading.submissions import discover
from wsquiz.learn.checking import judge_check

BAR_PER_S = 25.0
BAR_SPEEDUP = 15.0

WRONG = [
    # replies without the prefix
    "await websocket.send_text(data)",
    # replies once, then stops listening
    'await websocket.send_text(f"Echo: {data}")\n        return',
    # shouts
    'await websocket.send_text(f"ECHO: {data.upper()}")',
]
TEMPLATE = """\
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await websocket.accept()
    while True:
        data = await websocket.receive_text()
        {reply}
"""


def generate(folder: Path, count: int, exercise: Exercise) -> None:
    """Every other submission right (the reference solution), the rest wrong in some way."""
    right = exercise.solution.read_text()
    for index in range(count):
        text = right if index % 2 == 0 else TEMPLATE.format(reply=WRONG[index // 2 % len(WRONG)])
        (folder / f"student{index:04}.py").write_text(text)


def grade_fast(folder: Path, exercise: Exercise, jobs: int, db: Path) -> tuple[float, list[float]]:
    submissions = discover(folder, "exercise")
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    with Lab() as lab, Gradebook(db, "exercise", exercise.name) as book:
        assignment = ExerciseAssignment(exercise, lab, Limits(app_folder=False))
        scores = []
        for result in grade_all(lab, assignment, submissions, jobs):
            book.record(result)
            scores.append(result.score)
    return time.perf_counter() - start, scores


class External(Served):
    """A server this process did not start: a `python -m uvicorn` subprocess on `port`."""

    def __init__(self, spec: AppSpec, port: int) -> None:
        self.spec = spec
        self.port = port
        self.recorder = Recorder(None)

    async def stop(self) -> None:
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("uvicorn did not start") from None
            await asyncio.sleep(0.005)


async def naive_one(path: Path, exercise: Exercise, reference: list[Transcript]) -> float:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{path.stem}:app",
            "--port",
            str(port),
            "--app-dir",
            str(path.parent),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_serving(port, process)
        served = External(AppSpec(path), port)
        score = 0
        for check, expected in zip(exercise.checks, reference, strict=True):
            observed = await play_against(served, check.scenario)
            score += judge_check(check, expected, observed).points
    finally:
        process.terminate()
        process.wait(10)
    return float(score)


def grade_naive(
    folder: Path, exercise: Exercise, sample: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Each round grades the same `sample` submissions; returns each round's rate, the scores."""
    paths = sorted(folder.glob("*.py"))[:sample]
    rates = []
    with Lab() as lab:
        reference = [
            lab.observe(AppSpec(exercise.solution), check.scenario) for check in exercise.checks
        ]
        for _ in range(rounds):
            start = time.perf_counter()
            scores = [lab.call(naive_one(path, exercise, reference)) for path in paths]
            rates.append(len(paths) / (time.perf_counter() - start))
    return rates, scores


def cpu_seconds() -> float:
    """CPU used by this process and every child it has reaped (the keepers and their servers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200, help="submissions graded in each round")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--naive", type=int, default=4, help="submissions graded the naive way")
    args = parser.parse_args()
    exercise = find_exercise("echo-loop")
    rates, cpu = [], []
    with tempfile.TemporaryDirectory(prefix="wsquiz-bench-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        generate(folder, args.n, exercise)
        for _ in range(args.rounds):
            used = cpu_seconds()
            elapsed, scores = grade_fast(folder, exercise, args.jobs, Path(tmp) / "book.sqlite")
            cpu.append((cpu_seconds() - used) / args.n * 1000)
            rates.append(args.n / elapsed)
            full = sum(1 for s in scores if s == exercise.max_score)
            assert full == (args.n + 1) // 2, scores
        naive_rounds = max(1, args.rounds - 1)
        naive_rates, naive_scores = grade_naive(folder, exercise, args.naive, naive_rounds)
    assert naive_scores[0] == exercise.max_score and naive_scores[1] < exercise.max_score
    per_s, naive_per_s = max(rates), max(naive_rates)
    speedup = per_s / naive_per_s
    print(
        json.dumps(
            {
                "per_s": round(per_s, 1),
                "naive_per_s": round(naive_per_s, 2),
                "speedup": round(speedup, 1),
                "rounds_per_s": [round(r, 1) for r in rates],
                "naive_rounds_per_s": [round(r, 2) for r in naive_rates],
                "cpu_ms_per_submission": round(sorted(cpu)[len(cpu) // 2], 1),
                "n": args.n,
                "jobs": args.jobs,
                "naive_sample": len(naive_scores),
                "load_avg": round(os.getloadavg()[0], 2),
                "missing_protections": list(missing_protections()),
                "ok": per_s >= BAR_PER_S and speedup >= BAR_SPEEDUP,
            }
        )
    )


if __name__ == "__main__":
    main()
