"""Shared test switches and fixtures.

Golden files: `pytest --update-goldens` (or DIGEST_UPDATE_GOLDENS=1) rewrites them; review
the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(__file__).resolve().parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens", action="store_true", help="rewrite golden files from current output"
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(
        request.config.getoption("--update-goldens") or os.environ.get("DIGEST_UPDATE_GOLDENS")
    )


@pytest.fixture
def golden(update_goldens: bool):
    """golden(name, actual): compare `actual` with tests/golden/<name>, or rewrite it."""
    base = Path(__file__).resolve().parent / "golden"

    def check(name: str, actual: str) -> None:
        path = base / name
        if update_goldens or not path.exists():
            if not update_goldens and os.environ.get("CI"):
                pytest.fail(f"golden file {name} is missing; run pytest --update-goldens")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{name} differs from its golden file (pytest --update-goldens)"

    return check
