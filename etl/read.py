"""Reading raw request records and splitting them into per-event JSON strings (spec/etl.md §1.3, §2.1).

Everything here is Spark SQL except the gunzip of compressed bodies, which Spark has no built-in for: it runs as
a vectorised (Arrow) Python UDF that is sent the compressed bodies only, so its cost scales with requests, not
events.
"""

from __future__ import annotations

import base64
import gzip

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from etl import parse

# Every field is read as a string and cast afterwards: a collector that writes `client_timestamp` as a string
# (ours and the original's Vector both do) must not turn the whole line into a corrupt record.
RAW_FIELDS = [
    "date",
    "data",
    "ip",
    "source_type",
    "rid",
    "ua",
    "m",
    "method",
    "uri",
    "platform",
    "path",
    "appId",
    "compression",
    "ingest_time",
    "client_timestamp",
    "server_ingest_time",
    "timestamp",
]
RAW_SCHEMA = ", ".join(f"`{name}` string" for name in [*RAW_FIELDS, "_corrupt_record"])
MAX_EVENT_BYTES = 1 << 20


def read_raw(spark: SparkSession, paths: list[str]) -> DataFrame:
    """One row per raw line, with the file it came from; unparsable lines keep only `_corrupt_record`."""
    return (
        spark.read.schema(RAW_SCHEMA)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt_record")
        .json(paths)
        .withColumn("input_file_name", F.col("_metadata.file_path"))
    )


def _gunzip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return gzip.decompress(base64.b64decode(value.strip())).decode("utf-8")
    except (ValueError, OSError, EOFError, UnicodeDecodeError):
        return None


@F.pandas_udf(StringType())  # type: ignore[call-overload]
def _gunzip_all(values: pd.Series) -> pd.Series:
    return values.map(_gunzip)


def _is_plain(data: Column) -> Column:
    trimmed = F.trim(data)
    return trimmed.startswith("[") & trimmed.endswith("]")


def decode_bodies(raw: DataFrame) -> DataFrame:
    """Adds `body`: the request's JSON array text, from a plain body or from base64(gzip(…)); null if neither.

    One pass over the raw rows: the Python UDF is given null for plain bodies, so only compressed ones cross
    to Python."""
    data = F.col("data")
    plain = data.isNull() | _is_plain(data)
    unpacked = raw.withColumn("__unpacked", _gunzip_all(F.when(~plain, data)))
    return unpacked.withColumn("body", F.when(plain, data).otherwise(F.col("__unpacked"))).drop("__unpacked")


def _line_error() -> Column:
    return (
        F.when(F.col("_corrupt_record").isNotNull(), F.lit("line is not a JSON object"))
        .when(F.col("data").isNull() | (F.trim("data") == ""), F.lit("data is null or empty"))
        .when(F.col("body").isNull(), F.lit("data is neither a JSON array nor base64 gzip"))
        .when(F.col("events").isNull(), F.lit("data is not a JSON array"))
    )


def explode_events(decoded: DataFrame) -> DataFrame:
    """One row per event (`event` = its JSON text), or one row per bad request with `error` set.

    The request body (`data`) is kept only on the rows of a bad request: copied onto every event, it would
    multiply the bytes handled by the events per request."""
    with_events = decoded.withColumn("events", F.from_json("body", "array<string>"))
    with_error = with_events.withColumn("error", _line_error())
    bad = F.col("error").isNotNull()
    return with_error.select(
        *[F.when(bad, F.col(c)).alias(c) if c == "data" else c for c in with_error.columns],
        F.posexplode_outer(F.when(~bad, F.col("events"))).alias("pos", "event"),
    ).drop("events", "body")


def event_error() -> Column:
    """Why an exploded event is corrupt (spec/etl.md §2.1 step 4, plus size and sanity limits), or null.

    Reads the parsed event `e` (etl.parse.parse_event)."""
    timestamp = parse.top("timestamp", "bigint")
    return (
        F.when(F.col("error").isNotNull(), F.col("error"))
        .when(F.length("event") > MAX_EVENT_BYTES, F.lit("event larger than 1 MiB"))
        .when(parse.invalid_event(), F.lit("invalid event JSON"))
        .when(parse.top("event_id").isNull(), F.lit("missing event_id"))
        .when(parse.top("app_id").isNull(), F.lit("missing app_id"))
        .when(timestamp.isNull(), F.lit("missing or invalid timestamp"))
        .when(timestamp < F.lit(946684800000), F.lit("timestamp before the year 2000"))
    )
