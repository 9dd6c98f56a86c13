"""The classroom tests' fixtures: a store's path, and a host serving the basics quiz."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.classroom.helpers import serve_quiz
from wsquiz.classroom.host import Host


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "classroom.db"


@pytest.fixture
def quiz_host(lab: Any, db: Path) -> Iterator[Host]:
    with serve_quiz(lab, db) as host:
        yield host
