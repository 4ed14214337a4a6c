"""The local warehouse: one DuckDB database file per project, loaded from the lake's Parquet after each run.

A load builds a new database file beside the current one and swaps it in with a rename, under an exclusive
file lock, so there is never more than one writer and readers are never blocked: a reader opens the current
file read-only and keeps the inode it opened even while a newer file replaces it. Tables live in one schema
per app (as in Redshift); rows are de-duplicated on load (events by event_id + timestamp, keeping the latest
load; users keep their latest row; sessions prefer a known, non-Direct source — spec/analytics.md §1.3). Each
app also gets `event_enriched` (analytics/base.py), built once per load in the app's time zone and clustered by
day, which every dashboard and explore query reads, and its roll-ups (`user_day`, `session_day`, `event_day`,
`page_day`, ordered by day), which the dashboards read.

The file records the `LAYOUT` it was built with: a file of another layout (built before a table or column the
queries read existed) is rebuilt from the lake when first opened, in the zones it was built in.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings
from sqlglot import exp

from analytics.base import (
    EVENT_KEYS,
    ROLLUPS,
    SESSION_KEYS,
    USER_KEYS,
    count_unique_events,
    enriched_sql,
    stored_rollup_sql,
)
from analytics.sample import table_schema
from analytics.sql import ENRICHED, TABLE_NAMES, Params, Query
from analytics.warehouse import DataState, NoData, QueryTimeout, Warehouse, WarehouseError

APP_DIR = re.compile(r"^partition_app=([A-Za-z][A-Za-z0-9_]{0,126})$")
DEDUPE = {
    "event_v2": "QUALIFY row_number() OVER (PARTITION BY event_id, event_timestamp ORDER BY created_time DESC) = 1",
    "user_v2": "QUALIFY row_number() OVER (PARTITION BY user_pseudo_id ORDER BY event_timestamp DESC,"
    " created_time DESC) = 1",
    "session": "QUALIFY row_number() OVER (PARTITION BY user_pseudo_id, session_id ORDER BY CASE WHEN"
    " session_source IS NOT NULL AND session_source <> 'Direct' THEN 0 WHEN session_source = 'Direct' THEN 1"
    " ELSE 2 END, created_time DESC) = 1",
    "item_v2": "QUALIFY row_number() OVER (PARTITION BY user_pseudo_id, event_id, item_id, event_timestamp"
    " ORDER BY created_time DESC) = 1",
}


def warehouse_dir() -> Path:
    """`var/warehouse/` beside the lake directory."""
    return Path(settings.CLICKSTREAM_LAKE_DIR).parent / "warehouse"


def ods_dir(project_id: str) -> Path:
    return Path(settings.CLICKSTREAM_LAKE_DIR) / "clickstream" / project_id / "data" / "ods"


def lake_fingerprint(project_id: str) -> str:
    """Changes whenever a Parquet file of the project is added, removed or rewritten."""
    digest = hashlib.sha256()
    for path in sorted(ods_dir(project_id).rglob("*.parquet")):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


LAYOUT = 4  # bump whenever a load builds other tables or columns than before (1: before roll-ups and `_apps`;
# 2: before `session_key`, `event_day`, `page_day`; 3: before `user_day.day_row` and `event_key`, with a `tz` per roll-up row)
_connections: dict[str, tuple[int, duckdb.DuckDBPyConnection]] = {}
_connections_guard = threading.RLock()
_states: dict[str, tuple[int, DataState]] = {}


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"
    stores_enriched = True

    @property
    def path(self) -> Path:
        return warehouse_dir() / f"{self.project_id}.duckdb"

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def load(self, app_ids: list[str] | None = None, *, timezones: dict[str, str] | None = None) -> DataState:
        """Builds the database from the lake (every app found there) and swaps it in. Safe to call at any
        time, by any process. `timezones`: each app's reporting zone (UTC when not given)."""
        with self._writer_lock():
            fresh = self.path.with_suffix(".duckdb.new")
            fresh.unlink(missing_ok=True)
            version = lake_fingerprint(self.project_id)
            con = duckdb.connect(str(fresh))
            try:
                con.execute("SET TimeZone = 'UTC'")
                apps = self._apps()
                for app_id in apps:
                    con.execute(f'CREATE SCHEMA "{app_id}"')
                    for table in sorted(TABLE_NAMES):
                        self._load_table(con, app_id, table)
                    self._build_enriched(con, app_id, (timezones or {}).get(app_id, "UTC"))
                    self._build_rollups(con, app_id)
                con.execute(
                    "CREATE TABLE _load AS SELECT CAST($v AS VARCHAR) AS version, CAST($t AS TIMESTAMP) AS loaded_at,"
                    " CAST($l AS INTEGER) AS layout",
                    {"v": version, "t": datetime.now(UTC).replace(tzinfo=None), "l": LAYOUT},
                )
                con.execute("CREATE TABLE _apps (app_id VARCHAR, timezone VARCHAR)")
                for app_id in apps:
                    con.execute(
                        "INSERT INTO _apps VALUES ($a, $z)",
                        {"a": app_id, "z": (timezones or {}).get(app_id, "UTC")},
                    )
                con.execute("CREATE TABLE _latest (app_id VARCHAR, latest TIMESTAMP)")
                for app_id in apps:
                    con.execute(
                        f'INSERT INTO _latest SELECT $a, max(event_timestamp) FROM "{app_id}".event_v2',
                        {"a": app_id},
                    )
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(fresh, self.path)
        return self.state()

    def _apps(self) -> list[str]:
        found = set()
        for table in TABLE_NAMES:
            folder = ods_dir(self.project_id) / table
            if folder.is_dir():
                found |= {m.group(1) for d in folder.iterdir() if (m := APP_DIR.match(d.name))}
        return sorted(found)

    def _load_table(self, con: duckdb.DuckDBPyConnection, app_id: str, table: str) -> None:
        folder = ods_dir(self.project_id) / table / f"partition_app={app_id}"
        target = f'"{app_id}".{table}'
        if not any(folder.rglob("*.parquet")):
            con.register(
                "empty_source", pa.table({f.name: pa.array([], f.type) for f in table_schema(table)})
            )
            con.execute(f"CREATE TABLE {target} AS SELECT * REPLACE ({self._casts(table)}) FROM empty_source")
            con.unregister("empty_source")
            return
        # De-duplicated on the few columns the rule reads, then the kept rows read whole: a window over every
        # column of a wide table (maps included) costs many times more.
        source = (
            "read_parquet($glob, hive_partitioning = true, union_by_name = true, filename = true,"
            " file_row_number = true)"
        )
        con.execute(
            f"CREATE TABLE {target} AS SELECT * EXCLUDE (partition_app, partition_year, partition_month,"
            f" partition_day, filename, file_row_number) REPLACE ({self._casts(table)}) FROM {source}"
            f" SEMI JOIN (SELECT filename, file_row_number FROM {source} {DEDUPE[table]}) AS keep"
            " USING (filename, file_row_number)",
            {"glob": str(folder / "**" / "*.parquet")},
        )

    def _build_enriched(self, con: duckdb.DuckDBPyConnection, app_id: str, timezone: str) -> None:
        """The join every query starts from, once per load: one row per event id. Rows stay in the order read,
        which is by day (the lake's files are per day, read whole), so zone maps prune a date range without the
        cost of sorting every column. Each merged user id gets its dense integer `user_key` first, each session
        id its `session_key`, and each event id its `event_key` (analytics/base.py)."""
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {USER_KEYS} AS SELECT merged_user_id, CAST(row_number() OVER (ORDER BY"
            " merged_user_id) AS INTEGER) AS user_key FROM (SELECT DISTINCT COALESCE(u.user_id, e.user_pseudo_id)"
            f' AS merged_user_id FROM "{app_id}".event_v2 AS e LEFT JOIN "{app_id}".user_v2 AS u'
            " ON u.user_pseudo_id = e.user_pseudo_id)"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {SESSION_KEYS} AS SELECT user_pseudo_id, session_id, CAST(row_number()"
            " OVER (ORDER BY user_pseudo_id, session_id) AS INTEGER) AS session_key FROM (SELECT DISTINCT"
            f' user_pseudo_id, session_id FROM "{app_id}".event_v2 WHERE session_id IS NOT NULL)'
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {EVENT_KEYS} AS SELECT event_id, CAST(row_number() OVER (ORDER BY"
            f' event_id) AS BIGINT) AS event_key FROM (SELECT DISTINCT event_id FROM "{app_id}".event_v2)'
        )
        params = Params()
        query = Query.parse(ENRICHED, enriched_sql(params.bind(timezone)), params)
        rendered = query.render(self.dialect, self.scope(query, app_id=app_id))
        con.execute(
            f'CREATE TABLE "{app_id}".{ENRICHED} AS {rendered.sql} WHERE e.rowid IN (SELECT rowid FROM'
            f' "{app_id}".event_v2 QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY event_timestamp DESC)'
            " = 1)",
            rendered.params,
        )
        con.execute(f"DROP TABLE {USER_KEYS}")
        con.execute(f"DROP TABLE {SESSION_KEYS}")
        con.execute(f"DROP TABLE {EVENT_KEYS}")

    def _build_rollups(self, con: duckdb.DuckDBPyConnection, app_id: str) -> None:
        """The roll-ups (analytics/base.py `ROLLUPS`) from the stored `event_enriched`, ordered by day so zone
        maps prune a range."""
        for rollup in ROLLUPS.values():
            query = Query.parse(rollup.name, stored_rollup_sql(rollup), Params())
            rendered = query.render(self.dialect, self.scope(query, app_id=app_id))
            con.execute(
                f'CREATE TABLE "{app_id}".{rollup.name} AS {rendered.sql} ORDER BY event_date',
                rendered.params,
            )

    def scope(self, query: Query, *, app_id: str) -> exp.Expression:
        """As for every engine, and: an event id is one row of `event_enriched` here (an id is one event, whatever
        its timestamps), so distinct counts of ids over `base` become plain counts."""
        return count_unique_events(super().scope(query, app_id=app_id))

    @staticmethod
    def _casts(table: str) -> str:
        """Timestamps as plain UTC TIMESTAMP (Spark writes them as instants), the type every engine shares."""
        names = [n for n, kind in table_schema_columns(table) if kind == "timestamp"]
        return ", ".join(f"CAST({n} AS TIMESTAMP) AS {n}" for n in names)

    def state(self) -> DataState:
        """Read from the file once per file (a load swaps in a new file, with a new inode)."""
        try:
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            return DataState(version="empty")
        known = _states.get(str(self.path))
        if known is not None and known[0] == inode:
            return known[1]
        con = self._connection()
        version, loaded_at = con.execute("SELECT version, loaded_at FROM _load").fetchone()  # type: ignore[misc]
        latest = dict(con.execute("SELECT app_id, latest FROM _latest").fetchall())
        zones = dict(con.execute("SELECT app_id, timezone FROM _apps").fetchall())
        state = DataState(version=version, latest_event=latest, loaded_at=loaded_at, zones=zones)
        _states[str(self.path)] = (inode, state)
        return state

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the current file, reopened when a load has swapped in a newer one."""
        try:
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            raise NoData("No data has been loaded for this project yet.") from None
        with _connections_guard:  # re-entrant: a rebuild's own reads come back here
            known = _connections.get(str(self.path))
            if known is None or known[0] != inode:
                con = duckdb.connect(str(self.path), read_only=True)
                con.execute("SET TimeZone = 'UTC'")
                zones = self._stale_layout(con)
                if zones is not None:
                    con.close()
                    self.load(timezones=zones)  # registers the rebuilt file's connection (via `state`)
                    return self._connection()
                _connections[str(self.path)] = (inode, con)
                if known is not None:
                    known[1].close()
            return _connections[str(self.path)][1].cursor()

    @staticmethod
    def _stale_layout(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
        """None when the file is of the current `LAYOUT`; else each app's zone it was built in (what to rebuild
        with): from `_apps`, or in an older file from the zone stored in its `event_enriched`."""
        columns = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = '_load'"
            ).fetchall()
        }
        if "layout" in columns and con.execute("SELECT layout FROM _load").fetchone() == (LAYOUT,):
            return None
        tables = {
            (r[0], r[1])
            for r in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        }
        if ("main", "_apps") in tables:
            return dict(con.execute("SELECT app_id, timezone FROM _apps").fetchall())  # type: ignore[arg-type]
        zones = {}
        for schema, table in sorted(tables):
            if table == ENRICHED:
                found = con.execute(f'SELECT any_value(tz) FROM "{schema}".{ENRICHED}').fetchone()
                zones[schema] = (found[0] if found else None) or "UTC"
        return zones

    def _execute(self, sql: str, params: Any, *, query: Query) -> tuple[list[str], list[tuple]]:
        con = self._connection()
        timer = threading.Timer(self.timeout_seconds, con.interrupt)
        timer.start()
        try:
            cursor = con.execute(sql, params)
            columns = [d[0] for d in cursor.description or []]
            return columns, cursor.fetchall()
        except duckdb.InterruptException:
            raise QueryTimeout(
                f"{query.name}: cancelled after {self.timeout_seconds:g} s; narrow the date range or filters."
            ) from None
        except duckdb.Error as exc:
            raise WarehouseError(f"{query.name}: {str(exc).splitlines()[0]}") from exc
        finally:
            timer.cancel()
            con.close()


def table_schema_columns(table: str) -> list[tuple[str, str]]:
    from etl.model import TABLES

    return list(TABLES[table])
