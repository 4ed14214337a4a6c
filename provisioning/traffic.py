"""What the local collector received per app, read from the project's raw buffer in the lake.

Cheap by construction: only the newest hour partitions are opened (the folder names say the hour), and in
them only the `appId` and `ingest_time` of each record are used. Counts are requests (one raw record per
request; a request may carry a batch of events).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ingestion.layout import decode_object

HOURS_SCANNED = 48  # how far back "last received" looks


@dataclass
class AppTraffic:
    first_seen: datetime | None = None  # the earliest record in the partitions read
    last_received: datetime | None = None
    last_hour: int = 0


def app_traffic(*, buffer: Path, now: float | None = None) -> dict[str, AppTraffic]:
    now = time.time() if now is None else now
    hour_ago_ms = (now - 3600) * 1000
    result: dict[str, AppTraffic] = {}
    for partition in _newest_partitions(buffer, limit=HOURS_SCANNED):
        for path in partition.glob("*.log.gz"):
            for app_id, ingest_ms in _records(path):
                seen = datetime.fromtimestamp(ingest_ms / 1000, tz=UTC)
                traffic = result.setdefault(app_id, AppTraffic())
                traffic.last_received = max(filter(None, (traffic.last_received, seen)))
                traffic.first_seen = min(filter(None, (traffic.first_seen, seen)))
                traffic.last_hour += ingest_ms >= hour_ago_ms
    return result


def _newest_partitions(buffer: Path, *, limit: int) -> list[Path]:
    hours = sorted(buffer.glob("year=*/month=*/day=*/hour=*"), key=lambda p: p.parts[-4:], reverse=True)
    return hours[:limit]


def _records(path: Path) -> list[tuple[str, int]]:
    try:
        lines = decode_object(path.read_bytes())
    except (OSError, EOFError, ValueError):  # a file the collector is still writing, or a damaged one
        return []
    out = []
    for line in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("appId"), str):
            out.append((record["appId"], int(record.get("ingest_time") or 0)))
    return out
