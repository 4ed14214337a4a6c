"""Request bodies on the Spark reader the GTM and Sensors transformers use: plain JSON arrays, and
base64(gzip(JSON)) unpacked by etl.body.inflate in an Arrow UDF, with the reason when refused."""

from __future__ import annotations

import base64
import gzip

from pyspark.sql import SparkSession

from etl import read

EVENTS = '[{"event_id":"e1"},{"event_id":"é2"}]'


def _b64gzip(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data)).decode()


def test_bodies_are_unpacked_or_null_with_the_reason(spark: SparkSession) -> None:
    cases = {
        "plain": EVENTS,
        "gzip": _b64gzip(EVENTS.encode()),
        "gzip with line breaks": "\n".join(_b64gzip(EVENTS.encode())[i : i + 20] for i in range(0, 80, 20))
        + _b64gzip(EVENTS.encode())[80:],
        "not base64": "%%% not base64 %%%",
        "base64 but not gzip": base64.b64encode(b"plain bytes").decode(),
        "truncated gzip": _b64gzip(EVENTS.encode())[:24],
        "gzip but not UTF-8": _b64gzip(b"[\xff\xfe]"),
    }
    raw = spark.createDataFrame([(k, v) for k, v in cases.items()], "case string, data string")
    decoded = {r["case"]: r for r in read.decode_bodies(raw).collect()}
    bodies = {case: r["body"] for case, r in decoded.items()}
    assert decoded["gzip but not UTF-8"]["body_error"] == "inflated body is not UTF-8"
    assert decoded["truncated gzip"]["body_error"] == "gzip body is truncated"
    assert decoded["plain"]["body_error"] is None
    assert bodies["plain"] == EVENTS
    assert bodies["gzip"] == EVENTS
    assert bodies["gzip with line breaks"] == EVENTS
    for bad in ("not base64", "base64 but not gzip", "truncated gzip", "gzip but not UTF-8"):
        assert bodies[bad] is None, bad
