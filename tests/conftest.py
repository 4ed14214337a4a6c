"""Shared fixtures for the whole suite."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_DIR.parent / "shared"
FIXTURES_DIR = SHARED_DIR / "fixtures" / "anchor-etl"


@pytest.fixture(scope="session")
def anchor_fixtures() -> Path:
    """The original's ETL golden data, read in place from ../shared (never copied into the project)."""
    if not FIXTURES_DIR.is_dir():
        pytest.fail(f"The golden fixtures are missing: expected {FIXTURES_DIR}")
    return FIXTURES_DIR
