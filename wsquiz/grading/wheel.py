"""This wsquiz as a wheel, so an autograder image installs the very version that wrote it.

Built from the running installation (a wheel's package and course, or a source checkout's
package with the course beside it) and the installed distribution's metadata; no build tools.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from importlib import metadata
from pathlib import Path

from wsquiz._support.files import write_atomic
from wsquiz._support.paths import CONTENT_DIRS, PACKAGE, bundled_root
from wsquiz.errors import UsageError

WHEEL = "Wheel-Version: 1.0\nGenerator: wsquiz\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _files_under(folder: Path, prefix: str) -> dict[str, Path]:
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}": path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def _digest(data: bytes) -> str:
    raw = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={raw.decode()}"


def build_wheel(folder: Path) -> Path:
    """Write `wsquiz-<version>-py3-none-any.whl` into `folder`; returns its path."""
    try:
        dist = metadata.distribution("wsquiz")
    except metadata.PackageNotFoundError:
        raise UsageError(
            "wsquiz is not installed as a package here, so it cannot ship itself",
            fix="install it (`pip install .`), or pass --install with a requirement or a wheel",
        ) from None
    version = dist.version
    info = f"wsquiz-{version}.dist-info"
    sources = _files_under(PACKAGE, "wsquiz")
    if not (PACKAGE / "_content").is_dir():  # a source checkout: the course lies beside it
        for name in CONTENT_DIRS:
            sources.update(_files_under(bundled_root() / name, f"wsquiz/_content/{name}"))
    contents = {name: path.read_bytes() for name, path in sources.items()}
    meta = (
        dist.read_text("METADATA") or f"Metadata-Version: 2.1\nName: wsquiz\nVersion: {version}\n"
    )
    contents[f"{info}/METADATA"] = meta.encode()
    contents[f"{info}/WHEEL"] = WHEEL.encode()
    entry_points = dist.read_text("entry_points.txt")
    if entry_points:
        contents[f"{info}/entry_points.txt"] = entry_points.encode()
    record = [f"{name},{_digest(data)},{len(data)}" for name, data in contents.items()]
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return write_atomic(folder / f"wsquiz-{version}-py3-none-any.whl", packed.getvalue())
