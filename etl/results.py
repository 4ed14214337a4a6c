"""The figures of a run, from the job's status counts: what a Job row records and CloudWatch receives."""

from __future__ import annotations

from typing import Any

OK, CORRUPT, STALE, FUTURE, UNKNOWN_APP = (
    "ok",
    "corrupted",
    "filtered_freshness",
    "filtered_future",
    "filtered_app",
)


def summary(counts: dict[str, int], files: int) -> dict[str, Any]:
    """rows in / out / corrupted / filtered / de-duplicated from the per-status counts of a run."""
    filtered = sum(counts.get(k, 0) for k in (STALE, FUTURE, UNKNOWN_APP))
    return {
        "files": files,
        "requests": counts.get("requests", 0),
        "rows_in": counts.get(OK, 0) + counts.get(CORRUPT, 0) + filtered,
        "rows_out": counts.get("event_v2", 0),
        "corrupted": counts.get(CORRUPT, 0),
        "filtered": filtered + counts.get("filtered_bot", 0),
        "filtered_bot": counts.get("filtered_bot", 0),
        "deduplicated": counts.get("deduplicated", 0),
    }
