"""The autograder ships this very wsquiz as a wheel: installed from the zip, it grades."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from wsquiz import __version__
from wsquiz.course.exercises import find_exercise
from wsquiz.grading.autograder import build

PIP = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
WSQUIZ = [sys.executable, "-m", "wsquiz"]


def test_the_shipped_wheel_installs_and_grades_with_its_own_course(tmp_path: Path) -> None:
    built = build("echo-loop", tmp_path / "ag")
    wheel = tmp_path / "ag" / f"wsquiz-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(built.zip_path) as archive:
        assert wheel.name in archive.namelist()
    with zipfile.ZipFile(wheel) as shipped:
        names = set(shipped.namelist())
        record = shipped.read(f"wsquiz-{__version__}.dist-info/RECORD").decode()
        points = shipped.read(f"wsquiz-{__version__}.dist-info/entry_points.txt").decode()
    assert "wsquiz/cli/__init__.py" in names and "wsquiz/classroom/static/board.html" in names
    assert any(
        n.startswith("wsquiz/_content/exercises/") and n.endswith("-echo-loop/solution.py")
        for n in names
    )
    assert not [n for n in names if "__pycache__" in n]
    assert "wsquiz = wsquiz.cli:main" in points
    assert all(line.count(",") == 2 for line in record.splitlines())

    target = tmp_path / "site"
    subprocess.run(
        [*PIP, "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target), "WSQUIZ_HOME": str(tmp_path / "home")}
    env.pop("WSQUIZ_CONTENT", None)
    where = subprocess.run(
        [sys.executable, "-c", "import wsquiz._support.paths as p; print(p.bundled_root())"],
        env=env,
        cwd=tmp_path,  # not this checkout: `import wsquiz` must find the installed wheel
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(target / "wsquiz" / "_content")  # not this checkout

    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "echo.py").write_text(find_exercise("echo-loop").solution.read_text())
    out = tmp_path / "results.json"
    grade_options = ["--exercise", "echo-loop", "--jobs", "1", "--db", str(tmp_path / "g.sqlite")]
    grade_options += ["--format", "gradescope", "--out", str(out)]
    graded = subprocess.run(
        [*WSQUIZ, "grade", str(submission), "--single", "--student", "submission", *grade_options],
        env=env,
        cwd=tmp_path,  # not this checkout: `import wsquiz` must find the installed wheel
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert graded.returncode == 0, graded.stderr
    results = json.loads(out.read_text())
    assert results["score"] == 5
    assert {t["status"] for t in results["tests"]} == {"passed"}
