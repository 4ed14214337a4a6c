"""Spark and fixture helpers for the ETL tests: one local Spark session for the whole suite."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from etl.config import JobConfig

PROJECT = "test_project_id_01"
MASKED = {"process_time", "created_time", "input_file_name"}


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from etl.session import build_session

    session = build_session(
        "local[2]",
        **{
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(params=["duckdb", "spark"], scope="module")
def engine(request: pytest.FixtureRequest) -> SparkSession | None:
    """Each engine in turn: `None` runs the job on DuckDB, a session on Spark (`etl.job.run_job`)."""
    return None if request.param == "duckdb" else request.getfixturevalue("spark")


def read_table(folder: Path) -> list[dict[str, Any]]:
    """Every row of a written table (either engine's Parquet), maps as dicts, with its partition columns."""
    import duckdb

    if not any(folder.rglob("*.parquet")):
        return []
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true)")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def job_config(app_ids: list[str] | None = None, **options: Any) -> JobConfig:
    """The original's test settings: project `test_project_id_01`, job `test-job`, no freshness limit."""
    defaults: dict[str, Any] = {"freshness_hours": 10**6, "job_name": "test-job"}
    return JobConfig(project_id=PROJECT, app_ids=app_ids or ["uba-app"], **(defaults | options))


def copy_raw(anchor: Path, names: list[str], into: Path) -> Path:
    """Copies fixture files into a temporary raw folder (tests read the fixtures, never change them)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(anchor / name, into / name.replace("/", "_"))
    return into


def read_expected(path: Path) -> list[dict[str, Any]]:
    """The original's expected files hold one or more pretty-printed JSON objects, concatenated."""
    rows: list[dict[str, Any]] = []
    text, decoder, pos = path.read_text(), json.JSONDecoder(), 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return rows
        row, pos = decoder.raw_decode(text, pos)
        rows.append(row)


def plain(value: Any) -> Any:
    """A Spark row value in the expected files' JSON shape (timestamps to the second, maps as dicts)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if hasattr(value, "asDict"):
        return {k: plain(v) for k, v in value.asDict(recursive=True).items()}
    return value


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Columns whose values differ, ignoring the original's masked volatile values and JSON key order."""
    out = {}
    for name, want in expected.items():
        source = "partition_app" if name == "app_id" and "app_id" not in actual else name
        if name in MASKED or name in ("ua", "ip") or source not in actual:
            continue
        got = plain(actual[source])
        if name.endswith("_json_str") and want and got:
            want, got = json.loads(want), json.loads(got)
        if name == "process_info" and isinstance(want, dict) and isinstance(got, dict):
            want = {k: v for k, v in want.items() if k not in MASKED}
            got = {k: v for k, v in got.items() if k not in MASKED}
        if want != got:
            out[name] = (want, got)
    return out
