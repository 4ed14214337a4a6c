"""Whole runs on a temporary lake: exactly-once effect, killed runs, late and replayed files, bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from etl import job
from etl.lake import Layout, dir_layout
from tests.etl.conftest import copy_raw, job_config, read_table

pytestmark = pytest.mark.spark
EVENT_ID = "1fcd7f5b-9529-4977-a303-e8c7e39db7b898"


def _run(spark: SparkSession | None, layout: Layout, name: str, **options: Any) -> dict[str, Any]:
    return job.run_job(spark, layout, job_config(job_name=name, **options))


def _event_ids(out: Path) -> list[str]:
    return [r["event_id"] for r in read_table(out / "event_v2")]


def _visible_files(out: Path) -> list[Path]:
    return sorted(p for table in job.TABLE_NAMES for p in (out / table).rglob("*.parquet"))


def test_replayed_requests_count_once_within_and_across_runs(
    engine: SparkSession | None, anchor_fixtures: Path, tmp_path: Path
) -> None:
    raw = copy_raw(anchor_fixtures, ["original_data_nozip.json"], tmp_path / "raw")
    shutil.copy(raw / "original_data_nozip.json", raw / "replayed-by-the-collector.json")
    layout = dir_layout(str(raw), str(tmp_path / "out"))

    first = _run(engine, layout, "run-1")
    assert (first["files"], first["rows_out"], first["deduplicated"]) == (2, 1, 1)
    assert _run(engine, layout, "run-2")["files"] == 0  # nothing pending: a re-run writes nothing

    late = raw / "year=2023/month=04/day=24/hour=06"  # a late file in an hour processed long ago
    late.mkdir(parents=True)
    shutil.copy(anchor_fixtures / "original_data.json", late / "late.json")
    third = _run(engine, layout, "run-3")
    assert (third["files"], third["rows_in"], third["deduplicated"], third["rows_out"]) == (1, 2, 1, 1)
    assert sorted(_event_ids(tmp_path / "out")) == sorted(
        [EVENT_ID, "1fa880fe-7095-45b0-91ea-807221de794399"]
    )


def test_a_run_killed_before_its_commit_leaves_nothing_visible_and_is_retried(
    engine: SparkSession | None, anchor_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = copy_raw(anchor_fixtures, ["original_data_with_items.json"], tmp_path / "raw")
    layout = dir_layout(str(raw), str(tmp_path / "out"))

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(job, "_commit", killed)
        with pytest.raises(KeyboardInterrupt):
            _run(engine, layout, "killed")
    assert _visible_files(tmp_path / "out") == []
    assert list((tmp_path / "out" / "job-data" / "runs").iterdir())  # staged, invisible

    retried = _run(engine, layout, "retry")
    assert retried["files"] == 1 and retried["rows_out"] == 1
    assert _event_ids(tmp_path / "out") == [EVENT_ID]
    assert not (tmp_path / "out" / "job-data" / "runs" / "killed").exists()
    assert len(read_table(tmp_path / "out" / "item_v2")) == 3


def test_a_run_killed_while_publishing_is_rolled_forward(
    engine: SparkSession | None, anchor_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = copy_raw(anchor_fixtures, ["original_data_nozip.json"], tmp_path / "raw")
    layout = dir_layout(str(raw), str(tmp_path / "out"))
    real_move = layout.out_store.move
    moves: list[str] = []

    def move_once_then_die(src: str, dst: str) -> None:
        if moves:
            raise KeyboardInterrupt("killed")
        moves.append(src)
        real_move(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(layout.out_store, "move", move_once_then_die)
        with pytest.raises(KeyboardInterrupt):
            _run(engine, layout, "half-published")
    assert len(_visible_files(tmp_path / "out")) == 1

    after = _run(engine, layout, "next")  # recovers the committed run, then finds nothing pending
    assert after["files"] == 0
    tables = {p.relative_to(tmp_path / "out").parts[0] for p in _visible_files(tmp_path / "out")}
    assert tables == {"event_v2", "user_v2"}  # this request has no items and no session events
    assert _event_ids(tmp_path / "out") == [EVENT_ID]


BAD_INPUTS = [
    "original_data_null.json",
    "original_data_raw_json_error.json",
    "original_data_raw_text_error.json",
    "original_data_with_error.json",
    "partition_data/year=2022/month=11/day=11/corrupt_data.json",
    "original_data_with_app1.json",
    "original_data_nozip.json",
]


def test_bad_input_is_counted_and_set_aside_never_fatal(
    engine: SparkSession | None, anchor_fixtures: Path, tmp_path: Path
) -> None:
    raw = copy_raw(anchor_fixtures, BAD_INPUTS, tmp_path / "raw")
    (raw / "huge.json").write_text(_huge_attributes_line(anchor_fixtures))
    result = _run(engine, dir_layout(str(raw), str(tmp_path / "out")), "bad", freshness_hours=72)

    assert result["rows_out"] == 1  # only the good event of original_data_nozip.json
    assert result["filtered"] == 6  # the six events of app1, not a configured app
    corrupted = _corrupted(tmp_path / "out" / "job-data" / "corrupted")
    assert result["corrupted"] == len(corrupted)
    reasons = {row["reason"] for row in corrupted}
    assert {
        "data is null or empty",
        "invalid event JSON",
        "data is neither a JSON array nor base64 gzip",
        "line is not a JSON object",
        "more than 1000 attributes",
    } <= reasons


def _huge_attributes_line(anchor: Path) -> str:
    line = json.loads((anchor / "original_data_nozip.json").read_text().splitlines()[0])
    event = json.loads(line["data"])[0] | {"event_id": "huge-1"}
    event["attributes"] = {f"a{i}": i for i in range(1500)}
    return json.dumps(line | {"data": json.dumps([event])})


def _corrupted(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for path in folder.rglob("*.gz"):
        rows += [
            json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines() if line
        ]
    return rows


def test_corrupted_records_keep_no_client_address_when_anonymising(
    engine: SparkSession | None, anchor_fixtures: Path, tmp_path: Path
) -> None:
    raw = copy_raw(anchor_fixtures, ["original_data_raw_text_error.json"], tmp_path / "raw")
    (raw / "truncated.json").write_text('{"ip": "70.123.241.83", "ua": "x", "data": "[{\\"event_id\\n')
    _run(engine, dir_layout(str(raw), str(tmp_path / "out")), "anonymised", anonymise_ip=True)

    corrupted = _corrupted(tmp_path / "out" / "job-data" / "corrupted")
    text = json.dumps(corrupted)
    assert len(corrupted) == 2
    assert "13.212.229.59" not in text and "70.123.241.83" not in text
    assert {row.get("ip") for row in corrupted} == {"13.212.229.0", None}
    assert "70.123.241.0" in text


def test_duckdb_keeps_the_first_line_of_an_event_repeated_across_batches(
    anchor_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lines are transformed by several workers, a part each, in whatever order they finish; the copy kept
    is still the first line's."""
    from etl import duck

    monkeypatch.setattr(duck, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(duck, "WORKERS", 3)
    line = json.loads((anchor_fixtures / "original_data_nozip.json").read_text())
    raw = tmp_path / "raw"
    raw.mkdir()
    lines = [json.dumps(line | {"rid": f"rid-{i:03d}"}) for i in range(60)]
    (raw / "replays.json").write_text("\n".join(lines) + "\n")
    layout = dir_layout(str(raw), str(tmp_path / "out"))

    figures = _run(None, layout, "run-1")
    assert (figures["rows_out"], figures["deduplicated"]) == (1, 59)
    (row,) = read_table(tmp_path / "out" / "event_v2")
    assert row["event_id"] == EVENT_ID
    assert row["process_info"]["rid"] == "rid-000"


def test_duckdb_a_failing_part_fails_the_run_and_stops_the_reading(
    anchor_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's error reaches the run (nothing is committed), the thread reading ahead is stopped, and the
    run can be tried again."""
    import os
    import tempfile
    import threading

    import duckdb

    from etl import duck

    line = json.loads((anchor_fixtures / "original_data_nozip.json").read_text())
    raw = tmp_path / "raw"
    raw.mkdir()
    for n in range(4):  # several chunks, so the reader is still ahead when the first part fails
        lines = [json.dumps(line | {"rid": f"rid-{n}-{i}"}) for i in range(40)]
        (raw / f"part-{n}.json").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(duck, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(duck, "RAW_SELECT", "SELECT no_such_column FROM lines")
    layout = dir_layout(str(raw), str(tmp_path / "out"))

    with pytest.raises(duckdb.BinderException, match="no_such_column"):
        _run(None, layout, "run-1")
    assert not [t for t in threading.enumerate() if t.name == "etl-read-ahead"]
    assert not (tmp_path / "out" / "job-data" / "commits").exists()
    # its database files are closed and deleted, so the same run can be tried again in this process
    scratch = (
        Path(os.environ.get("CLICKSTREAM_ETL_SCRATCH") or tempfile.gettempdir()) / "clickstream-etl-run-1"
    )
    assert not scratch.exists()
    monkeypatch.undo()
    assert _run(None, layout, "run-1")["rows_out"] == 1  # 160 lines of one event


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["clickstream", "ua", "ua"], "plugins listed more than once: ua"),
        (["gtm", "traffic"], "plugins gtm run on the Spark engine only"),
        (["traffic", "ua"], "the first plugin must be a transformer"),
        (["clickstream", "nope"], "unknown plugins: nope"),
        (["clickstream", "gtm"], "only the first plugin may be a transformer"),
    ],
)
def test_duckdb_refuses_a_plugin_chain_it_cannot_run(names: list[str], message: str) -> None:
    from etl import duck

    with pytest.raises(ValueError, match=message):
        duck.engine_enrichers(names)


def test_duckdb_runs_its_built_in_chain() -> None:
    from etl import duck

    assert duck.engine_enrichers(["clickstream", "traffic", "ua", "geo"]) == ["traffic", "ua", "geo"]


@pytest.mark.parametrize(("mode", "bots"), [("drop", 0), ("flag", 1), ("keep", 1)])
def test_duckdb_bot_mode(anchor_fixtures: Path, tmp_path: Path, mode: str, bots: int) -> None:
    """A crawler's events are dropped (the default), kept with `is_bot` in process_info, or kept as they are."""
    line = json.loads((anchor_fixtures / "original_data_nozip.json").read_text())
    crawler = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    raw = tmp_path / "raw"
    raw.mkdir()
    other = json.loads(line["data"])
    for event in other:
        event["event_id"] += "-bot"
    lines = [json.dumps(line), json.dumps(line | {"ua": crawler, "data": json.dumps(other), "rid": "bot"})]
    (raw / "mixed.json").write_text("\n".join(lines) + "\n")
    layout = dir_layout(str(raw), str(tmp_path / "out"))

    _run(None, layout, "run-1", plugins=["clickstream", "ua"], bot_mode=mode)
    rows = read_table(tmp_path / "out" / "event_v2")
    found = [r for r in rows if r["event_id"].endswith("-bot")]
    assert len(found) == bots and len(rows) == len(found) + 1
    flagged = [r for r in rows if dict(r["process_info"]).get("is_bot") == "true"]
    assert len(flagged) == (1 if mode == "flag" else 0)
    assert all(dict(r["device_ua"])["string"] == crawler for r in found)
    assert all(r["device_ua_device_category"] == "Bot" for r in found)


def test_duckdb_a_line_that_is_not_utf8_has_its_bad_bytes_replaced(
    anchor_fixtures: Path, tmp_path: Path
) -> None:
    """As Spark's reader: the line is read with U+FFFD for the bytes that are not UTF-8, the others are untouched."""
    line = json.loads((anchor_fixtures / "original_data_nozip.json").read_text())
    events = json.loads(line["data"])
    for event in events:
        event["event_id"] += "-bad"
    good = json.dumps(line).encode()
    bad = json.dumps(line | {"rid": "bad-ua", "ua": "agent-UA", "data": json.dumps(events)}).encode()
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "mixed.json").write_bytes(good + b"\n" + bad.replace(b"agent-UA", b"agent-\xff\xfe") + b"\n")
    layout = dir_layout(str(raw), str(tmp_path / "out"))

    _run(None, layout, "run-1")
    rows = {r["event_id"]: r for r in read_table(tmp_path / "out" / "event_v2")}
    assert len(rows) == 2
    (bad_row,) = [r for r in rows.values() if r["event_id"].endswith("-bad")]
    assert dict(bad_row["device_ua"])["string"] == "agent-\ufffd\ufffd"
