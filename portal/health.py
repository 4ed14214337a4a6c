"""The health of each part of the system: database, task queue, collector, and the parts domain apps register
(`registry.register_health_check`: processing, warehouse).

What `/api/v1/health` shows anyone is a state and a sentence per part, naming no organization, project or
person; `staff` adds what helps an operator (hosts, counts, the failing project) on the portal's page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import connection

from portal import registry

OK, DEGRADED = "ok", "degraded"
COLLECTOR_TIMEOUT = 2.0


@dataclass
class PartState:
    """One part's state: `status` is ok or degraded, `detail` a sentence anyone may read, `staff` more."""

    status: str
    detail: str
    staff: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail}


def health_report(*, staff: bool = False) -> dict[str, Any]:
    """`{"status": "ok"|"degraded", "parts": {name: {"status", "detail"[, "staff"]}}}`; a check that raises
    makes its part degraded with the error's type (the message may hold paths or data)."""
    parts: dict[str, dict[str, Any]] = {}
    for check in registry.health_checks():
        try:
            state = check.check()
        except Exception as exc:  # a broken check is a degraded part, not a broken page
            state = PartState(DEGRADED, f"the check failed ({type(exc).__name__})", {"error": str(exc)})
        parts[check.name] = {**state.public(), **({"staff": state.staff} if staff and state.staff else {})}
    overall = OK if all(p["status"] == OK for p in parts.values()) else DEGRADED
    return {"status": overall, "parts": parts}


def database_check() -> PartState:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    took = (time.monotonic() - started) * 1000
    return PartState(OK, f"{connection.vendor} answers", {"took_ms": round(took, 1)})


def queue_check() -> PartState:
    """A django-q2 cluster saves its stat every half second, kept 3 s (the ORM broker keeps it in the shared
    `queue` cache, Redis in Redis): none means no worker is running."""
    from django_q.status import Stat

    clusters = [stat for stat in Stat.get_all() if stat is not None]
    if not clusters:
        return PartState(
            DEGRADED, "no worker has reported in the last few seconds: is `manage.py qcluster` running?"
        )
    workers = sum(len(stat.workers) for stat in clusters)
    return PartState(
        OK,
        f"{len(clusters)} worker cluster{'s' * (len(clusters) != 1)} running, {workers} workers",
        {"clusters": [{"host": s.host, "status": s.status, "uptime": round(s.uptime())} for s in clusters]},
    )


def collector_health_url() -> str:
    """The collector's `/health` beside the ingestion endpoint the SDK guide shows."""
    configured = getattr(settings, "CLICKSTREAM_COLLECTOR_HEALTH_URL", "")
    if configured:
        return str(configured)
    parts = urlsplit(settings.CLICKSTREAM_INGESTION_ENDPOINT)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))


def collector_check() -> PartState:
    url = collector_health_url()
    try:
        response = httpx.get(url, timeout=COLLECTOR_TIMEOUT)
    except httpx.HTTPError as exc:
        return PartState(DEGRADED, "the collector does not answer", {"url": url, "error": str(exc)})
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or body.get("status") != OK:
        return PartState(
            DEGRADED,
            f"the collector says it is unhealthy (HTTP {response.status_code})",
            {"url": url, **body},
        )
    return PartState(OK, f"the collector answers; sink {body.get('sink', '?')}", {"url": url, **body})


registry.register_health_check(name="database", check=database_check, order=10)
registry.register_health_check(name="queue", check=queue_check, order=20)
registry.register_health_check(name="collector", check=collector_check, order=30)
