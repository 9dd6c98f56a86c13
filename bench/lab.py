"""Launch + echo probe + stop, warm in-process and sandboxed, against a fresh `python -m uvicorn`.

The sandboxed figure has every protection on (a fork of the zygote, its own namespaces, no
capabilities, Landlock, cgroups, the tampering guard). Prints one JSON line. Bars: warm_ms <= 30
and speedup (naive_ms / warm_ms) >= 15; isolated_ms <= 60 and isolated_speedup >= 10.
Usage: python bench/lab.py [--runs N] [--naive-runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

from wsquiz.engine.appfile import AppSpec
from wsquiz.engine.lab import Lab
from wsquiz.engine.sandbox import missing_protections
from wsquiz.engine.scenario import Scenario

ECHO = Path(__file__).resolve().parent.parent / "quizzes" / "apps" / "echo_once.py"
BAR_WARM_MS = 30.0
BAR_SPEEDUP = 15.0
BAR_ISOLATED_MS = 60.0
BAR_ISOLATED_SPEEDUP = 10.0


def lab_ms(lab: Lab, isolated: bool, runs: int) -> list[float]:
    spec = AppSpec.parse(ECHO)
    scenario = Scenario.probe("/ws", ["hi"], 5.0)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        seen = lab.observe(spec, scenario, isolated=isolated)
        times.append((time.perf_counter() - start) * 1000)
        assert seen.received() == ["Message received: hi"], seen.to_dict()
    return times


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def naive_once() -> float:
    """What a tool without a warm lab does: spawn uvicorn, poll until it serves, probe, stop."""
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{ECHO.stem}:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ECHO.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with connect(f"ws://127.0.0.1:{port}/ws", open_timeout=5) as ws:
                    ws.send("hi")
                    reply = ws.recv(timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.005)
        assert reply == "Message received: hi", reply
    finally:
        server.terminate()
        server.wait(10)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--naive-runs", type=int, default=5)
    args = parser.parse_args()
    with Lab() as lab:
        lab_ms(lab, False, 5)  # warm-up: imports, first module load
        lab_ms(lab, True, 3)
        warm = statistics.median(lab_ms(lab, False, args.runs))
        isolated = statistics.median(lab_ms(lab, True, max(5, args.runs // 2)))
    naive = statistics.median(naive_once() for _ in range(args.naive_runs))
    speedup = naive / warm
    print(
        json.dumps(
            {
                "warm_ms": round(warm, 2),
                "isolated_ms": round(isolated, 2),
                "naive_ms": round(naive, 1),
                "speedup": round(speedup, 1),
                "isolated_speedup": round(naive / isolated, 1),
                "runs": args.runs,
                "naive_runs": args.naive_runs,
                "cpus": os.cpu_count(),
                "load_avg": round(os.getloadavg()[0], 2),
                "missing_protections": list(missing_protections()),
                "bar": {
                    "warm_ms": BAR_WARM_MS,
                    "speedup": BAR_SPEEDUP,
                    "isolated_ms": BAR_ISOLATED_MS,
                    "isolated_speedup": BAR_ISOLATED_SPEEDUP,
                },
                "ok": warm <= BAR_WARM_MS
                and speedup >= BAR_SPEEDUP
                and isolated <= BAR_ISOLATED_MS
                and naive / isolated >= BAR_ISOLATED_SPEEDUP,
            }
        )
    )


if __name__ == "__main__":
    main()
