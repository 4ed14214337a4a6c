"""Reading raw request records and splitting them into per-event JSON strings (spec/etl.md §1.3, §2.1).

Everything here is Spark SQL except the gunzip of compressed bodies, which Spark has no built-in for: it runs
with `mapInArrow` on the compressed requests only, so its cost scales with requests, not events.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

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


def _gunzip_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        bodies = pa.array([_gunzip(v) for v in batch.column("data").to_pylist()], type=pa.string())
        yield batch.append_column("body", bodies)


def _is_plain(data: Column) -> Column:
    trimmed = F.trim(data)
    return trimmed.startswith("[") & trimmed.endswith("]")


def decode_bodies(raw: DataFrame) -> DataFrame:
    """Adds `body`: the request's JSON array text, from a plain body or from base64(gzip(…)); null if neither."""
    plain = raw.where(F.col("data").isNull() | _is_plain(F.col("data"))).withColumn("body", F.col("data"))
    packed = raw.where(F.col("data").isNotNull() & ~_is_plain(F.col("data")))
    schema = StructType([*packed.schema.fields, StructField("body", StringType())])
    unpacked = packed.mapInArrow(_gunzip_batches, schema)
    return plain.unionByName(unpacked)


def _line_error() -> Column:
    return (
        F.when(F.col("_corrupt_record").isNotNull(), F.lit("line is not a JSON object"))
        .when(F.col("data").isNull() | (F.trim("data") == ""), F.lit("data is null or empty"))
        .when(F.col("body").isNull(), F.lit("data is neither a JSON array nor base64 gzip"))
        .when(F.col("events").isNull(), F.lit("data is not a JSON array"))
    )


def explode_events(decoded: DataFrame) -> DataFrame:
    """One row per event (`event` = its JSON text), or one row per bad request with `error` set."""
    with_events = decoded.withColumn("events", F.from_json("body", "array<string>"))
    with_error = with_events.withColumn("error", _line_error())
    return with_error.select(
        "*", F.posexplode_outer(F.when(F.col("error").isNull(), F.col("events"))).alias("pos", "event")
    ).drop("events", "body")


def event_error() -> Column:
    """Why an exploded event is corrupt (spec/etl.md §2.1 step 4, plus size and sanity limits), or null."""
    v = F.col("v")
    return (
        F.when(F.col("error").isNotNull(), F.col("error"))
        .when(F.length("event") > MAX_EVENT_BYTES, F.lit("event larger than 1 MiB"))
        .when(
            v.isNull() | (F.expr("schema_of_variant(v)").substr(1, 6) != "OBJECT"),
            F.lit("invalid event JSON"),
        )
        .when(F.expr("try_variant_get(v, '$.event_id', 'string')").isNull(), F.lit("missing event_id"))
        .when(F.expr("try_variant_get(v, '$.app_id', 'string')").isNull(), F.lit("missing app_id"))
        .when(
            F.expr("try_variant_get(v, '$.timestamp', 'bigint')").isNull(),
            F.lit("missing or invalid timestamp"),
        )
        .when(
            F.expr("try_variant_get(v, '$.timestamp', 'bigint')") < F.lit(946684800000),
            F.lit("timestamp before the year 2000"),
        )
    )
