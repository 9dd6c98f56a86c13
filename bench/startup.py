"""Start-up of `wsquiz --help` against `python -c "import typer, rich"` (its floor).

Prints one JSON line. Bar: ratio <= 1.5 (the CLI must not import fastapi or uvicorn to help).
Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BAR_RATIO = 1.5


# As installed: bytecode cached (pip compiles it), so the warm-up run may write it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
    )
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "wsquiz"  # the console script a user types
    help_cmd = (
        [str(script), "--help"]
        if script.exists()
        else [sys.executable, "-c", "from wsquiz.cli import main; main()", "--help"]
    )
    floor_cmd = [sys.executable, "-c", "import typer, rich"]
    timed(help_cmd), timed(floor_cmd)  # warm the file cache
    helps, floors = [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        helps.append(timed(help_cmd))
        floors.append(timed(floor_cmd))
    help_ms, floor_ms = statistics.median(helps), statistics.median(floors)
    ratio = help_ms / floor_ms
    print(
        json.dumps(
            {
                "help_ms": round(help_ms, 1),
                "typer_rich_ms": round(floor_ms, 1),
                "ratio": round(ratio, 2),
                "runs": args.runs,
                "bar": {"ratio": BAR_RATIO},
                "ok": ratio <= BAR_RATIO,
            }
        )
    )


if __name__ == "__main__":
    main()
