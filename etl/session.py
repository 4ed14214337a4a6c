"""The SparkSession the job runs in, with the settings the transformation relies on."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    # Attribute keys override top-level keys of the same name in custom_parameters (spec/etl.md §2.6).
    "spark.sql.mapKeyDedupPolicy": "LAST_WIN",
    # Lenient casts, as the original's Spark 3 job: bad values become null instead of failing the run.
    "spark.sql.ansi.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.sql.sources.partitionOverwriteMode": "static",
    # A value of the wrong type nulls that field only, not the whole event (etl/parse.py relies on it).
    "spark.sql.json.enablePartialResults": "true",
    # Partitioned writes keep one open file per partition instead of sorting the wide rows by partition first:
    # a run touches a few apps and days, so a task has few partitions (it falls back to sorting past 64).
    "spark.sql.optimizer.plannedWrite.enabled": "false",
    "spark.sql.maxConcurrentOutputFileWriters": "64",
    "spark.ui.showConsoleProgress": "false",
}


def build_session(
    master: str | None = "local[*]", app_name: str = "clickstream-etl", **extra: str
) -> SparkSession:
    """A session for the job; `master=None` keeps the cluster's (EMR Serverless sets it)."""
    builder = SparkSession.builder.appName(app_name)
    if master:
        # Local workers must use this interpreter (the venv with pyarrow, ua-parser…), not the system one.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(master).config("spark.ui.enabled", "false")
    for key, value in {**SETTINGS, **extra}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
