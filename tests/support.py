"""Paths the tests share: the checkout, the bundled course's apps, the miniature course."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "quizzes" / "apps"
FIXTURE = ROOT / "tests" / "fixtures" / "course"
