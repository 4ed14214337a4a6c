"""The built-in transformer: raw requests → cleaned, de-duplicated event rows (spec/etl.md §2.1–§2.8).

`parse_requests` is the one expensive pass: it reads, parses and computes every event's columns, and caches
them; every later step (counts, corrupted records, the four tables) reads the cache, so the raw data is read
and parsed once and no column is computed twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from etl import model, parse, read, sql
from etl.config import JobConfig
from etl.results import CORRUPT, FUTURE, OK, STALE, UNKNOWN_APP


@dataclass
class Parsed:
    """The cached per-event rows and what happened to each."""

    rows: DataFrame
    counts: dict[str, int]


def _status(cfg: JobConfig) -> Column:
    name, ts = F.col("event_name"), F.col("client_ts")
    lifecycle = name.isin(*parse.LIFECYCLE_EVENTS)
    stale = (F.col("ingest_ms") - ts) > F.lit(cfg.freshness_hours * 3_600_000)
    app_ok = F.col("app_id").isin(*cfg.app_ids) & (F.trim(F.coalesce("appId", F.lit(""))) != "")
    return (
        F.when(F.col("error").isNotNull(), F.lit(CORRUPT))
        .when(~lifecycle & (ts > F.lit(cfg.now_ms)), F.lit(FUTURE))
        .when(~lifecycle & stale, F.lit(STALE))
        .when(~app_ok, F.lit(UNKNOWN_APP))
        .otherwise(F.lit(OK))
    )


def _duckdb_schema(cfg: JobConfig) -> Any:
    """The Spark schema of the shared SQL's output (its Arrow schema, from a run over no rows)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(_run_sql(cfg, pa.table(_empty_raw())).schema)


def _empty_raw() -> dict[str, pa.Array]:
    return {
        name: pa.array([], pa.string()) for name in ("input_file_name", *read.RAW_FIELDS, "_corrupt_record")
    }


def _run_sql(cfg: JobConfig, raw: pa.Table, con: Any = None) -> pa.Table:
    con = con or sql.connect(cfg, threads=1)
    con.register("raw", raw)
    try:
        return con.execute(sql.event_sql(cfg)).fetch_arrow_table()
    finally:
        con.unregister("raw")


def _in_tasks(cfg: JobConfig) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function `mapInArrow` runs in each Spark task: the shared DuckDB SQL over each Arrow batch of raw
    lines, in a DuckDB connection of the task's own (one thread: Spark already runs a task per core)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        con = sql.connect(cfg, threads=1)
        for batch in batches:
            yield from _run_sql(cfg, pa.Table.from_batches([batch]), con).to_batches()

    return run


def parse_requests(spark: SparkSession, paths: list[str], cfg: JobConfig) -> Parsed:
    """Reads the raw lines, runs the shared per-request SQL (etl/sql.py) over them in Spark's tasks, and
    caches the resulting per-event rows; counts them by status."""
    raw = read.read_raw(spark, paths).select("input_file_name", *read.RAW_FIELDS, "_corrupt_record")
    out = raw.mapInArrow(_in_tasks(cfg), _duckdb_schema(cfg))  # type: ignore[arg-type]
    rows = out.withColumns(
        {
            "items": F.from_json("items", "array<map<string,variant>>"),
            "row_id": F.monotonically_increasing_id(),
        }
    ).persist(StorageLevel.MEMORY_AND_DISK)
    counts: dict[str, int] = {"requests": 0}
    for row in rows.groupBy("status", "first").count().collect():
        counts[row[0]] = counts.get(row[0], 0) + row[2]
        counts["requests"] += row[2] if row[1] else 0
    return Parsed(rows, counts)


def corrupted_records(parsed: Parsed) -> DataFrame:
    """What is written aside: the raw line's fields, the event text and the reason."""
    return parsed.rows.where(F.col("status") == CORRUPT).select(
        "input_file_name", "rid", "appId", "ingest_time", "uri", "ip", "data", "_corrupt_record", "event",
        F.col("error").alias("reason"),
    )  # fmt: skip


def _process_info(cfg: JobConfig) -> Column:
    """Lineage of a GTM or Sensors event. Their event time is the ingest time, never adjusted, so there are
    no `event_timestamp_adjusted*` entries (the Clickstream SDK's are in etl/sql.py)."""
    iso = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    entries = {
        "rid": F.col("rid"),
        "ingest_time": F.date_format(F.timestamp_millis("ingest_ms"), iso),
        "input_file_name": F.col("input_file_name"),
        "source_ip": F.col("ip"),
        "upload_time": F.date_format(F.timestamp_millis("upload_ms"), iso),
        "process_job_id": F.lit(cfg.job_name),
        "process_time": F.lit(cfg.process_time_iso),
    }
    pairs = [x for k, v in entries.items() for x in (F.lit(k), v)]
    return F.map_filter(F.create_map(*pairs), lambda k, v: v.isNotNull())


# Columns carried past event_rows besides event_v2's: enrichment inputs and what the other tables need.
KEPT = (
    "ua",
    "ip",
    "items",
    "user_properties",
    "user_properties_json_str",
    "page_url_raw",
    "row_id",
)


def event_rows(parsed: Parsed, cfg: JobConfig) -> DataFrame:
    """Accepted events with every event_v2 column known before enrichment, plus `ua`, `ip` and `items`."""
    ok = parsed.rows.where(F.col("status") == OK)
    computed = ("event_timestamp", "created_time")
    event_cols = [n for n, _ in model.EVENT_V2_COLUMNS if n in ok.columns and n not in computed]
    return ok.select(
        *event_cols,
        *KEPT,
        F.timestamp_millis("event_time_msec").alias("event_timestamp"),
        F.lit(cfg.created_time).cast("timestamp").alias("created_time"),
        "ip_first",
    )


def _user_properties() -> Column:
    """map<string, struct<value, type, set_time_msec>> (spec/etl.md §2.7)."""
    return parse.typed_values("user_values", extra=", s.set_time_msec as set_time_msec")


def _user_properties_json() -> Column:
    return F.expr(
        """to_json(transform_values(user_values,
            (k, s) -> named_struct('set_time_msec', s.set_time_msec, 'value', s.x)))"""
    )


def deduplicate(events: DataFrame, previous_ids: DataFrame | None) -> DataFrame:
    """One row per (app_id, event_id): within the run, and none already written by an earlier run.

    The duplicate keys are found on a narrow projection (two ids and a row number) and broadcast, so the wide
    event rows are never shuffled; replays are rare, so the broadcast table is small."""
    key = ["app_id", "event_id"]
    narrow = events.select(*key, "row_id")
    repeated = narrow.groupBy(*key).agg(F.count("*").alias("n"), F.min("row_id").alias("keep")).where("n > 1")
    drop = repeated.select(*key, "keep")
    if previous_ids is not None:
        seen = narrow.select(*key).join(previous_ids, key, "left_semi").distinct()
        drop = drop.unionByName(seen.withColumn("keep", F.lit(-1).cast("bigint")))
    drop = drop.groupBy(*key).agg(F.min("keep").alias("__keep")).localCheckpoint()  # once, for every table
    joined = events.join(F.broadcast(drop), key, "left")
    return joined.where(F.col("__keep").isNull() | (F.col("row_id") == F.col("__keep"))).drop("__keep")


def partitioned(df: DataFrame, app_col: str = "app_id") -> DataFrame:
    """Adds the four partition columns from `event_timestamp` (UTC) and the app id."""
    ts = F.col("event_timestamp")
    return df.withColumns(
        {
            "partition_app": F.col(app_col),
            # Date parts rather than date_format: a formatter per row and column is the costlier way.
            "partition_year": F.lpad(F.year(ts).cast("string"), 4, "0"),
            "partition_month": F.lpad(F.month(ts).cast("string"), 2, "0"),
            "partition_day": F.lpad(F.dayofmonth(ts).cast("string"), 2, "0"),
        }
    )


# Shared with the other built-in transformers (etl/transformers/), so every input format gets the same
# statuses, process_info and user property columns.
status = _status
process_info = _process_info
user_properties = _user_properties
user_properties_json = _user_properties_json


def page_url_columns(url: Column) -> dict[str, Column]:
    """A raw page URL → the decoded URL, its path, query parameters and host (spec/etl.md §2.5)."""
    return {
        "page_view_page_url": parse.decoded(url),
        "page_view_page_url_path": F.try_parse_url(parse._with_scheme(url), F.lit("PATH")),
        "page_view_page_url_query_parameters": parse._query_map(url),
        "page_view_hostname": parse._host(url),
    }
