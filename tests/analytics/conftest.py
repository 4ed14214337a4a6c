"""Generated events in a lake of the test's own, loaded into the DuckDB warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from analytics.sample import Sample, sample_write
from analytics.warehouse.duckdb import DuckDBWarehouse

# A fixed "now": the last generated event is before it, and the test ranges end on its (UTC) day.
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def lake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("analytics") / "lake"


@pytest.fixture(scope="session")
def generated(lake_root: Path) -> Sample:
    """One project `shop`, app `web`: 300 users over 21 days, every platform."""
    return sample_write(lake_dir=lake_root, project_id="shop", app_id="web", users=300, days=21, end=NOW)


@pytest.fixture
def warehouse(settings, lake_root: Path, generated: Sample) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    settings.CLICKSTREAM_LAKE_DIR = lake_root
    wh = DuckDBWarehouse(project_id="shop")
    if not wh.path.exists():
        wh.load(
            timezones={"web": "America/New_York"}
        )  # the dashboards' zone; explore's (Tokyo) converts per row
    return SimpleNamespace(warehouse=wh, sample=generated)
