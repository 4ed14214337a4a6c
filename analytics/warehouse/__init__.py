"""Warehouse adapters behind one interface: DuckDB over the local lake, Athena, Redshift (Data API).

A warehouse runs a `Query` (analytics/sql.py) for one app and returns rows. Results are cached per (query,
data version): a repeat after no new load is served from the cache, and identical queries running at the same
time run once. The data version changes with every load, so a cached result is never stale.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.core.cache import caches
from sqlglot import exp

from analytics.sql import ENRICHED, SCOPED_TABLES, Query, Rendered

DEFAULT_TIMEOUT_SECONDS = 60.0


class WarehouseError(Exception):
    """A query failed in the engine; the message names the query (step) and the engine's reason."""


class QueryTimeout(WarehouseError):
    """A query ran past the configured timeout and was cancelled."""


class NoData(WarehouseError):
    """Nothing has been loaded for this project yet."""


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    elapsed_ms: float = 0.0
    cached: bool = False

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class DataState:
    """What is loaded: a version (changes with every load) and, per app, the time of its latest event and (on
    engines that store `event_enriched`) the zone its local days are stored in."""

    version: str
    latest_event: dict[str, datetime | None] = field(default_factory=dict)
    loaded_at: datetime | None = None
    zones: dict[str, str] = field(default_factory=dict)  # per app: the zone its stored roll-ups are in


_inflight: dict[str, threading.Lock] = {}
_rendered: dict[tuple[str, str, str], Rendered] = {}  # (engine, query text, app) → text; shapes are few
_inflight_guard = threading.Lock()


class Warehouse(ABC):
    """One project's warehouse. Subclasses set `dialect` and implement `_execute` and `state`."""

    dialect: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    stores_enriched = (
        False  # True: `event_enriched` and its roll-ups are tables of their own, built by `load`
    )

    def __init__(self, *, project_id: str) -> None:
        self.project_id = project_id

    def state(self) -> DataState:
        """The version recorded by the last load (`mark_loaded`); engines that load themselves override it."""
        recorded = caches["default"].get(f"analytics:state:{self.dialect}:{self.project_id}")
        return recorded or DataState(version="unloaded")

    def stored_zone(self, app_id: str) -> str | None:
        """The zone of the app's stored local days and roll-ups; None on engines that store none."""
        return self.state().zones.get(app_id)

    def mark_loaded(self, latest_event: dict[str, datetime | None]) -> DataState:
        """Records that new data arrived (after a processing run): cached results of older data stop matching."""
        from django.utils import timezone

        now = timezone.now()
        state = DataState(version=now.strftime("%Y%m%d%H%M%S%f"), latest_event=latest_event, loaded_at=now)
        caches["default"].set(f"analytics:state:{self.dialect}:{self.project_id}", state, timeout=None)
        return state

    def load(self, app_ids: list[str] | None = None, *, timezones: dict[str, str] | None = None) -> DataState:
        """After a processing run: the data is already in place (Glue tables, Redshift loads); read the time of
        each app's latest event and record a new data version. (`timezones`: each app's reporting zone, used
        by engines that store `event_enriched`.)"""
        from analytics.sql import Params, Query

        latest = {}
        for app_id in app_ids or []:
            query = Query.parse(
                "latest event", "SELECT max(event_timestamp) AS latest FROM event_v2", Params()
            )
            rendered = self.render(query, app_id=app_id)
            _, rows = self._execute(rendered.sql, rendered.params, query=query)
            latest[app_id] = rows[0][0] if rows else None
        return self.mark_loaded(latest)

    @abstractmethod
    def _execute(self, sql: str, params: Any, *, query: Query) -> tuple[list[str], list[tuple]]: ...

    def table(self, name: str, *, app_id: str) -> exp.Expression:
        """The relation an unqualified data-model table means for this app (a schema per app by default)."""
        return exp.to_table(f"{app_id}.{name}", dialect=self.dialect)

    def relation(self, name: str, *, app_id: str) -> exp.Expression:
        """What a scoped table name reads: `event_enriched` is its definition over the app's tables unless this
        engine stores it (queries read stored roll-ups only where they are stored: analytics/base.py)."""
        if name == ENRICHED and not self.stores_enriched:
            return self._swap(_enriched_expression(), app_id=app_id)
        return self.table(name, app_id=app_id)

    def scope(self, query: Query, *, app_id: str) -> exp.Expression:
        """The query with every data-model table replaced by this app's relation."""
        return self._swap(query.expression, app_id=app_id)

    def _swap(self, expression: exp.Expression, *, app_id: str) -> exp.Expression:
        ctes = {c.alias_or_name for c in expression.find_all(exp.CTE)}

        def swap(node: exp.Expression) -> exp.Expression:
            if (
                isinstance(node, exp.Table)
                and not node.db
                and node.name in SCOPED_TABLES
                and node.name not in ctes
            ):
                relation = self.relation(node.name, app_id=app_id)
                alias = node.alias or node.name
                if isinstance(relation, exp.Table):
                    return cast(exp.Expression, relation.as_(alias)) if alias else relation
                return exp.Subquery(this=relation, alias=exp.TableAlias(this=exp.to_identifier(alias)))
            return node

        return expression.transform(swap)

    def render(self, query: Query, *, app_id: str) -> Rendered:
        """The query's text for this engine and app; the text depends only on the query's shape, so it is
        rendered once per shape and app (values are bound separately)."""
        key = (type(self).__name__, query.text, app_id)
        cached = _rendered.get(key) if query.text else None
        if cached is None:
            cached = query.render(self.dialect, self.scope(query, app_id=app_id))
            if query.text:
                if len(_rendered) > 4096:
                    _rendered.clear()
                _rendered[key] = cached
        return cached.bind(query.params)

    def run(self, query: Query, *, app_id: str, use_cache: bool = True) -> Result:
        """Runs the query for one app, through the cache."""
        version = self.state().version
        key = f"analytics:{self.dialect}:{self.project_id}:{app_id}:{version}:{query.key}"
        cache = caches["default"]
        if use_cache and (hit := cache.get(key)) is not None:
            return Result(hit["columns"], hit["rows"], 0.0, cached=True)
        with _inflight_guard:
            lock = _inflight.setdefault(key, threading.Lock())
        with lock:  # a second identical query waits for the first and takes its result
            if use_cache and (hit := cache.get(key)) is not None:
                return Result(hit["columns"], hit["rows"], 0.0, cached=True)
            rendered = self.render(query, app_id=app_id)
            started = time.perf_counter()
            columns, rows = self._execute(rendered.sql, rendered.params, query=query)
            elapsed = (time.perf_counter() - started) * 1000
            if use_cache:
                cache.set(key, {"columns": columns, "rows": rows}, timeout=24 * 3600)
        with _inflight_guard:
            _inflight.pop(key, None)
        return Result(columns, rows, elapsed)


def _enriched_expression() -> exp.Expression:
    """`event_enriched` for engines that do not store it: the same definition, without stored local times."""
    from analytics.base import enriched_sql
    from analytics.sql import Params

    return Query.parse(ENRICHED, enriched_sql(None), Params()).expression


def warehouse_for(project: Any) -> Warehouse:
    """The project's warehouse: what its pipeline names, else DuckDB over its local lake."""
    from analytics.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse(project_id=project.project_id)
