"""Fixtures of the grading tests."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def mark() -> str:
    """A name for a hostile submission's processes (`prctl(PR_SET_NAME)`), to find leftovers."""
    return f"wsqh{uuid.uuid4().hex[:8]}"
