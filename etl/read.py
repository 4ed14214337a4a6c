"""Reading raw request records and splitting them into per-event JSON strings (spec/etl.md §1.3, §2.1).

Used by the Spark engine (the Clickstream transformer runs the shared DuckDB SQL of `etl/sql.py` over these raw
rows; the GTM and Sensors transformers explode bodies here). The gunzip of compressed bodies (`etl/body.py`)
runs as a vectorised (Arrow) Python UDF that is sent the compressed bodies only.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from etl.body import NOT_PACKED, inflate

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


@F.pandas_udf(StructType([StructField("body", StringType()), StructField("reason", StringType())]))  # type: ignore[call-overload]
def _inflate_all(values: pd.Series) -> pd.DataFrame:
    """etl.body.inflate per value (null stays null): the body, or null and the reason."""
    results = [inflate(v) if isinstance(v, str) else (None, None) for v in values]
    return pd.DataFrame(results, columns=["body", "reason"])


def _is_plain(data: Column) -> Column:
    trimmed = F.trim(data)
    return trimmed.startswith("[") & trimmed.endswith("]")


def decode_bodies(raw: DataFrame) -> DataFrame:
    """Adds `body`: the request's JSON array text, from a plain body or from base64(gzip(…)); null if neither.

    One pass over the raw rows: the Python UDF is given null for plain bodies, so only compressed ones cross
    to Python."""
    data = F.col("data")
    plain = data.isNull() | _is_plain(data)
    unpacked = raw.withColumn("__unpacked", _inflate_all(F.when(~plain, data)))
    return unpacked.withColumns(
        {
            "body": F.when(plain, data).otherwise(F.col("__unpacked.body")),
            "body_error": F.when(~plain, F.col("__unpacked.reason")),
        }
    ).drop("__unpacked")


def _line_error() -> Column:
    return (
        F.when(F.col("_corrupt_record").isNotNull(), F.lit("line is not a JSON object"))
        .when(F.col("data").isNull() | (F.trim("data") == ""), F.lit("data is null or empty"))
        .when(F.col("body").isNull(), F.coalesce(F.col("body_error"), F.lit(NOT_PACKED)))
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
    ).drop("events", "body", "body_error")
