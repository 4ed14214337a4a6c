"""Request body inflation (issue 10 item 4): every gzip member, one total cap, no trailing bytes, UTF-8 only —
on both engines (the DuckDB SQL calls `etl.body.inflate_arrow`, which Spark runs inside its tasks too)."""

from __future__ import annotations

import base64
import gzip

import pyarrow as pa

from etl import body, sql

EVENTS = '[{"event_id":"e1"},{"event_id":"é2"}]'


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_every_member_is_inflated_under_one_cap() -> None:
    two = gzip.compress(EVENTS[:10].encode()) + gzip.compress(EVENTS[10:].encode())
    assert body.inflate(_b64(two)) == (EVENTS, None)
    # A small body whose second member inflates past the cap is refused, however small the first one is.
    bomb = gzip.compress(b"[") + gzip.compress(b" " * (body.MAX_INFLATED_BYTES + 1))
    assert len(bomb) < 40_000
    assert body.inflate(_b64(bomb)) == (None, body.TOO_LARGE)
    assert body.inflate(_b64(gzip.compress(b"x" * 101)), max_inflated=100)[0] is None


def test_trailing_garbage_truncation_and_non_utf8_are_refused_with_a_reason() -> None:
    good = gzip.compress(EVENTS.encode())
    assert body.inflate(_b64(good + b"garbage")) == (None, body.TRAILING)
    assert body.inflate(_b64(good[:-6])) == (None, body.TRUNCATED)
    assert body.inflate(_b64(gzip.compress(b"[\xff\xfe]"))) == (None, body.NOT_UTF8)
    assert body.inflate("%%% not base64 %%%") == (None, body.NOT_PACKED)
    assert body.inflate(_b64(b"plain bytes")) == (None, body.NOT_PACKED)


def test_the_shared_sql_counts_a_refused_body_as_corrupted_with_its_reason() -> None:
    from tests.etl.conftest import job_config

    cfg = job_config()
    data = _b64(gzip.compress(EVENTS.encode()) + b"garbage")
    raw = {
        name: pa.array([None], pa.string())
        for name in ("input_file_name", *sql.RAW_FIELDS, "_corrupt_record")
    }
    raw["data"] = pa.array([data])
    con = sql.connect(cfg)
    con.register("raw", pa.table(raw))
    rows = con.execute(sql.event_sql(cfg)).fetch_arrow_table().to_pylist()
    assert [(r["status"], r["error"], r["data"]) for r in rows] == [("corrupted", body.TRAILING, data)]
