"""Both engines over the same generated data with edge cases (a replayed request, lines that are not JSON,
bad base64, gzip with trailing bytes, values of the wrong type, huge attribute maps, unknown keys): every
table, column by column, the corrupted records and the run figures must be the same. Late files and the
other exactly-once cases run on both engines in test_job.py."""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from etl import body, job
from etl.lake import dir_layout
from tests.etl.conftest import job_config, read_table

pytestmark = pytest.mark.spark
BENCH = Path(__file__).resolve().parents[2] / "bench" / "etl.py"
KEYS = {
    "event_v2": ("event_id",),
    "item_v2": ("event_id", "item_id"),
    "user_v2": ("user_pseudo_id",),
    "session": ("user_pseudo_id", "session_id"),
}


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_etl", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _line(bench: Any, events: list[dict[str, Any]], **fields: Any) -> str:
    import random

    request = bench._request(random.Random(1), "shop_web", events, bench.START_MS + 60_000)
    return json.dumps(request | fields)


def _edge_cases(bench: Any, raw: Path) -> None:
    import random

    rng = random.Random(3)
    good = bench._session_events(rng, "shop_android", bench.START_MS)
    wrong_types = [
        good[0] | {"event_id": "wrong-1", "screen_width": "wide", "timestamp": str(bench.START_MS)},
        good[1] | {"event_id": "wrong-2", "attributes": "not an object", "user": [1, 2]},
        good[2] | {"event_id": "wrong-3", "timestamp": "soon"},
        good[3] | {"event_id": "huge-ok", "attributes": {f"k{i}": i for i in range(900)} | {"x": {"a": [1]}}},
        good[4] | {"event_id": "huge-bad", "attributes": {f"k{i}": i for i in range(1001)}},
        good[5] | {"event_id": "unknown-top", "my_key": True, "zone_offset": -3600500, "platform": "iOS"},
    ]
    packed = base64.b64encode(gzip.compress(json.dumps(good).encode())).decode()
    lines = [
        _line(bench, good, data=packed, compression="gzip"),
        _line(bench, good, data=packed, compression="gzip"),  # a replayed request
        _line(bench, wrong_types),
        _line(bench, good[:2], data="%%% not base64 %%%"),
        _line(bench, good[:2], data=base64.b64encode(gzip.compress(b"[]") + b"junk").decode()),
        _line(bench, good[:2], data=""),
        _line(bench, good[:2], data="[{not json"),
        _line(bench, good[:2], data="[]"),
        '{"ip": "81.2.69.160", "data": "[{\\"event_id',  # a truncated line
        "not json at all",
    ]
    hour = raw / "year=2025/month=11/day=24/hour=23"
    hour.mkdir(parents=True, exist_ok=True)
    (hour / "edge.log.gz").write_bytes(gzip.compress("\n".join(lines).encode()))


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k != "input_file_name"}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _tables(out: Path) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    found = {}
    for table, keys in KEYS.items():
        rows = [_normal(r) for r in read_table(out / table)]
        found[table] = {tuple(r[k] for k in keys): r for r in rows}
        assert len(found[table]) == len(rows), f"{table}: repeated keys"
    return found


def _corrupted(out: Path) -> list[tuple[str, str]]:
    rows = []
    for path in (out / "job-data" / "corrupted").rglob("*.gz"):
        text = gzip.decompress(path.read_bytes()).decode()
        rows += [json.loads(line) for line in text.splitlines() if line]
    return sorted((r.get("reason", ""), r.get("rid") or r.get("_corrupt_record", "")) for r in rows)


def test_both_engines_write_the_same_tables(spark: SparkSession, tmp_path: Path) -> None:
    bench = _generator()
    raw = tmp_path / "raw"
    bench.generate(tmp_path / "gen", 1000, seed=11)
    shutil.copytree(tmp_path / "gen" / f"clickstream/{bench.PROJECT}/data/buffer", raw)
    _edge_cases(bench, raw)
    figures: dict[str, dict[str, Any]] = {}
    now = int(
        time.time() * 1000
    )  # one clock for both engines: process_time and created_time are compared too
    for engine, session in (("duckdb", None), ("spark", spark)):
        layout = dir_layout(str(raw), str(tmp_path / engine))
        options: dict[str, Any] = {
            "app_ids": list(bench.APPS),
            "plugins": ["clickstream", "traffic", "ua", "geo"],
            "now_ms": now,
        }
        result = job.run_job(session, layout, job_config(job_name="run-1", **options))
        figures[engine] = {k: v for k, v in result.items() if k != "duration_s"}
    assert figures["duckdb"] == figures["spark"]
    assert figures["duckdb"]["corrupted"] >= 8 and figures["duckdb"]["deduplicated"] > 0

    duck, spark_tables = _tables(tmp_path / "duckdb"), _tables(tmp_path / "spark")
    for table in KEYS:
        assert duck[table].keys() == spark_tables[table].keys(), table
        assert duck[table], table
        for key, row in duck[table].items():
            other = spark_tables[table][key]
            for column, value in row.items():
                assert value == other[column], (table, key, column)
    assert _corrupted(tmp_path / "duckdb") == _corrupted(tmp_path / "spark")
    reasons = {reason for reason, _ in _corrupted(tmp_path / "duckdb")}
    assert {
        body.NOT_PACKED,
        body.TRAILING,
        "more than 1000 attributes",
        "line is not a JSON object",
    } <= reasons


def test_duckdb_parts_in_memory_or_in_files_give_the_same_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DuckDB engine keeps a part's rows in memory up to a share of its memory limit, in a compressed
    database file past it: the tables are the same either way, and a run that fills that share uses both."""
    from etl import duck

    bench = _generator()
    raw = tmp_path / "raw"
    bench.generate(tmp_path / "gen", 1000, seed=5)
    (generated,) = (tmp_path / "gen").rglob("*.log.gz")
    lines = gzip.decompress(generated.read_bytes()).decode().splitlines()
    raw.mkdir()
    for n in range(8):  # a chunk per file (CHUNK_BYTES), a part per worker and chunk
        (raw / f"part-{n}.json").write_text("\n".join(lines[n::8]) + "\n")
    monkeypatch.setattr(duck, "CHUNK_BYTES", 1)
    placed: dict[float, list[str]] = {}
    choose = duck._part_database
    now = int(time.time() * 1000)
    for share in (1.0, 0.0, -1.0):

        def spy(cursor: Any, file: str, limit: float, share: float = share) -> str:
            # (-1: the first two parts in memory, then the memory counted as full)
            taken = placed.setdefault(share, [])
            if share < 0:
                monkeypatch.setattr(duck, "MEMORY_PARTS", 1.0 if len(taken) < 2 else 0.0)
            taken.append(choose(cursor, file, limit))
            return taken[-1]

        monkeypatch.setattr(duck, "MEMORY_PARTS", share)
        monkeypatch.setattr(duck, "_part_database", spy)
        layout = dir_layout(str(raw), str(tmp_path / str(share)))
        job.run_job(None, layout, job_config(job_name="run-1", app_ids=list(bench.APPS), now_ms=now))
    assert set(placed[1.0]) == {"memory"} and "memory" not in placed[0.0]
    assert placed[-1.0][:2] == ["memory", "memory"] and "memory" not in placed[-1.0][2:]
    assert len(placed[-1.0]) > 2
    tables = {share: _tables(tmp_path / str(share)) for share in placed}
    assert tables[1.0]["event_v2"] and tables[1.0] == tables[0.0] == tables[-1.0]
