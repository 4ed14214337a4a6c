"""Writes with side effects: loading the warehouse after a processing run, scanning metadata, saving analyses."""

from __future__ import annotations

from typing import Any

from analytics.warehouse import DataState, warehouse_for


def warehouse_refresh(*, project: Any) -> DataState:
    """Loads the project's processed data into its warehouse (DuckDB: rebuild from the lake and swap in) and
    rescans its metadata.
    Called as a step of each successful processing run; safe to call twice."""
    from analytics.metadata import metadata_scan

    warehouse = warehouse_for(project)
    zones = dict(project.apps.values_list("app_id", "timezone"))
    state = warehouse.load(app_ids=list(zones), timezones=zones)
    metadata_scan(project=project, warehouse=warehouse)
    return state
