"""A Gradescope autograder for one exercise: `setup.sh`, `run_autograder`, and the zip of both.

Gradescope builds an image with `setup.sh` once, then for each submission runs
`run_autograder`, which must write `/autograder/results/results.json`. Ours installs this
wsquiz (shipped in the zip as a wheel) in a virtual environment and grades
`/autograder/submission` with `wsquiz grade --single`.
"""

from __future__ import annotations

import shlex
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from wsquiz.errors import UsageError

SOURCE = "/autograder/source"
VENV = "/opt/wsquiz"

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y python3 python3-venv python3-pip
python3 -m venv {venv}
{venv}/bin/pip install --upgrade pip
{venv}/bin/pip install {install}{pins}
{venv}/bin/wsquiz exercise list >/dev/null 2>&1 || true
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades /autograder/submission live
# (each check against the student's own server, sandboxed) and writes results.json.
set -uo pipefail
export WSQUIZ_HOME=/autograder/wsquiz-home
RESULTS=/autograder/results/results.json
mkdir -p /autograder/results
{venv}/bin/wsquiz grade /autograder/submission --single --student submission \\
    --exercise {exercise}{content} --jobs 1 \\
    --db /autograder/results/gradebook.sqlite \\
    --format gradescope --out "$RESULTS"
status=$?
if [ ! -s "$RESULTS" ]; then
    cat > "$RESULTS" <<JSON
{{"score": 0, "tests": [],
 "output": "The autograder could not grade this submission (wsquiz exited with $status)."}}
JSON
fi
exit 0
"""


@dataclass(frozen=True)
class Built:
    folder: Path
    setup: Path
    run: Path
    zip_path: Path
    installs: str  # what setup.sh pip-installs


def _pins() -> str:
    """The server stack this wsquiz runs on here, pinned: the image observes what you tried."""
    from wsquiz.learn.judge import installed_versions

    found = [f"{name}=={version}" for name, version in installed_versions() if version[0].isdigit()]
    return "".join(f" {shlex.quote(pin)}" for pin in found)


def build(
    exercise: str,
    out: Path,
    *,
    install: str | None = None,
    content: Path | None = None,
) -> Built:
    """Write the autograder for `exercise` into `out` (and `out/autograder.zip`)."""
    from wsquiz._support.paths import content_root
    from wsquiz.course.exercises import find_exercise

    root = content_root(content) if content is not None else None
    found = find_exercise(exercise, root)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: not a folder", fix="give --out a folder (it is created)")
    out.mkdir(parents=True, exist_ok=True)
    shipped: list[Path] = []

    if install is None:  # this very wsquiz, shipped in the zip: no package index needed
        from wsquiz.grading.wheel import build_wheel

        for stale in out.glob("wsquiz-*.whl"):
            stale.unlink()
        wheel = build_wheel(out)
        shipped.append(wheel)
        requirement = f"{SOURCE}/{wheel.name}"
    else:
        requirement = install
    local = Path(requirement).expanduser()
    if install and local.is_file():
        target = out / local.name
        if local.resolve() != target.resolve():
            shutil.copyfile(local, target)
        shipped.append(target)
        requirement = f"{SOURCE}/{local.name}"

    content_option = ""
    if root is not None and found.folder is not None:
        course = out / "course"
        shutil.rmtree(course, ignore_errors=True)
        shutil.copytree(found.folder, course / "exercises" / found.folder.name)
        shipped.append(course)
        content_option = f" --content {SOURCE}/course"

    setup = out / "setup.sh"
    setup.write_text(SETUP.format(venv=VENV, install=shlex.quote(requirement), pins=_pins()))
    run = out / "run_autograder"
    run.write_text(RUN.format(venv=VENV, exercise=shlex.quote(found.name), content=content_option))
    for script in (setup, run):
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    zip_path = out / "autograder.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in (setup, run, *shipped):
            for file in [path] if path.is_file() else sorted(path.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    info = zipfile.ZipInfo(str(file.relative_to(out)))
                    info.external_attr = (0o755 if file in (setup, run) else 0o644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, file.read_bytes())
    installs = requirement if install else f"this wsquiz ({shipped[0].name}, in the zip)"
    return Built(folder=out, setup=setup, run=run, zip_path=zip_path, installs=installs)
