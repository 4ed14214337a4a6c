"""What the third-party transformers share with the Clickstream SDK one: statuses and counts of per-event rows,
and the final projection to event rows (process_info, typed custom parameters, user properties, kept columns).

A transformer turns raw lines into per-event rows with `v` (the event's variant), `error`, `event_name`,
`app_id`, `appId`, `client_ts`, `ingest_ms`, `upload_ms`, `time_diff` and the raw line's fields, then into
event_v2 columns under their final names plus `ua`, `ip`, `items`, `user_values`, `custom_raw`, `page_url_raw`.
"""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from etl import model, parse, read, transform
from etl.config import JobConfig
from etl.enrich.traffic import OUTPUTS as TRAFFIC_OUTPUTS

# Columns `event_rows` computes for every format.
FINAL = (
    "event_timestamp", "custom_parameters", "custom_parameters_json_str", "process_info", "created_time", "project_id",
)  # fmt: skip


def get(path: str, type_: str = "string") -> Column:
    """A value of the event object `v`; `path` is a JSONPath (`$.a.b`, `$["x-y"].b`) or a plain dotted key."""
    return F.expr(f"try_variant_get(v, '{path if path.startswith('$') else '$.' + path}', '{type_}')")


def wrap_object(text: Column) -> Column:
    """A single event object becomes a one-element array, so the clickstream reader explodes it."""
    return F.when(F.trim(text).startswith("{"), F.concat(F.lit("["), text, F.lit("]"))).otherwise(text)


def explode_bodies(raw: DataFrame, payload: Column) -> DataFrame:
    """Raw lines whose `payload` (from `data`) is, or base64-gzips, an event object or an array of them → one
    row per event with the clickstream reader's `error`, `pos` and `event`, `v` the parsed event, and `data`
    as received."""
    kept = raw.withColumn("raw_data", F.col("data"))
    decoded = read.decode_bodies(kept.withColumn("data", wrap_object(payload)))
    exploded = read.explode_events(decoded.withColumn("body", wrap_object(F.col("body"))))
    events = exploded.withColumns({"data": F.col("raw_data"), "v": F.expr("try_parse_json(event)")})
    return events.drop("raw_data")


def event_error(name: Column) -> Column:
    """Why an exploded event is corrupt: the reader's reason, size, not a JSON object, no event name, or too
    many keys (the clickstream transformer's limits)."""
    v = F.col("v")
    return (
        F.when(F.col("error").isNotNull(), F.col("error"))
        .when(F.length("event") > read.MAX_EVENT_BYTES, F.lit("event larger than 1 MiB"))
        .when(
            v.isNull() | (F.expr("schema_of_variant(v)").substr(1, 6) != "OBJECT"),
            F.lit("invalid event JSON"),
        )
        .when(F.trim(F.coalesce(name, F.lit(""))) == "", F.lit("missing event_name"))
        .when(too_many_keys(), F.lit("more than 1000 attributes"))
    )


def with_copies(rows: DataFrame, name: Column, extra: list[tuple[Column, str, str]]) -> DataFrame:
    """One row per event, plus a copy per (condition, id suffix, event name) that holds on an accepted event:
    the synthesized `_first_open`/`_session_start`. Adds `copy_pos` and `copy` (suffix, name)."""
    accepted = F.col("error").isNull()
    copies = F.array(
        F.struct(F.lit("").alias("suffix"), name.alias("name")),
        *[F.when(accepted & cond, F.struct(F.lit(suffix).alias("suffix"), F.lit(n).alias("name"))) for cond, suffix, n in extra],
    )  # fmt: skip
    return rows.select("*", F.posexplode(F.filter(copies, lambda c: c.isNotNull())).alias("copy_pos", "copy"))


def read_events(
    raw: DataFrame,
    cfg: JobConfig,
    name: Column,
    names: dict[str, str],
    copies: list[tuple[Column, str, str]],
    id_parts: list[Column],
    payload: Column | None = None,
) -> transform.Parsed:
    """Raw lines → one classified row per event and per synthesized event, cached, with counts. There is no
    client timestamp: the event time is the ingest time. The event id is `<rid>-<index>-<id_parts…>`, plus the
    copy's suffix; `null` stands for a missing part, as in the original. `payload` is what `data` holds the
    events in (default: `data` itself)."""
    events = explode_bodies(raw, F.col("data") if payload is None else payload)
    copied = with_copies(events.withColumn("error", event_error(name)), mapped_name(name, names), copies)
    ingest = F.col("ingest_time").cast("bigint")
    parts = [F.coalesce(p, F.lit("null")) for p in [F.col("rid"), F.coalesce("pos", F.lit(0)), *id_parts]]
    rows = copied.withColumns(
        {
            "event_name": F.col("copy.name"),
            "event_id": F.concat(F.concat_ws("-", *parts), F.col("copy.suffix")),
            "app_id": F.col("appId"),
            "ingest_ms": ingest,
            "client_ts": ingest,
            "upload_ms": F.lit(None).cast("bigint"),
            "time_diff": F.lit(0).cast("bigint"),
        }
    )
    return classify(rows, cfg, (F.coalesce(F.col("pos"), F.lit(0)) == 0) & (F.col("copy_pos") == 0))


def mapped_name(name: Column, names: dict[str, str]) -> Column:
    table = F.create_map(*[F.lit(x) for kv in names.items() for x in kv])
    return F.coalesce(F.element_at(table, name), name)


def too_many_keys() -> Column:
    """The clickstream transformer's attribute limit, applied to the event object's own keys."""
    keys = F.expr("try_variant_get(v, '$', 'map<string,variant>')")
    return F.size(F.coalesce(keys, F.create_map())) > parse.MAX_ATTRIBUTES


def classify(rows: DataFrame, cfg: JobConfig, first_of_request: Column) -> transform.Parsed:
    """Adds the status and a row id, keeps the body and event text only on corrupt rows, caches and counts.
    `first_of_request` is true on one row per raw line (the `requests` count)."""
    bad = F.col("error").isNotNull()
    slim = rows.withColumns({"data": F.when(bad, F.col("data")), "event": F.when(bad, F.col("event"))})
    cached = slim.withColumns(
        {
            "status": transform.status(cfg),
            "row_id": F.monotonically_increasing_id(),
            "first": first_of_request,
        }
    ).persist(StorageLevel.MEMORY_AND_DISK)
    counts: dict[str, int] = {"requests": 0}
    for row in cached.groupBy("status", "first").count().collect():
        counts[row[0]] = counts.get(row[0], 0) + row[2]
        counts["requests"] += row[2] if row[1] else 0
    return transform.Parsed(cached, counts)


def traffic_client_columns() -> dict[str, Column]:
    """No SDK-provided traffic values: the `traffic` enricher classifies from the page URL and referrers."""
    return {f"traffic_source_{k}": F.lit(None).cast("string") for k in TRAFFIC_OUTPUTS}


def user_values(props: Column) -> Column:
    """A map of plain user property values → the `user_values` shape (no set time), null when empty."""
    structs = F.transform_values(
        props, lambda k, x: F.struct(x.alias("x"), F.lit(None).cast("bigint").alias("set_time_msec"))
    )
    return F.when(F.size(props) > 0, structs)


def event_rows(rows: DataFrame, cfg: JobConfig) -> DataFrame:
    """The event rows every transformer returns: event_v2 columns present in `rows`, the kept columns, and the
    shared ones (timestamp, typed custom parameters, created time, project, first IP). `rows` carries its
    `process_info` already (computed with the request's address, before a format may replace `ip`).
    Columns the format has no value for are null."""
    with_user = rows.select(
        "*",
        transform.user_properties().alias("user_properties"),
        transform.user_properties_json().alias("user_properties_json_str"),
    )
    # Columns the format has no value for are null, so enrichers and derived tables find every column.
    event_cols = [
        F.col(n) if n in rows.columns else F.lit(None).cast(t).alias(n)
        for n, t in model.EVENT_V2_COLUMNS
        if n not in FINAL
    ]
    return with_user.select(
        *event_cols,
        *transform.KEPT,
        F.timestamp_millis("event_time_msec").alias("event_timestamp"),
        parse.typed_map("custom_raw").alias("custom_parameters"),
        F.to_json("custom_raw").alias("custom_parameters_json_str"),
        "process_info",
        F.lit(cfg.created_time).cast("timestamp").alias("created_time"),
        F.lit(cfg.project_id).alias("project_id"),
        F.trim(F.split(F.col("ip"), ",")[0]).alias("ip_first"),
    )
