"""A Gradescope autograder for one exercise: `setup.sh`, `run_autograder`, and the zip of both.

Gradescope builds an image with `setup.sh` once, then for each submission runs
`run_autograder`, which must write `/autograder/results/results.json`. Ours installs this
wsquiz (shipped in the zip as a wheel) in a virtual environment and grades
`/autograder/submission` with `wsquiz grade --single`.
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from wsquiz._support.files import write_atomic
from wsquiz.errors import UsageError

SOURCE = "/autograder/source"
VENV = "/opt/wsquiz"

# Built for a Python that satisfies the pins: the first of PYTHONS that exists (or that the
# distribution can install) and is new enough; else the newest wsquiz runs on, each pin that
# Python cannot install left out (pip then picks what it can); else a clear error.
SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
VENV="${{WSQUIZ_VENV:-{venv}}}"
PYTHONS="{pythons}"
WSQUIZ_NEEDS={wsquiz_needs}  # the Python wsquiz itself needs
STACK_NEEDS={stack_needs}  # the Python the pinned stack needs (the pins' Requires-Python)
PINS=()
NEEDS=()
pin() {{ PINS+=("$1"); NEEDS+=("$2"); }}
# the server stack this autograder was built with, and the Python each version needs
{pins}
say() {{ echo "setup.sh: $*"; }}
at_least() {{  # at_least 3.12 3.11: is the first version >= the second?
    local a_major=${{1%%.*}} a_minor=${{1#*.}} b_major=${{2%%.*}} b_minor=${{2#*.}}
    (( a_major > b_major || (a_major == b_major && a_minor >= b_minor) ))
}}
pick() {{  # the first of PYTHONS found whose version is at least $1: "name version"
    local candidate version
    for candidate in $PYTHONS; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        version=$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' \
            2>/dev/null) || continue
        if at_least "$version" "$1"; then echo "$candidate $version"; return 0; fi
    done
    return 1
}}
if command -v apt-get >/dev/null 2>&1; then
    apt-get update
    apt-get install -y python3 python3-venv python3-pip
fi
found=$(pick "$STACK_NEEDS") || found=""
if [ -z "$found" ] && command -v apt-get >/dev/null 2>&1; then
    for candidate in $PYTHONS; do  # a newer Python from the distribution, if it has one
        case "$candidate" in python3.*) ;; *) continue ;; esac
        at_least "${{candidate#python}}" "$STACK_NEEDS" || continue
        if apt-get install -y "$candidate" "$candidate-venv"; then break; fi
    done
    found=$(pick "$STACK_NEEDS") || found=""
fi
chosen=()
if [ -n "$found" ]; then
    python=${{found% *}} version=${{found#* }}
    chosen=("${{PINS[@]}}")
    say "$python (Python $version) installs the stack as pinned (it needs Python >= $STACK_NEEDS)"
else
    found=$(pick "$WSQUIZ_NEEDS") || {{
        say "error: no Python >= $WSQUIZ_NEEDS in this image, which wsquiz needs" \
            "(looked for: $PYTHONS; the distribution offered none)" >&2
        say "fix: choose a newer base image for the autograder (Ubuntu 24.04 has Python 3.12)" >&2
        exit 1
    }}
    python=${{found% *}} version=${{found#* }}
    unpinned=()
    for i in "${{!PINS[@]}}"; do
        if at_least "$version" "${{NEEDS[$i]}}"; then chosen+=("${{PINS[$i]}}")
        else unpinned+=("${{PINS[$i]}}"); fi
    done
    say "warning: no Python >= $STACK_NEEDS here, which the pinned stack needs;" \
        "$python (Python $version) installs it without ${{unpinned[*]}}: pip picks the" \
        "versions this Python can install, so the image may observe other versions" >&2
fi
"$python" -m venv "$VENV"
"$VENV"/bin/pip install --upgrade pip
"$VENV"/bin/pip install {install} ${{chosen[@]+"${{chosen[@]}}"}}
"$VENV"/bin/wsquiz exercise list >/dev/null 2>&1 || true
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


PYTHONS = ("python3.14", "python3.13", "python3.12", "python3.11", "python3.10", "python3")


def needs_python(requires: str | None) -> tuple[int, int]:
    """The lowest Python a `Requires-Python` allows (`>=3.11,<4` gives 3.11; none: 3.0)."""
    found = [(3, 0)]
    for operator, major, minor in re.findall(r"(>=|~=|==|>)\s*(\d+)\.(\d+)", requires or ""):
        found.append((int(major), int(minor) + (operator == ">")))
    return max(found)


def _needs(name: str) -> tuple[int, int]:
    try:
        return needs_python(metadata.metadata(name)["Requires-Python"])
    except metadata.PackageNotFoundError:
        return (3, 0)


def stack_pins() -> list[tuple[str, tuple[int, int]]]:
    """The server stack this wsquiz runs on here, pinned (the image observes what you tried),
    each with the Python its version needs."""
    from wsquiz.learn.judge import installed_versions

    return [
        (f"{name}=={version}", _needs(name))
        for name, version in installed_versions()
        if version[0].isdigit()
    ]


def _version(numbers: tuple[int, int]) -> str:
    return f"{numbers[0]}.{numbers[1]}"


def setup_script(
    install: str, pins: list[tuple[str, tuple[int, int]]], wsquiz_needs: tuple[int, int]
) -> str:
    """`setup.sh`: installs `install` and the `pins` with a Python they can run on."""
    stack = max([wsquiz_needs, *(needs for _, needs in pins)])
    return SETUP.format(
        venv=VENV,
        pythons=" ".join(PYTHONS),
        wsquiz_needs=_version(wsquiz_needs),
        stack_needs=_version(stack),
        pins="\n".join(f"pin {shlex.quote(p)} {_version(needs)}" for p, needs in pins),
        install=shlex.quote(install),
    )


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
            write_atomic(target, local.read_bytes())
        shipped.append(target)
        requirement = f"{SOURCE}/{local.name}"

    content_option = ""
    if root is not None and found.folder is not None:
        course = out / "course"
        shutil.rmtree(course, ignore_errors=True)
        shutil.copytree(found.folder, course / "exercises" / found.folder.name)
        shipped.append(course)
        content_option = f" --content {SOURCE}/course"

    script = setup_script(requirement, stack_pins(), _needs("wsquiz"))
    setup = write_atomic(out / "setup.sh", script, mode=0o777)
    run = write_atomic(
        out / "run_autograder",
        RUN.format(venv=VENV, exercise=shlex.quote(found.name), content=content_option),
        mode=0o777,
    )

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in (setup, run, *shipped):
            for file in [path] if path.is_file() else sorted(path.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    info = zipfile.ZipInfo(str(file.relative_to(out)))
                    info.external_attr = (0o755 if file in (setup, run) else 0o644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, file.read_bytes())
    zip_path = write_atomic(out / "autograder.zip", packed.getvalue())
    installs = requirement if install else f"this wsquiz ({shipped[0].name}, in the zip)"
    return Built(folder=out, setup=setup, run=run, zip_path=zip_path, installs=installs)
