"""Output into a pipe the reader closed (`wsquiz ... | head`): a quiet exit, never a traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest

from wsquiz.engine.capture import _RoutedStream


def run_until(args: list[str], marker: bytes | None) -> tuple[int, str]:
    """Run wsquiz, read its output up to `marker` (none: nothing), close the pipe, end input."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "wsquiz", *args],
        stdin=subprocess.PIPE,
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    seen = b""
    deadline = time.monotonic() + 60
    while marker is not None and marker not in seen and time.monotonic() < deadline:
        chunk = os.read(read_end, 4096)
        if not chunk:
            break
        seen += chunk
    os.close(read_end)  # as `head` does once it has its lines
    _, err = process.communicate(timeout=60)  # and the input ends: the quiz stops
    return process.returncode, err.decode()


def quiet(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    assert "Error" not in stderr, stderr


def test_quiz_into_a_closed_pipe_exits_quietly() -> None:
    # the reader goes away while the quiz waits for an answer, after the lab routed the output
    code, stderr = run_until(["quiz", "messages"], b"answer> ")
    quiet(stderr)
    assert code == 1


@pytest.mark.parametrize(
    "args",
    [["quiz", "--list", "--json"], ["learn"], [], ["progress", "--json"]],
    ids=["json", "learn", "welcome", "progress-json"],
)
def test_commands_into_a_closed_pipe_exit_quietly(args: list[str]) -> None:
    code, stderr = run_until(args, None)
    quiet(stderr)
    assert code == 1


def test_routed_stream_passes_fileno_through() -> None:
    with open(os.devnull, "w") as devnull:
        assert _RoutedStream(devnull).fileno() == devnull.fileno()  # type: ignore[arg-type]
    with pytest.raises(io.UnsupportedOperation):
        _RoutedStream(io.StringIO()).fileno()


class Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_routed_stream_raises_a_broken_pipe_once_then_drops_output() -> None:
    stream = _RoutedStream(Broken())  # type: ignore[arg-type]
    with pytest.raises(BrokenPipeError):
        stream.write("lost")
    assert stream.write("also lost") == len("also lost")
    stream.flush()


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_an_output_that_cannot_take_utf8_gets_plain_characters(encoding: str) -> None:
    env = {**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "80"}
    for args in (["learn", "1"], ["exercise", "list"], ["quiz", "basics", "--key"]):
        done = subprocess.run(
            [sys.executable, "-m", "wsquiz", *args],
            env=env,
            capture_output=True,
            timeout=120,
        )
        quiet(done.stderr.decode(encoding))
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout.decode(encoding).strip(), args
