"""The autograder ships this very wsquiz as a wheel: installed from the zip, it grades."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from wsquiz import __version__
from wsquiz.course.exercises import find_exercise
from wsquiz.grading.autograder import build, needs_python, setup_script

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


# ---- setup.sh picks a Python the pins can be installed on --------------------------------

PINS = [("fastapi==0.200.0", (3, 11)), ("websockets==17.4", (3, 10)), ("uvicorn==0.60", (3, 12))]
FAKE_PYTHON = """#!/bin/bash
# a fake Python {version}: answers setup.sh's version question, makes a fake venv
if [ "$1" = "-c" ]; then echo "{version}"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    echo "venv ${{0##*/}} $3" >> "{log}"
    /bin/mkdir -p "$3/bin"
    printf '#!/bin/bash\\necho "pip $*" >> "{log}"\\n' > "$3/bin/pip"
    printf '#!/bin/bash\\nexit 0\\n' > "$3/bin/wsquiz"
    /bin/chmod +x "$3/bin/pip" "$3/bin/wsquiz"
    exit 0
fi
exit 3
"""
FAKE_APT = """#!/bin/bash
# a fake apt-get: logs; installs a fake pythonX.Y when it is offered, else fails as apt does
echo "apt-get $*" >> "{log}"
for wanted in "$@"; do
    case "$wanted" in python3.[0-9]*) ;; *) continue ;; esac
    case " {offers} " in *" $wanted "*) ;; *) exit 100 ;; esac
    case "$wanted" in *-venv) continue ;; esac
    /bin/sed "s/VERSION/${{wanted#python}}/" "{bin}/.python-template" > "{bin}/$wanted"
    /bin/chmod +x "{bin}/$wanted"
done
exit 0
"""


def fake_image(tmp_path: Path, pythons: dict[str, str], offers: str = "") -> tuple[Path, Path]:
    """A PATH holding only fake Pythons (name -> version) and a fake apt-get."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "log"
    log.touch()
    for name, version in pythons.items():
        (bin_ / name).write_text(FAKE_PYTHON.format(version=version, log=log))
        (bin_ / name).chmod(0o755)
    (bin_ / ".python-template").write_text(FAKE_PYTHON.format(version="VERSION", log=log))
    (bin_ / "apt-get").write_text(FAKE_APT.format(log=log, offers=offers, bin=bin_))
    (bin_ / "apt-get").chmod(0o755)
    return bin_, log


def setup(tmp_path: Path, bin_: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "setup.sh"
    script.write_text(setup_script("/autograder/source/wsquiz.whl", PINS, (3, 10)))
    env = {"PATH": str(bin_), "WSQUIZ_VENV": str(tmp_path / "venv"), "HOME": str(tmp_path)}
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run([bash, str(script)], env=env, capture_output=True, text=True)


def test_setup_takes_the_python_that_satisfies_every_pin(tmp_path: Path) -> None:
    bin_, log = fake_image(
        tmp_path, {"python3": "3.10", "python3.11": "3.11", "python3.12": "3.12"}
    )
    done = setup(tmp_path, bin_)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert f"venv python3.12 {tmp_path / 'venv'}" in lines
    pins = "fastapi==0.200.0 websockets==17.4 uvicorn==0.60"
    assert lines[-1] == f"pip install /autograder/source/wsquiz.whl {pins}"
    assert not [line for line in lines if line.startswith("apt-get install -y python3.")]
    assert "python3.12 (Python 3.12) installs the stack as pinned" in done.stdout
    assert "warning" not in done.stderr


def test_setup_installs_a_newer_python_from_the_distribution(tmp_path: Path) -> None:
    bin_, log = fake_image(tmp_path, {"python3": "3.10"}, offers="python3.12 python3.12-venv")
    done = setup(tmp_path, bin_)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert "apt-get install -y python3.12 python3.12-venv" in lines
    assert f"venv python3.12 {tmp_path / 'venv'}" in lines
    assert lines[-1].endswith("fastapi==0.200.0 websockets==17.4 uvicorn==0.60")


def test_setup_leaves_out_the_pins_an_older_python_cannot_install(tmp_path: Path) -> None:
    """Ubuntu 22.04: Python 3.10 only, no newer one offered."""
    bin_, log = fake_image(tmp_path, {"python3": "3.10", "python3.10": "3.10"})
    done = setup(tmp_path, bin_)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert f"venv python3.10 {tmp_path / 'venv'}" in lines
    assert lines[-1] == "pip install /autograder/source/wsquiz.whl websockets==17.4"
    flat = " ".join(done.stderr.split())
    assert "warning: no Python >= 3.12 here" in flat
    assert "without fastapi==0.200.0 uvicorn==0.60" in flat


def test_setup_says_so_when_no_python_can_run_wsquiz(tmp_path: Path) -> None:
    bin_, log = fake_image(tmp_path, {"python3": "3.8"})
    done = setup(tmp_path, bin_)
    assert done.returncode == 1
    assert "error: no Python >= 3.10 in this image, which wsquiz needs" in done.stderr
    assert "fix: choose a newer base image" in done.stderr
    assert not [line for line in log.read_text().splitlines() if line.startswith(("venv", "pip"))]


def test_the_built_setup_pins_the_stack_with_the_python_it_needs(tmp_path: Path) -> None:
    from importlib.metadata import metadata, version

    built = build("echo-loop", tmp_path / "ag")
    text = built.setup.read_text()
    for name in ("fastapi", "starlette", "uvicorn", "websockets"):
        needs = needs_python(metadata(name)["Requires-Python"])
        assert f"\npin {name}=={version(name)} {needs[0]}.{needs[1]}\n" in text
    assert needs_python(">=3.11,<4") == (3, 11) and needs_python(None) == (3, 0)
    assert needs_python("~=3.9, !=3.9.1") == (3, 9) and needs_python(">3.10") == (3, 11)
