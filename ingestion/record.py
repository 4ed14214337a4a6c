"""The raw record: one per accepted request, in the original's layout (spec/ingestion.md §1.9).

Keys are written in sorted order, absent query values are ``null``, ``ingest_time`` is epoch milliseconds
truncated to whole seconds, ``rid`` is 32 lowercase hex characters, ``uri`` is the raw path and query.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

_random_bits = random.Random().getrandbits  # seeded from os.urandom


@dataclass(slots=True)
class Clock:
    """The time of one request, in every form the record and the spool need."""

    date: str  # nginx $time_iso8601
    timestamp: str  # RFC 3339 UTC with microseconds
    ingest_ms: int
    hour_key: str  # YYYYMMDDHH


class ClockCache:
    """Formats times once per second: the per-request part is only the sub-second fraction."""

    def __init__(self) -> None:
        self._second = -1
        self._base = ""
        self._date = ""
        self._hour_key = ""

    def now(self, now: float | None = None) -> Clock:
        now = time.time() if now is None else now
        second = int(now)
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._second = second
            self._base = moment.strftime("%Y-%m-%dT%H:%M:%S")
            self._date = self._base + "+00:00"
            self._hour_key = moment.strftime("%Y%m%d%H")
        micros = int((now - second) * 1_000_000)
        return Clock(self._date, f"{self._base}.{micros:06d}Z", second * 1000, self._hour_key)


def new_request_id() -> str:
    """Like nginx's $request_id: 32 lowercase hex characters (from a generator seeded by the OS: unique
    enough for an id, and without a system call per request)."""
    return f"{_random_bits(128):032x}"


def build_record(
    *,
    clock: Clock,
    query: dict[str, str],
    data: str,
    ip: str,
    ua: str | None,
    path: str,
    uri: str,
    rid: str,
    dev_mode: bool = False,
) -> bytes:
    """The record as compact JSON, keys in sorted order as Vector's JSON codec writes them."""
    fake_ip = query.get("fakeIp")
    consumed = dev_mode and bool(fake_ip)
    if consumed:
        ip = fake_ip  # type: ignore[assignment]
    upload = query.get("upload_timestamp")
    record: dict[str, object] = {"appId": query.get("appId")}
    if upload is not None:
        record["client_timestamp"] = upload
    record["compression"] = query.get("compression")
    record["data"] = data
    record["date"] = clock.date
    if not consumed:
        record["fakeIp"] = fake_ip
    record["ingest_time"] = clock.ingest_ms
    record["ip"] = ip
    record["method"] = "POST"
    record["path"] = path
    record["platform"] = query.get("platform")
    record["rid"] = rid
    record["server_ingest_time"] = clock.ingest_ms
    record["source_type"] = "http_server"
    record["timestamp"] = clock.timestamp
    record["ua"] = ua
    if upload is None:
        record["upload_timestamp"] = None
    record["uri"] = uri
    return orjson.dumps(record)
