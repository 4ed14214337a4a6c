"""The item, user and session tables derived from event rows (spec/etl.md §2.9–§2.12), and the final projection."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from etl import model, parse
from etl.keys import (
    FIRST_TOUCH_EVENTS,
    ITEM_FIELDS,
    KNOWN_ITEM_KEYS,
    SESSION_EVENTS,
    SESSION_TRAFFIC,
    TRAFFIC,
)


def _item_value(key: str, type_: str) -> Column:
    keys = ITEM_FIELDS.get(key, (key,))
    return F.coalesce(*[F.expr(f"try_variant_get(item['{k}'], '$', '{type_}')") for k in keys])


def items(events: DataFrame) -> DataFrame:
    """One row per item with an id, de-duplicated on (event_id, user_pseudo_id, item_id)."""
    exploded = events.select(
        "event_timestamp", "event_id", "event_name", "platform", "user_pseudo_id", "user_id", "app_id",
        "created_time", F.explode("items").alias("item"),
        F.map_filter("process_info", lambda k, v: k.isin("process_job_id", "process_time")).alias("process_info"),
    )  # fmt: skip
    known = ", ".join(f"'{k}'" for k in sorted(KNOWN_ITEM_KEYS))
    custom = F.expr(f"map_filter(item, (k, x) -> not array_contains(array({known}), k))")
    numeric = {"price", "quantity"}
    rows = exploded.select(
        "*",
        F.coalesce(_item_value("id", "string"), _item_value("item_id", "string")).alias("item_id"),
        *[_item_value(k, "double" if k in numeric else "string").alias(k) for k in ITEM_FIELDS],
        F.when(F.size(custom) > 0, custom).alias("custom_raw"),
    ).where(F.coalesce(F.col("item_id"), F.lit("")) != "")
    with_custom = rows.select(
        "*",
        parse.typed_map("custom_raw").alias("custom_parameters"),
        F.to_json("custom_raw").alias("custom_parameters_json_str"),
    )
    return with_custom.dropDuplicates(["event_id", "user_pseudo_id", "item_id"])


def first_fields() -> dict[str, Column]:
    """The first-touch block of a user (spec/etl.md §2.10), from an event row."""
    return {
        "first_touch_time_msec": F.col("user_first_touch_time_msec"),
        "first_visit_date": F.to_date(F.timestamp_millis("user_first_touch_time_msec")),
        "first_referrer": F.col("page_view_page_referrer"),
        **{f"first_traffic_{k}": F.col(f"traffic_source_{k}") for k in TRAFFIC},
        "first_traffic_channel_group": F.col("traffic_source_channel_group"),
        "first_traffic_category": F.col("traffic_source_category"),
        "first_app_install_source": F.col("app_install_source"),
        "first_event_name": F.col("event_name"),
    }


def user_state(events: DataFrame) -> DataFrame:
    """Per (app_id, user_pseudo_id): the aggregate of this batch, in the shape the state table keeps."""
    profile = F.col("user_properties").isNotNull() & (F.col("event_name") == "_profile_set")
    first = F.col("event_name").isin(*FIRST_TOUCH_EVENTS)
    ts = F.col("event_timestamp")
    latest_struct = F.struct("user_properties", "user_properties_json_str")
    first_struct = F.struct(*[c.alias(n) for n, c in first_fields().items()])
    by_time = F.struct(ts, "row_id")  # events at the same instant: in the order read, as the DuckDB engine
    return (
        events.where(F.col("user_pseudo_id").isNotNull())
        .groupBy("app_id", "user_pseudo_id")
        .agg(
            F.max("user_id").alias("user_id"),
            F.max(ts).alias("event_timestamp"),
            F.max_by(F.when(profile, latest_struct), F.when(profile, by_time)).alias("latest"),
            F.max(F.when(profile, ts)).alias("latest_ts"),
            F.min_by(F.when(first, first_struct), F.when(first, by_time)).alias("first"),
            F.min(F.when(first, ts)).alias("first_ts"),
        )
    )


def merge_user_state(parts: DataFrame) -> DataFrame:
    """Re-aggregates state rows (earlier state ∪ this batch); same function, so it is associative."""
    return parts.groupBy("app_id", "user_pseudo_id").agg(
        F.max("user_id").alias("user_id"),
        F.max("event_timestamp").alias("event_timestamp"),
        F.max_by("latest", "latest_ts").alias("latest"),
        F.max("latest_ts").alias("latest_ts"),
        F.min_by("first", "first_ts").alias("first"),
        F.min("first_ts").alias("first_ts"),
    )


def users(
    state: DataFrame, touched: DataFrame, cfg_job: str, process_time: str, created_time: str
) -> DataFrame:
    """user_v2 rows: a full snapshot, from the merged state, of every user seen in this batch."""
    rows = state.join(touched.select("app_id", "user_pseudo_id"), ["app_id", "user_pseudo_id"], "left_semi")
    info = F.map_filter(
        F.create_map(
            F.lit("first_event_name"), F.col("first.first_event_name"),
            F.lit("latest_event_name"), F.when(F.col("latest").isNotNull(), F.lit("_profile_set")),
            F.lit("process_job_id"), F.lit(cfg_job),
            F.lit("process_time"), F.lit(process_time),
        ),
        lambda k, v: v.isNotNull() | k.isin("first_event_name", "latest_event_name"),
    )  # fmt: skip
    return rows.select(
        "app_id", "event_timestamp", "user_pseudo_id", "user_id",
        "latest.user_properties", "latest.user_properties_json_str",
        *[F.col(f"first.{n}").alias(n) for n in first_fields() if n != "first_event_name"],
        info.alias("process_info"),
        F.lit(created_time).cast("timestamp").alias("created_time"),
    )  # fmt: skip


def sessions(events: DataFrame) -> DataFrame:
    """One row per (app, user, session): the earliest event with a real source, else the earliest event."""
    kept = events.where(F.col("session_id").isNotNull() & F.col("event_name").isin(*SESSION_EVENTS))
    fields = F.struct(
        "event_timestamp", "user_id", "session_number", "session_start_time_msec",
        *[F.col(a).alias(b) for a, b in SESSION_TRAFFIC.items()],
        F.map_concat("process_info", F.create_map(F.lit("event_name"), F.col("event_name"))).alias("process_info"),
        "created_time",
    )  # fmt: skip
    sourced = F.col("traffic_source_source").isNotNull() & (F.col("traffic_source_source") != "Direct")
    # Events at the same instant: the session's _session_start (as the original picks), then the first read.
    by_time = F.struct("event_timestamp", F.col("event_name") != "_session_start", "row_id")
    picked = kept.groupBy("app_id", "user_pseudo_id", "session_id").agg(
        F.coalesce(
            F.min_by(F.when(sourced, fields), F.when(sourced, by_time)), F.min_by(fields, by_time)
        ).alias("s")
    )
    return picked.select("app_id", "user_pseudo_id", "session_id", "s.*")


def truncate_bytes(col: Column, limit: int) -> Column:
    """Cuts a string to at most `limit` UTF-8 bytes without splitting a character (spec/etl.md §2.12)."""
    cut = F.decode(F.substring(F.encode(col, "UTF-8"), 1, limit), "UTF-8")
    return F.when(F.octet_length(col) <= limit, col).otherwise(F.regexp_replace(cut, "\ufffd+$", ""))


def project(df: DataFrame, table: str, max_length: bool = True) -> DataFrame:
    """The table's columns in order and with their types, truncated, plus the partition columns. Columns
    no plugin produced (geo_metro, or device_ua_* without the UA enricher) are null."""
    limits = model.MAX_LENGTHS[table] if max_length else {}
    cols = []
    for name, type_ in model.TABLES[table]:
        col = (F.col(name) if name in df.columns else F.lit(None)).cast(type_)
        cols.append((truncate_bytes(col, limits[name]) if name in limits else col).alias(name))
    return df.select(*cols, *model.PARTITION_COLUMNS)
