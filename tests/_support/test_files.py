"""The atomic write: never through a file or link it did not make, all of a folder or none."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wsquiz._support.files import open_folder, write_all, write_atomic

STUDENT = 65534  # nobody: the owner of what a student plants


def plant(link: Path, target: Path) -> None:
    """A symbolic link as another user would leave it (owned by them when we may say so)."""
    link.symlink_to(target)
    if os.geteuid() == 0:
        os.lchown(link, STUDENT, STUDENT)


def shared(folder: Path, mode: int = 0o777) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(mode)
    return folder


def test_writes_atomically_and_creates_the_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "grades.csv"
    assert write_atomic(target, "x,y\n") == target
    assert target.read_text() == "x,y\n"
    write_atomic(target, b"z\n")
    assert target.read_bytes() == b"z\n"
    assert sorted(os.listdir(target.parent)) == ["grades.csv"]  # no temporary left behind


def test_a_link_planted_under_the_destinations_name_is_replaced_not_written_through(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("the instructor's file")
    out = shared(tmp_path / "out")
    plant(out / "alice.json", victim)
    plant(out / ".alice.json.partial", victim)  # where the old grader wrote first
    write_atomic(out / "alice.json", "{}")
    assert victim.read_text() == "the instructor's file"
    assert not (out / "alice.json").is_symlink() and (out / "alice.json").read_text() == "{}"


def test_a_planted_link_to_a_folder_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (elsewhere / "passwd.json").write_text("keep")
    out = shared(tmp_path / "out")
    plant(out / "sub", elsewhere)
    with pytest.raises(OSError, match="a symbolic link in a folder others can write to"):
        write_atomic(out / "sub" / "passwd.json", "{}")
    assert (elsewhere / "passwd.json").read_text() == "keep"
    assert os.listdir(elsewhere) == ["passwd.json"]


def test_links_of_our_own_in_folders_of_our_own_are_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to("real")  # relative, in a folder only we write to
    write_atomic(tmp_path / "alias" / "deep" / "f.txt", "ok")
    assert (real / "deep" / "f.txt").read_text() == "ok"
    sticky = shared(tmp_path / "tmp", 0o1777)  # as /tmp: others write, nobody replaces ours
    (sticky / "mine").symlink_to(real)
    write_atomic(sticky / "mine" / "g.txt", "ok")
    assert (real / "g.txt").read_text() == "ok"
    os.close(open_folder(tmp_path / "alias", create=False))


def test_a_secret_is_created_readable_by_us_alone(tmp_path: Path) -> None:
    path = write_atomic(tmp_path / "tokens.json", "{}", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_all_the_files_or_none(tmp_path: Path) -> None:
    out = shared(tmp_path / "out")
    (out / "carol.json").mkdir()  # in the way: nothing may take its place
    with pytest.raises(IsADirectoryError, match="a folder is in the way"):
        write_all(out, {"alice.json": "1", "bob.json": "2", "carol.json": "3"})
    assert os.listdir(out) == ["carol.json"]
    with pytest.raises(OSError, match="longer than 255 bytes"):
        write_all(out, {"alice.json": "1", "é" * 200 + ".json": "2"})
    assert os.listdir(out) == ["carol.json"]
    for bad in ("../x", "", ".."):
        with pytest.raises(OSError, match="not a file name"):
            write_all(out, {bad: "1"})
    assert [p.name for p in write_all(out, {"alice.json": "1", "bob.json": "2"})] == [
        "alice.json",
        "bob.json",
    ]
