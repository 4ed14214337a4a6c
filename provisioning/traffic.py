"""What the local collector received per app, read from the project's raw buffer in the lake.

Cheap by construction: only the newest hour partitions are opened (the folder names say the hour), and in
them only the `appId` and `ingest_time` of each record are used. Counts are requests (one raw record per
request; a request may carry a batch of events), except for the last minutes, whose events are counted too
(their bodies decoded as the collector validated them): what the app page shows while a developer tries the SDK.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ingestion.body import BadBody, validate_body
from ingestion.layout import decode_object

HOURS_SCANNED = 48  # how far back "last received" looks
RECENT_SECONDS = 600  # "the last minutes": requests this recent have their events counted


@dataclass
class AppTraffic:
    first_seen: datetime | None = None  # the earliest record in the partitions read
    last_received: datetime | None = None
    last_hour: int = 0
    recent_requests: int = 0
    recent_events: int = 0


def app_traffic(*, buffer: Path, now: float | None = None) -> dict[str, AppTraffic]:
    now = time.time() if now is None else now
    hour_ago_ms, recent_ms = (now - 3600) * 1000, (now - RECENT_SECONDS) * 1000
    result: dict[str, AppTraffic] = {}
    for partition in _newest_partitions(buffer, limit=HOURS_SCANNED):
        for path in partition.glob("*.log.gz"):
            for app_id, ingest_ms, data in _records(path):
                seen = datetime.fromtimestamp(ingest_ms / 1000, tz=UTC)
                traffic = result.setdefault(app_id, AppTraffic())
                traffic.last_received = max(filter(None, (traffic.last_received, seen)))
                traffic.first_seen = min(filter(None, (traffic.first_seen, seen)))
                traffic.last_hour += ingest_ms >= hour_ago_ms
                if ingest_ms >= recent_ms:
                    traffic.recent_requests += 1
                    traffic.recent_events += _events(data)
    return result


def _events(data: str) -> int:
    try:
        return validate_body(data.encode(), max_inflated=8 * 1024 * 1024)[1]
    except BadBody:
        return 0


def _newest_partitions(buffer: Path, *, limit: int) -> list[Path]:
    hours = sorted(buffer.glob("year=*/month=*/day=*/hour=*"), key=lambda p: p.parts[-4:], reverse=True)
    return hours[:limit]


def _records(path: Path) -> list[tuple[str, int, str]]:
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
            data = record.get("data")
            out.append(
                (record["appId"], int(record.get("ingest_time") or 0), data if isinstance(data, str) else "")
            )
    return out
