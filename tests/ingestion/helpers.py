"""Request bodies as the SDKs build them, and lake look-ups by request id."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
import uuid
from pathlib import Path

from tests.ingestion.conftest import lake_records, wait_until


def events(app_id: str = "shop_web", count: int = 3, platform: str = "Web") -> list[dict]:
    now = int(time.time() * 1000)
    return [
        {
            "event_type": "_screen_view" if platform != "Web" else "_page_view",
            "event_id": str(uuid.uuid4()),
            "app_id": app_id,
            "unique_id": "u-1",
            "timestamp": now + i,
            "platform": platform,
            "attributes": {"_session_id": "s-1", "n": i},
        }
        for i in range(count)
    ]


def web_body(count: int = 3) -> bytes:
    return json.dumps(events(count=count)).encode()


def mobile_body(count: int = 3) -> str:
    """As the Android SDK sends it: base64 of gzip of the JSON array text."""
    raw = json.dumps(events("shop_android", count, "Android")).encode()
    return base64.b64encode(gzip.compress(raw)).decode()


def mobile_query(body: str, sequence: int = 7, upload: int | None = None) -> str:
    hash_code = hashlib.sha256(body.encode()).hexdigest()[:8]
    upload = upload or int(time.time() * 1000)
    return (
        f"platform=Android&appId=shop_android&hashCode={hash_code}"
        f"&event_bundle_sequence_id={sequence}&upload_timestamp={upload}&compression=gzip"
    )


def records_by_rid(lake: Path, rids: set[str], timeout: float = 15.0) -> dict[str, dict]:
    """Wait until every request id has its record in the lake; return them by rid."""
    found: dict[str, dict] = {}

    def all_there() -> bool:
        found.clear()
        found.update({r["rid"]: r for r in lake_records(lake) if r["rid"] in rids})
        return len(found) == len(rids)

    wait_until(all_there, timeout=timeout, interval=0.2)
    return found
