"""The DuckDB engine: one run of the job on one machine, in-process (the local runner's default).

The per-request transformation is the shared SQL of `etl/sql.py`; this module reads the raw lines, runs it,
and derives the four tables in DuckDB SQL (de-duplication, enrichment on distinct values, user state, items,
sessions, the final projection). Publishing uses the same staging folders, commit records and lake layout
as the Spark engine (`etl/job.py`), so a lake can be processed by either engine, run after run.

Memory is bounded: the run's rows live in compressed database files in a scratch folder (one per worker), and
DuckDB spills joins and aggregates to that folder past `memory_limit`, instead of growing.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import queue
import shutil
import tempfile
import threading
import zlib
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
from duckdb.func import PythonUDFType
from duckdb.sqltypes import INTEGER, VARCHAR

from etl import keys, model, sql
from etl.config import DEFAULT_RULES_DIR, JobConfig
from etl.lake import Layout
from etl.results import CORRUPT

DEFAULT_MEMORY_LIMIT = os.environ.get("CLICKSTREAM_ETL_MEMORY_LIMIT", "4GB")
# Raw text per chunk handed to the SQL at once: bounds the Python side's memory as well.
CHUNK_BYTES = 64 << 20
# Statements run at once, each on one DuckDB thread (a cursor of its own): on this kind of machine two
# single-threaded transformations take 19.4 CPU-s at 1 M events where one statement on two DuckDB threads took
# 26.3 (wall 11.0 s against 15.1). A chunk is split into this many parts, so a small run uses them all too.
WORKERS = int(os.environ.get("CLICKSTREAM_ETL_THREADS") or len(os.sched_getaffinity(0)))
# A row's id: its line number (across the run's chunks) times this, plus its event's position in the body.
# Deterministic whatever thread inserted the row, so "the first within the run" is the same run after run.
LINE_STRIDE = 1 << 32
RAW_STRUCT = json.dumps(dict.fromkeys(sql.RAW_FIELDS, "VARCHAR"))
# The plugins this engine runs; the others (gtm, sensors, third-party wheels) are Spark plugins.
ENGINE_PLUGINS = ("clickstream", "traffic", "ua", "geo")
ENGINE_TRANSFORMERS = ("clickstream",)
Progress = Callable[[int, str], None]


def engine_enrichers(names: list[str]) -> list[str]:
    """The enrichers of a plugin chain this engine runs. A chain of built-ins it knows is checked here, without
    importing the plugins (they import Spark); any other chain is checked by `etl.plugins.chain`, and refused
    with a message naming the Spark engine if it is valid there."""
    first_is_transformer = bool(names) and names[0] in ENGINE_TRANSFORMERS
    built_in = all(n in ENGINE_PLUGINS and n not in ENGINE_TRANSFORMERS for n in names[1:])
    if first_is_transformer and built_in and len(set(names)) == len(names):
        return list(names[1:])
    from etl.plugins import chain

    transformer, enrichers = chain(names)
    unsupported = [p.name for p in (transformer, *enrichers) if p.name not in ENGINE_PLUGINS]
    raise ValueError(f"plugins {', '.join(unsupported)} run on the Spark engine only (--engine spark)")


def _type(spark_type: str) -> str:
    """A model type (Spark's notation) in DuckDB's."""
    simple = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE",
              "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ", "date": "DATE"}  # fmt: skip
    if spark_type in simple:
        return simple[spark_type]
    if spark_type.startswith("map<string,"):
        return f"MAP(VARCHAR, {_type(spark_type[len('map<string,') : -1])})"
    if spark_type.startswith("struct<"):
        fields = []
        for part in spark_type[len("struct<") : -1].split(","):
            name, type_ = part.split(":")
            fields.append(f"{name} {_type(type_)}")
        return f"STRUCT({', '.join(fields)})"
    raise ValueError(f"no DuckDB type for {spark_type}")


def _truncate(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value.encode()[:limit].decode("utf-8", "ignore")


def _truncate_arrow(values: pa.Array, limits: pa.Array) -> pa.Array:
    return pa.array(
        [_truncate(v, n) for v, n in zip(values.to_pylist(), limits.to_pylist(), strict=True)], pa.string()
    )


def connect(cfg: JobConfig, scratch: Path, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    con = sql.connect(
        cfg, memory_limit=memory_limit or DEFAULT_MEMORY_LIMIT, temp_directory=str(scratch / "spill")
    )
    con.create_function(
        "truncate_utf8", _truncate_arrow, [VARCHAR, INTEGER], VARCHAR, type=PythonUDFType.ARROW
    )
    # The parts' text is stored without FSST: analysing and compressing it cost 0.26 of the 1.9 CPU-s of storing
    # 150 k events' rows (2 CPU-s at 1 M events), for 59 instead of 39 MiB on disk.
    con.execute("SET disabled_compression_methods = 'fsst'")
    return con


def _lines(data: bytes) -> list[bytes]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [line for line in data.split(b"\n") if line.strip()]


def _chunks(layout: Layout, keys: list[str]) -> Iterator[pa.Table]:
    """The raw lines of the files, as Arrow tables of (line_no, input_file_name, line), about CHUNK_BYTES
    each."""
    names: list[str] = []
    lines: list[bytes] = []
    size = start = 0
    for key in keys:
        url = layout.raw_store.url(key)
        try:
            found = _lines(layout.raw_store.read_bytes(key))
        except (OSError, EOFError, zlib.error):
            found = []  # an unreadable file has no lines; it is still committed, as Spark's reader skips it
        names += [url] * len(found)
        lines += found
        size += sum(len(x) for x in found)
        if size >= CHUNK_BYTES:
            yield _table(names, lines, start)
            start += len(lines)
            names, lines, size = [], [], 0
    if lines:
        yield _table(names, lines, start)


def _table(names: list[str], lines: list[bytes], start: int = 0) -> pa.Table:
    try:  # Arrow checks the bytes are UTF-8 (0.7 against 1.2 s of held GIL per 1 M events for a Python decode)
        text = pa.array(lines, pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:  # a line that is not UTF-8: its bad bytes replaced, as Spark's reader does
        text = pa.array([line.decode("utf-8", "replace") for line in lines], pa.string())
    return pa.table(
        {
            "line_no": pa.array(range(start, start + len(lines)), pa.int64()),
            "input_file_name": pa.array(names, pa.string()),
            "line": text,
        }
    )


def _parts(chunks: Iterator[pa.Table], n: int) -> Generator[pa.Table]:
    """Each chunk in `n` parts of about as many lines."""
    for chunk in chunks:
        size = max(1, -(-chunk.num_rows // n))
        for offset in range(0, chunk.num_rows, size):
            yield chunk.slice(offset, size)


_RAW_COLS = ", ".join(f'CASE WHEN ok THEN r."{c}" END AS "{c}"' for c in sql.RAW_FIELDS)
RAW_SELECT = f"""
SELECT line_no, input_file_name, {_RAW_COLS},
  CASE WHEN NOT ok THEN line END AS _corrupt_record
FROM (SELECT line_no, input_file_name, line, ok, CASE WHEN ok THEN from_json(line, {sql.q(RAW_STRUCT)}) END AS r
      FROM (SELECT *, starts_with(ltrim(line), '{{') AND json_valid(line) AS ok FROM lines))
"""


def transform(
    con: duckdb.DuckDBPyConnection, layout: Layout, cfg: JobConfig, keys: list[str], scratch: Path
) -> None:
    """Raw files → the view `rows` (one row per event, sql.event_sql's columns), and `events`, its kept rows
    with `row_id`. WORKERS threads each take the next part of the lines and make it a table of its own, while
    the next chunk is read: appending to one table costs more with every chunk (at 1 M events on one thread,
    23 CPU-s appending against 16 as a table per chunk).

    A part's table is kept in memory while DuckDB holds less than MEMORY_PARTS of its memory limit, and in the
    worker's database file past that (`_part_database`)."""
    query = sql.event_sql(cfg, carried=("line_no",))
    lines = _parts(_read_ahead(_chunks(layout, keys)), WORKERS)
    parts = enumerate(lines)
    taken = threading.Lock()
    tables: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    limit = _memory_limit(con)

    def work(cursor: duckdb.DuckDBPyConnection, file: str) -> None:
        try:
            while not errors:
                with taken:
                    i, part = next(parts, (0, None))
                if part is None:
                    return
                database = _part_database(cursor, file, limit)
                cursor.register("lines", part)
                cursor.execute(f"CREATE OR REPLACE TEMP VIEW raw AS {RAW_SELECT}")
                cursor.execute(f"CREATE TABLE {database}.rows_{i} AS {query}")
                cursor.unregister("lines")
                tables.append((i, database))
        except BaseException as error:  # raised again below, in the run's thread
            errors.append(error)

    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]  # type: ignore[index]
    con.execute("SET threads = 1")
    try:
        # Each worker has a database file of its own in the scratch folder, for the parts past the memory
        # kept for them: DuckDB compresses a table when its transaction commits with no other one open in that
        # database (a shared one never sees that). At 1 M events: 118 MiB on disk instead of 2.4 GiB.
        databases = [f"part_{k}" for k in range(WORKERS)]
        for database in databases:
            con.execute(f"ATTACH {sql.q(str(scratch / f'{database}.duckdb'))} AS {database}")
        workers = [threading.Thread(target=work, args=(con.cursor(), d)) for d in databases]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        con.execute(f"SET threads = {int(threads)}")
        lines.close()  # after a failure: stops the reading
    if errors:
        raise errors[0]
    if not tables:  # no lines at all: an empty table of the right shape
        con.register("lines", _table([], []))
        con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS {RAW_SELECT}")
        con.execute(f"CREATE TABLE rows_0 AS {query}")
        con.unregister("lines")
        tables.append((0, "memory"))
    con.execute(
        f"CREATE VIEW rows AS {' UNION ALL '.join(f'SELECT * FROM {d}.rows_{i}' for i, d in sorted(tables))}"
    )
    con.execute(
        f"CREATE VIEW events AS SELECT *, line_no * {LINE_STRIDE} + coalesce(pos, 0) AS row_id FROM rows "
        "WHERE status = 'ok'"
    )


# The share of DuckDB's memory limit the parts' tables may fill in memory; past it they go to the workers'
# database files. In memory, a part costs nothing more than making its rows; in a file, compressing and writing
# them cost 1.1 CPU-s more per 150 k events (1 M events: 29.5 against 37.7 CPU-s for the transformation). DuckDB
# still spills the parts held in memory to the scratch folder if the later steps need their room.
MEMORY_PARTS = 0.6
_UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50}


def _memory_limit(con: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory limit in bytes (the setting reads as "3.7 GiB")."""
    number, unit = str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0]).split()  # type: ignore[index]
    return float(number) * _UNITS[unit]


def _part_database(cursor: duckdb.DuckDBPyConnection, file: str, limit: float) -> str:
    """Where the next part's table goes: DuckDB's in-memory database while it holds less than MEMORY_PARTS of
    `limit`, else the worker's database `file`."""
    (used,) = cursor.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone() or (0,)
    return "memory" if (used or 0) < MEMORY_PARTS * limit else file


def _read_ahead(chunks: Iterator[pa.Table]) -> Generator[pa.Table]:
    """The chunks, each read in a thread while the caller works on the one before (one chunk ahead). Closing
    this iterator stops the thread."""
    ahead: queue.Queue[tuple[pa.Table | None, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            for chunk in chunks:
                ahead.put((chunk, None))
                if stop.is_set():
                    return
            ahead.put((None, None))
        except BaseException as error:  # raised again in the caller's thread
            ahead.put((None, error))

    reader = threading.Thread(target=read, name="etl-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            chunk, error = ahead.get()
            if error is not None:
                raise error
            if chunk is None:
                return
            yield chunk
    finally:
        stop.set()
        while reader.is_alive():  # unblocks a waiting `put`
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.1)


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    out: dict[str, int] = {"requests": 0}
    for status, first, n in con.execute("SELECT status, first, count(*) FROM rows GROUP BY ALL").fetchall():
        out[status] = out.get(status, 0) + n
        out["requests"] += n if first else 0
    return out


CORRUPTED_FIELDS = (
    "input_file_name",
    "rid",
    "appId",
    "ingest_time",
    "uri",
    "ip",
    "data",
    "_corrupt_record",
    "event",
)


def corrupted(con: duckdb.DuckDBPyConnection, cfg: JobConfig) -> list[dict[str, Any]]:
    """The corrupted records, as Spark writes them (null fields left out), anonymised when asked."""
    cols = ", ".join(f'"{c}"' for c in CORRUPTED_FIELDS)
    cursor = con.execute(
        f"SELECT {cols}, error AS reason FROM rows WHERE status = {sql.q(CORRUPT)} ORDER BY line_no, pos"
    )
    names = [d[0] for d in cursor.description]
    records = [{k: v for k, v in zip(names, row, strict=True) if v is not None} for row in cursor.fetchall()]
    if cfg.anonymise_ip:
        from etl.enrich.geo import anonymise, anonymise_text

        for record in records:
            if "ip" in record:
                record["ip"] = anonymise(record["ip"])
            if "_corrupt_record" in record:
                record["_corrupt_record"] = anonymise_text(record["_corrupt_record"])
    return records


def previous_ids(con: duckdb.DuckDBPyConnection, layout: Layout) -> str | None:
    """Parquet files of event_v2 already published for the (app, day) partitions this batch touches."""
    days = con.execute(
        "SELECT DISTINCT app_id, strftime(epoch_ms(event_time_msec), '%Y/%m/%d') FROM events"
    ).fetchall()
    files = []
    for app, day in days:
        y, m, d = day.split("/")
        key = f"{layout.ods}/event_v2/partition_app={app}/partition_year={y}/partition_month={m}/partition_day={d}"
        key = key.lstrip("/")
        files += [layout.out_store.url(k) for k in layout.out_store.list(key) if k.endswith(".parquet")]
    if not files:
        return None
    listed = ", ".join(sql.q(f) for f in files)
    return f"SELECT partition_app AS app_id, event_id FROM read_parquet([{listed}], hive_partitioning = true)"


def deduplicate(con: duckdb.DuckDBPyConnection, previous: str | None) -> None:
    """One row per (app_id, event_id): the first within the run, none already written by an earlier run."""
    seen = (
        f"AND NOT EXISTS (SELECT 1 FROM ({previous}) p WHERE p.app_id = e.app_id AND p.event_id = e.event_id)"
        if previous
        else ""
    )
    # The kept rows' ids, aggregated once (the enrichers' look-ups and `kept` each read unique_events); an
    # event already written is dropped with all its copies, so it is left out before the aggregate.
    con.execute(
        f"CREATE TABLE unique_ids AS SELECT min(row_id) AS row_id FROM events e WHERE true {seen} GROUP BY app_id, event_id"
    )
    con.execute(
        "CREATE VIEW unique_events AS SELECT e.* FROM events e SEMI JOIN unique_ids k ON k.row_id = e.row_id"
    )


class Lookup(NamedTuple):
    """An enricher's table of results per distinct key: joined with the kept rows on `on` (`u` is the row)."""

    table: str
    on: str
    outputs: list[str]


def lookup(
    con: duckdb.DuckDBPyConnection,
    source: str,
    name: str,
    keys: list[str],
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    outputs: list[str],
) -> Lookup:
    """The table `name`: `fn` applied once per distinct key of `source`, its `outputs` as text."""
    cols = ", ".join(f'"{k}"' for k in keys)
    distinct = con.execute(f"SELECT DISTINCT {cols} FROM {source}").fetch_arrow_table()
    results = [fn(row) for row in distinct.to_pylist()]
    table = {f"__k{i}": distinct.column(k) for i, k in enumerate(keys)}
    for output in outputs:
        table[output] = pa.array([r.get(output) for r in results], pa.string())
    table["__id"] = pa.array(range(distinct.num_rows), pa.int32())
    con.register("__lookup", pa.table(table))
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM __lookup")
    con.unregister("__lookup")
    return Lookup(name, _on(name, keys), outputs)


def _on(name: str, keys: list[str]) -> str:
    """The join of a kept row (`u`) with its row in the lookup table `name`."""
    return " AND ".join(f'u."{k}" IS NOT DISTINCT FROM {name}.__k{i}' for i, k in enumerate(keys))


def _rules(cfg: JobConfig) -> dict[str, Any]:
    from etl.enrich.traffic import load_rules

    return load_rules(Path(cfg.rules_dir or DEFAULT_RULES_DIR), cfg.app_ids)


class WarmUp(threading.Thread):
    """Loads what the enrichers need (this run's traffic rules, ua-parser's compiled rules, the geo database:
    about a second of single-threaded Python) while DuckDB's threads run the transformation."""

    def __init__(self, cfg: JobConfig, enrichers: list[str]) -> None:
        super().__init__(name="etl-warm-up", daemon=True)
        self.cfg, self.enrichers = cfg, enrichers
        self.rules: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if "traffic" in self.enrichers:
                self.rules = _rules(self.cfg)
            if "ua" in self.enrichers:
                from ua_parser import parser  # noqa: F401 (compiles the built-in rules on first access)
            if "geo" in self.enrichers:
                from etl.enrich.geo import _mmdb, networks_v4

                _mmdb(self.cfg.geo_mmdb) if self.cfg.geo_mmdb else networks_v4()
        except BaseException as error:  # raised again, in the run's thread, by `loaded`
            self.error = error

    def loaded(self) -> dict[str, Any] | None:
        """Waits for the loading; returns the traffic rules (None without the traffic enricher)."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.rules


def enrich_traffic(
    con: duckdb.DuckDBPyConnection, source: str, cfg: JobConfig, rules: dict[str, Any] | None = None
) -> Lookup:
    """The traffic columns classified, per distinct (app, page, referrer, client-sent traffic columns)."""
    from etl.enrich.traffic import KEY_COLUMNS, OUTPUTS, enrich_row

    rules = _rules(cfg) if rules is None else rules
    client = [f"traffic_source_{k}" for k in OUTPUTS]

    def fn(row: dict[str, Any]) -> dict[str, Any]:
        plain = {k: row[src] for k, src in KEY_COLUMNS.items()} | {c: row[c] for c in client}
        result = enrich_row(rules.get(row["app_id"]), plain)
        return {f"traffic_source_{k}": v for k, v in result.items()}

    return lookup(con, source, "traffic_lookup", ["app_id", *KEY_COLUMNS.values(), *client], fn, client)


def enrich_ua(con: duckdb.DuckDBPyConnection, source: str, cfg: JobConfig) -> Lookup:
    from etl.enrich.ua import OUTPUTS, parse_ua

    found = lookup(con, source, "ua_lookup", ["ua"], parse_ua, list(OUTPUTS))
    # `device_ua` with its parts, built once per distinct user agent rather than once per event.
    parts = ("ua_user_agent_json", "ua_os_json", "ua_device_json")
    con.execute(f"""CREATE OR REPLACE TABLE ua_lookup AS SELECT * EXCLUDE ({", ".join(parts)}),
        CASE WHEN ua_user_agent_json IS NOT NULL THEN CAST({{'string': __k0, 'userAgent': ua_user_agent_json,
          'os': ua_os_json, 'device': ua_device_json}} AS MAP(VARCHAR, VARCHAR)) END AS device_ua
        FROM ua_lookup""")
    return found._replace(outputs=[*(c for c in found.outputs if c not in parts), "device_ua"])


def enrich_geo(con: duckdb.DuckDBPyConnection, source: str, cfg: JobConfig) -> Lookup:
    """Per distinct first address. With the bundled database, a usual IPv4 address is located by one join with
    its networks (139 k addresses: 2.0 → 0.2 s); any other address, and every one with a `.mmdb`, by
    `geo.locate`."""
    from etl.enrich import geo

    outputs = list(geo.OUTPUTS)
    if cfg.geo_mmdb:
        mmdb = cfg.geo_mmdb
        return lookup(
            con, source, "geo_lookup", ["ip_first"], lambda r: geo.locate(r["ip_first"], mmdb), outputs
        )
    # (shifts in parentheses: `<<` and `|` bind alike, left to right)
    octets = " | ".join(
        f"(CAST(split_part(ip_first, '.', {i + 1}) AS BIGINT) << {24 - 8 * i})" for i in range(4)
    )
    special = " OR ".join(f"n BETWEEN {lo} AND {hi}" for lo, hi in geo._SPECIAL_V4)
    public = " OR ".join(f"n BETWEEN {lo} AND {hi}" for lo, hi in geo._NOT_PRIVATE_V4) or "false"
    con.execute(f"""CREATE TEMP TABLE geo_keys AS SELECT ip_first, v4, CASE WHEN NOT ({special}) OR {public} THEN n END AS n
        FROM (SELECT ip_first, v4, CASE WHEN v4 THEN {octets} END AS n
              FROM (SELECT ip_first, coalesce(regexp_full_match(ip_first, {sql.q(geo._IPV4.pattern)}), false) AS v4
                    FROM (SELECT DISTINCT ip_first FROM {source})))""")
    lookup(
        con,
        "(SELECT * FROM geo_keys WHERE NOT v4)",
        "geo_others",
        ["ip_first"],
        lambda r: geo.locate(r["ip_first"]),
        outputs,
    )
    con.register("__networks", geo.networks_v4())
    found = ", ".join(
        f"CASE WHEN k.n <= g.last THEN g.{c} END AS {c}" for c in ("geo_continent", "geo_country")
    )
    cols = ", ".join(outputs)
    con.execute(f"""CREATE TABLE geo_lookup AS SELECT *, CAST(row_number() OVER () - 1 AS INTEGER) AS __id FROM (
        SELECT k.ip_first AS __k0, {found}, NULL::VARCHAR AS geo_region, NULL::VARCHAR AS geo_city
        FROM (SELECT * FROM geo_keys WHERE v4) k ASOF LEFT JOIN __networks g ON k.n >= g.first
        UNION ALL SELECT __k0, {cols} FROM geo_others)""")
    con.unregister("__networks")
    con.execute("DROP TABLE geo_keys; DROP TABLE geo_others")
    return Lookup("geo_lookup", _on("geo_lookup", ["ip_first"]), outputs)


def with_ua(cfg: JobConfig) -> str:
    """event_v2's rows once the user agent is parsed: bots dropped, flagged or kept."""
    bot = "coalesce(device_ua_device_category = 'Bot', false)"
    if cfg.bot_mode == "drop":
        return f"SELECT * FROM enriched WHERE NOT {bot}"
    if cfg.bot_mode == "flag":
        return f"""SELECT * REPLACE (CASE WHEN {bot} THEN map_concat(process_info, MAP {{'is_bot': 'true'}})
          ELSE process_info END AS process_info) FROM enriched"""
    return "SELECT * FROM enriched"


ENRICHERS: dict[str, Callable[[duckdb.DuckDBPyConnection, str, JobConfig], Lookup]] = {
    "ua": enrich_ua,
    "geo": enrich_geo,
}


def _first_fields() -> dict[str, str]:
    return {
        "first_touch_time_msec": "user_first_touch_time_msec",
        "first_visit_date": "CAST(epoch_ms(user_first_touch_time_msec) AS DATE)",
        "first_referrer": "page_view_page_referrer",
        **{f"first_traffic_{k}": f"traffic_source_{k}" for k in keys.TRAFFIC},
        "first_traffic_channel_group": "traffic_source_channel_group",
        "first_traffic_category": "traffic_source_category",
        "first_app_install_source": "app_install_source",
        "first_event_name": "event_name",
    }


_FIRST_FIELDS = _first_fields()


def _first_struct() -> str:
    """The first-touch block of a user (spec/etl.md §2.10), as the Spark engine's `tables.first_fields`."""
    return "{" + ", ".join(f"{sql.q(k)}: {v}" for k, v in _FIRST_FIELDS.items()) + "}"


# Events at the same instant are taken in the order read (line, then position in the body), on both engines
# (`tables.user_state`, `tables.sessions`): the workers create the rows in any order.
BY_TIME = "{'ts': event_timestamp, 'id': row_id}"


def user_state(con: duckdb.DuckDBPyConnection, previous_state: list[str], cfg: JobConfig) -> None:
    """The batch's aggregate per user, merged with the earlier state (same shape as the Spark engine's)."""
    first = ", ".join(sql.q(e) for e in keys.FIRST_TOUCH_EVENTS)
    profile = "user_properties IS NOT NULL AND event_name = '_profile_set'"
    con.execute(f"""
        CREATE TABLE batch_state AS SELECT app_id, user_pseudo_id, max(user_id) AS user_id,
          max(event_timestamp) AS event_timestamp,
          arg_max({{'user_properties': user_properties, 'user_properties_json_str': user_properties_json_str}},
            {BY_TIME}) FILTER (WHERE {profile}) AS latest,
          max(event_timestamp) FILTER (WHERE {profile}) AS latest_ts,
          arg_min({_first_struct()}, {BY_TIME}) FILTER (WHERE event_name IN ({first})) AS first,
          min(event_timestamp) FILTER (WHERE event_name IN ({first})) AS first_ts
        FROM enriched WHERE user_pseudo_id IS NOT NULL GROUP BY ALL
    """)
    parts = "SELECT * FROM batch_state"
    if previous_state:
        listed = ", ".join(sql.q(f) for f in previous_state)
        cols = "app_id, user_pseudo_id, user_id, event_timestamp, latest, latest_ts, first, first_ts"
        parts += f" UNION ALL BY NAME SELECT {cols} FROM read_parquet([{listed}])"
    con.execute(f"""
        CREATE TABLE merged_state AS SELECT app_id, user_pseudo_id, max(user_id) AS user_id,
          max(event_timestamp) AS event_timestamp, arg_max(latest, latest_ts) AS latest, max(latest_ts) AS latest_ts,
          arg_min(first, first_ts) AS first, min(first_ts) AS first_ts
        FROM ({parts}) GROUP BY ALL
    """)
    keep_from = cfg.now_ms - cfg.user_keep_days * 86_400_000
    con.execute(
        f"CREATE TABLE new_state AS SELECT * FROM merged_state WHERE epoch_ms(event_timestamp) >= {keep_from}"
    )


def _partitions(ts: str = "event_timestamp") -> str:
    return (
        f"lpad(CAST(year({ts}) AS VARCHAR), 4, '0') AS partition_year, "
        f"lpad(CAST(month({ts}) AS VARCHAR), 2, '0') AS partition_month, "
        f"lpad(CAST(day({ts}) AS VARCHAR), 2, '0') AS partition_day"
    )


def _project(source: str, table: str, cfg: JobConfig, existing: set[str]) -> str:
    """SELECT of the table's columns in order, typed and truncated, plus the partition columns."""
    limits = model.MAX_LENGTHS[table] if cfg.max_length else {}
    cols = []
    for name, type_ in model.TABLES[table]:
        value = f'CAST("{name}" AS {_type(type_)})' if name in existing else f"CAST(NULL AS {_type(type_)})"
        if name in limits:
            n = limits[name]
            # (a null is not longer: one comparison per value; 73 columns × 917 k rows: 0.05 s, against 0.3 s
            # with an IS NULL test as well)
            value = f"CASE WHEN strlen({value}) > {n} THEN truncate_utf8({value}, {n}) ELSE {value} END"
        cols.append(f'{value} AS "{name}"')
    return f"SELECT {', '.join(cols)}, app_id AS partition_app, {_partitions()} FROM {source}"


def build(
    con: duckdb.DuckDBPyConnection,
    cfg: JobConfig,
    enrichers: list[str],
    previous: str | None,
    previous_state: list[str],
    rules: dict[str, Any] | None = None,
) -> dict[str, str]:
    """De-duplication, enrichers, and the four tables' SELECTs (spec/etl.md §2.9–§2.12). `rules`: the traffic
    rules when already loaded (`WarmUp`)."""

    def columns(rel: str) -> set[str]:
        return {r[0] for r in con.execute(f"DESCRIBE {rel}").fetchall()}

    if cfg.deduplicate:
        deduplicate(con, previous)
    else:
        con.execute("CREATE VIEW unique_events AS SELECT * FROM events")
    # Each enricher's results per distinct key, a small lookup table. `kept` is narrow: each kept row's id and,
    # per enricher, the id of its row in that lookup table; the wide rows are joined with it once, on the row
    # id, then with the lookup tables on those ids. The user state, items and sessions read the traffic
    # columns; event_v2 reads them all.
    lookups = [
        enrich_traffic(con, "unique_events", cfg, rules)
        if n == "traffic"
        else ENRICHERS[n](con, "unique_events", cfg)
        for n in enrichers
    ]
    outputs = [c for found in lookups for c in found.outputs]
    joins = "".join(f" LEFT JOIN {found.table} ON {found.on}" for found in lookups)
    ids = "".join(f", {found.table}.__id AS {found.table}_id" for found in lookups)
    con.execute(f"CREATE TABLE kept AS SELECT u.row_id{ids} FROM unique_events u{joins}")
    replaced = [c for c in outputs if c in columns("events")]
    star = f"e.* EXCLUDE ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in replaced)})" if replaced else "e.*"
    picked = "".join(f', {found.table}."{c}"' for found in lookups for c in found.outputs)
    results = "".join(
        f" LEFT JOIN {found.table} ON {found.table}.__id = k.{found.table}_id" for found in lookups
    )
    con.execute(f"""CREATE VIEW enriched AS SELECT {star}{picked},
        CAST(epoch_ms(e.event_time_msec) AS TIMESTAMPTZ) AS event_timestamp,
        CAST({sql.q(cfg.created_time)} AS TIMESTAMPTZ) AS created_time
        FROM events e JOIN kept k ON k.row_id = e.row_id{results}""")
    user_state(con, previous_state, cfg)
    final = "enriched"
    if "ua" in enrichers:
        con.execute(f"CREATE VIEW final AS {with_ua(cfg)}")
        final = "final"

    item_fields = []
    for key, names in keys.ITEM_FIELDS.items():
        cast = "jcast_double" if key in ("price", "quantity") else "jtext"
        item_fields.append(f"coalesce({', '.join(f'{cast}(m[{sql.q(n)}])' for n in names)}) AS {key}")
    con.execute(f"""
        CREATE VIEW items_rows AS SELECT * FROM (
          SELECT event_timestamp, event_id, event_name, platform, user_pseudo_id, user_id, app_id, created_time,
            map_from_entries(list_filter(map_entries(process_info), x -> x.key IN ('process_job_id', 'process_time'))) AS process_info,
            coalesce(jtext(m['id']), jtext(m['item_id'])) AS item_id, {", ".join(item_fields)},
            {sql._except("m", keys.KNOWN_ITEM_KEYS)} AS custom_raw
          FROM (SELECT *, json_map(item) AS m FROM (
            SELECT *, unnest(from_json(items, '["JSON"]')) AS item FROM enriched WHERE json_valid(items)))
        ) WHERE coalesce(item_id, '') != ''
        QUALIFY row_number() OVER (PARTITION BY event_id, user_pseudo_id, item_id) = 1
    """)
    con.execute("""CREATE VIEW items_out AS SELECT *, typed_map(custom_raw) AS custom_parameters,
        CASE WHEN cardinality(custom_raw) > 0 THEN to_json(custom_raw)::VARCHAR END AS custom_parameters_json_str
        FROM items_rows""")
    session_events = ", ".join(sql.q(e) for e in keys.SESSION_EVENTS)
    fields = [
        *("event_timestamp", "user_id", "session_number", "session_start_time_msec"),
        *(f"{a} AS {b}" for a, b in keys.SESSION_TRAFFIC.items()),
        "created_time",
    ]
    # The earliest event with a real source, else the earliest event (as `tables.sessions`: by no real source,
    # time, not the _session_start, row id). The aggregate keeps only the picked row's id; the session's fields
    # are read from that row (an arg_min of every field's struct held ~1 KB per session: 10 M events ran out
    # of memory).
    direct = "traffic_source_source IS NULL OR traffic_source_source = 'Direct'"
    order = f"{{'direct': {direct}, 'ts': event_timestamp, 'start': event_name != '_session_start', 'id': row_id}}"
    con.execute(f"""
        CREATE VIEW sessions_out AS SELECT app_id, user_pseudo_id, session_id, {", ".join(fields)},
          map_concat(process_info, map(['event_name'], [event_name])) AS process_info
        FROM enriched e SEMI JOIN (
          SELECT arg_min(row_id, {order}) AS row_id FROM enriched
          WHERE session_id IS NOT NULL AND event_name IN ({session_events}) GROUP BY app_id, user_pseudo_id, session_id
        ) s ON s.row_id = e.row_id
    """)
    first_names = [n for n in _FIRST_FIELDS if n != "first_event_name"]
    first_cols = ", ".join(f"m.first.{n} AS {n}" for n in first_names)
    con.execute(f"""
        CREATE VIEW users_out AS SELECT m.app_id, m.event_timestamp, m.user_pseudo_id, m.user_id,
          m.latest.user_properties AS user_properties, m.latest.user_properties_json_str AS user_properties_json_str,
          {first_cols},
          map(['first_event_name', 'latest_event_name', 'process_job_id', 'process_time'],
              [m.first.first_event_name, CASE WHEN m.latest IS NOT NULL THEN '_profile_set' END,
               {sql.q(cfg.job_name)}, {sql.q(cfg.process_time_iso)}]) AS process_info,
          CAST({sql.q(cfg.created_time)} AS TIMESTAMPTZ) AS created_time
        FROM merged_state m SEMI JOIN batch_state b ON b.app_id = m.app_id AND b.user_pseudo_id = m.user_pseudo_id
    """)
    return {
        "item_v2": _project("items_out", "item_v2", cfg, columns("items_out")),
        "session": _project("sessions_out", "session", cfg, columns("sessions_out")),
        "user_v2": _project("users_out", "user_v2", cfg, columns("users_out")),
        "event_v2": _project(final, "event_v2", cfg, columns(final)),
    }


# Rows per Parquet row group. DuckDB's default (122,880) buffers about 120 MB of event_v2 per open partition,
# allocated afresh for each row group: writing 917 k event_v2 rows took 6.9–9.2 CPU-s (1.7–4.4 of them in the
# kernel, faulting pages in) against 5.1–5.2 CPU-s with 32,768 (0.7–0.8 in the kernel).
ROW_GROUP_ROWS = 32768


def write_table(con: duckdb.DuckDBPyConnection, select: str, folder: str) -> None:
    """Partitioned, snappy Parquet; an empty result writes no file (as Spark's writer). No Bloom filters, as
    Spark's writer: DuckDB's, on by default, cost 0.4–1.2 of the ~7 CPU-s of writing 917 k event_v2 rows."""
    con.execute(
        f"COPY ({select}) TO {sql.q(folder)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY "
        "(partition_app, partition_year, partition_month, partition_day), OVERWRITE_OR_IGNORE, "
        f"FILENAME_PATTERN 'part-{{uuid}}', ROW_GROUP_SIZE {ROW_GROUP_ROWS}, WRITE_BLOOM_FILTER false)"
    )


def written_rows(con: duckdb.DuckDBPyConnection, folder: str) -> int:
    """Rows in the Parquet files written under a folder, from their footers."""
    if not any(Path(folder).rglob("*.parquet")):
        return 0
    found = con.execute(
        f"SELECT sum(num_rows) FROM parquet_file_metadata('{folder}/**/*.parquet')"
    ).fetchone()
    return int(found[0] or 0) if found else 0


def scratch_dir(cfg: JobConfig) -> Path:
    base = os.environ.get("CLICKSTREAM_ETL_SCRATCH") or tempfile.gettempdir()
    path = Path(base) / f"clickstream-etl-{cfg.job_name}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
