from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test touches the real user data folder; output is plain and of fixed width."""
    monkeypatch.setenv("WSQUIZ_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("WSQUIZ_CONTENT", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")


@pytest.fixture(scope="session")
def lab() -> Iterator[object]:
    from wsquiz.engine.lab import Lab

    with Lab() as running:
        yield running


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
