"""Where a sandbox's CPU goes: each part of its start and end timed alone, in this process.

Forks a process of the zygote's size (FastAPI, uvicorn and the sandbox imported, collected
and frozen) and times: a fork and exit of it (a sandbox does two: keeper and server), each
namespace unshared in a fork, the Landlock ruleset built, and (as root) a sandbox's cgroups
made and removed. CPU is this process's and its reaped children's, which load does not
change; wall time is printed beside it.

Prints one JSON line: {part: {"cpu_ms", "wall_ms"}, ...}.
Usage: python bench/sandbox_parts.py [--n N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Callable

import fastapi  # noqa: F401  (what the zygote holds: a fork copies it)
import uvicorn  # noqa: F401

from wsquiz.engine.sandbox import _sys, cgroup, confine, landlock


def cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(n: int, part: Callable[[int], None]) -> dict[str, float]:
    used, start = cpu(), time.perf_counter()
    for index in range(n):
        part(index)
    return {
        "cpu_ms": round((cpu() - used) / n * 1000, 2),
        "wall_ms": round((time.perf_counter() - start) / n * 1000, 2),
    }


def fork_with(flags: int) -> Callable[[int], None]:
    def part(_: int) -> None:
        pid = os.fork()
        if pid == 0:
            if flags:
                _sys.unshare(flags)
            if flags & _sys.CLONE_NEWPID:  # a PID namespace exists once its first child does
                if os.fork() == 0:
                    os._exit(0)
                os.wait()
            os._exit(0)
        os.waitpid(pid, 0)

    return part


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    gc.collect()
    gc.freeze()
    results: dict[str, dict[str, float]] = {"fork_and_exit": timed(args.n, fork_with(0))}
    # A PID namespace's figure includes its first child's fork (the server is that child).
    for name in ("PID", "NET", "IPC", "NS", "UTS"):
        flags = getattr(_sys, f"CLONE_NEW{name}")
        both = timed(args.n, fork_with(flags))
        alone = timed(args.n, fork_with(0))  # again, beside it: the machine's load moves
        results[f"unshare_{name.lower()}_over_fork"] = {
            k: round(both[k] - alone[k], 2) for k in both
        }
    folders, entries = confine.python_paths()
    version = landlock.abi()
    if version:
        rules = confine.rules(folders, entries)
        results["landlock_ruleset"] = timed(
            args.n, lambda _: os.close(landlock.prepare(rules, version))
        )
    if os.geteuid() == 0 and cgroup.available():

        def cgroups(index: int) -> None:
            name = f"wsquiz-bench-{os.getpid()}-{index}"
            cgroup.Cgroups(name, 256 << 20, 64)
            cgroup.remove(name)

        results["cgroups_made_and_removed"] = timed(args.n, cgroups)
    with open("/proc/self/status") as handle:
        status = dict(line.split(":", 1) for line in handle if ":" in line)
    results["process"] = {"anon_kb": float(status["RssAnon"].split()[0])}
    print(json.dumps({**results, "n": args.n, "load_avg": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
