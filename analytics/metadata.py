"""The metadata catalog (spec/analytics.md §4): after each load, scan the app's event names, event
parameters and user attributes — type, count, top values, platforms, first and last seen.

Preset columns are counted in the warehouse; custom parameters and user attributes live in JSON strings,
whose keys are read in Python from the scan window's rows (the same on every engine). Display names and
descriptions that people wrote are kept across scans.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from analytics.choices import AttributeKind, ValueType
from analytics.models import AttributeMetadata, EventMetadata
from analytics.sql import Params, Query
from analytics.warehouse import NoData, Warehouse

TOP_VALUES = 20
SCAN_DAYS = 90
SAMPLE_ROWS = 200_000
# Preset columns whose values are worth listing (scanValue=true in the original's DDL comments, §1.2).
EVENT_COLUMNS_SCANNED = (
    "platform", "app_version", "geo_country", "geo_city", "device_mobile_model_name", "device_operating_system",
    "device_ua_browser", "traffic_source_source", "traffic_source_medium", "page_view_page_title",
    "page_view_page_url_path", "screen_view_screen_name", "screen_view_screen_id",
)  # fmt: skip
SESSION_COLUMNS_SCANNED = ("session_source", "session_medium", "session_channel_group")
USER_COLUMNS_SCANNED = ("first_traffic_source", "first_traffic_medium", "first_traffic_channel_group",
                        "first_app_install_source")  # fmt: skip


@dataclass
class Catalog:
    """What explore may name for one app: event names and (category, name) → value type of attributes."""

    events: set[str] = field(default_factory=set)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_app(cls, app: Any) -> Catalog:
        events = EventMetadata.objects.for_organization(app.organization).filter(app=app)
        attributes = AttributeMetadata.objects.for_organization(app.organization).filter(app=app)
        return cls(
            events={e.name for e in events},
            attributes={(a.category, a.name): a.value_type for a in attributes},
            labels={e.name: e.display_name for e in events if e.display_name},
        )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return ValueType.BOOLEAN
    if isinstance(value, int | float):
        return ValueType.NUMBER
    return ValueType.STRING


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def metadata_scan(*, project: Any, warehouse: Warehouse) -> int:
    """Scans every app of the project; returns how many catalog rows were written."""
    written = 0
    for app in project.apps.all():
        try:
            written += _scan_app(app, warehouse)
        except NoData:
            continue
    return written


def _run(warehouse: Warehouse, app: Any, name: str, sql: str, params: Params) -> list[dict[str, Any]]:
    return warehouse.run(Query.parse(name, sql, params), app_id=app.app_id, use_cache=False).dicts()


def _scan_app(app: Any, warehouse: Warehouse) -> int:
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=SCAN_DAYS)
    params = Params()
    app_p = params.bind(app.app_id)
    events = _run(warehouse, app, "metadata: events", "SELECT event_name, platform, count(*) AS n,"
                  " min(event_timestamp) AS first_seen, max(event_timestamp) AS last_seen FROM event_v2"
                  f" WHERE app_id = {app_p} GROUP BY 1, 2", params)  # fmt: skip
    params = Params()
    sample = _run(warehouse, app, "metadata: parameters", "SELECT event_name, platform, event_timestamp,"
                  " custom_parameters_json_str FROM event_v2 WHERE custom_parameters_json_str IS NOT NULL AND"
                  f" app_id = {params.bind(app.app_id)} AND event_timestamp >= CAST({params.bind(since)} AS TIMESTAMP)"
                  f" ORDER BY event_timestamp DESC LIMIT {params.bind(SAMPLE_ROWS)}", params)  # fmt: skip
    params = Params()
    users = _run(warehouse, app, "metadata: users", "SELECT user_properties_json_str, event_timestamp FROM user_v2"
                 f" ORDER BY event_timestamp DESC LIMIT {params.bind(SAMPLE_ROWS)}", params)  # fmt: skip
    rows = _event_rows(events) + _parameter_rows(sample) + _user_rows(users)
    rows += _column_rows(warehouse, app, "event_v2", EVENT_COLUMNS_SCANNED, AttributeKind.EVENT_COLUMN)
    rows += _column_rows(warehouse, app, "session", SESSION_COLUMNS_SCANNED, AttributeKind.EVENT_COLUMN)
    rows += _column_rows(warehouse, app, "user_v2", USER_COLUMNS_SCANNED, AttributeKind.USER_COLUMN)
    _store(app, rows)
    return len(rows)


def _event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for r in events:
        item = merged.setdefault(r["event_name"], {"model": EventMetadata, "name": r["event_name"], "count": 0,
                                                   "platforms": set(), "first_seen": None, "last_seen": None})  # fmt: skip
        item["count"] += r["n"]
        if r["platform"]:
            item["platforms"].add(r["platform"])
        item["first_seen"] = min(filter(None, [item["first_seen"], _aware(r["first_seen"])]), default=None)
        item["last_seen"] = max(filter(None, [item["last_seen"], _aware(r["last_seen"])]), default=None)
    return list(merged.values())


def _parameter_rows(sample: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for r in sample:
        try:
            values = json.loads(r["custom_parameters_json_str"])
        except (TypeError, ValueError):
            continue
        for key, value in values.items() if isinstance(values, dict) else []:
            item = found.setdefault(key, {"model": AttributeMetadata, "kind": AttributeKind.EVENT_PARAMETER,
                                          "name": key, "count": 0, "values": Counter(), "types": Counter(),
                                          "platforms": set(), "events": set(), "first_seen": None, "last_seen": None})  # fmt: skip
            _observe(item, value, _aware(r["event_timestamp"]))
            item["platforms"].add(r["platform"])
            item["events"].add(r["event_name"])
    return list(found.values())


def _user_rows(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for r in users:
        try:
            props = json.loads(r["user_properties_json_str"] or "{}")
        except ValueError:
            continue
        for key, holder in props.items():
            if "timestamp" in key:  # spec §4.1: names containing "timestamp" are not attributes
                continue
            value = holder.get("value") if isinstance(holder, dict) else holder
            item = found.setdefault(key, {"model": AttributeMetadata, "kind": AttributeKind.USER_ATTRIBUTE,
                                          "name": key, "count": 0, "values": Counter(), "types": Counter(),
                                          "platforms": set(), "events": set(), "first_seen": None, "last_seen": None})  # fmt: skip
            _observe(item, value, _aware(r["event_timestamp"]))
    return list(found.values())


def _observe(item: dict[str, Any], value: Any, seen: datetime | None) -> None:
    item["count"] += 1
    item["types"][_json_type(value)] += 1
    item["values"][str(value)[:100]] += 1
    if seen is not None:
        item["first_seen"] = min(filter(None, [item["first_seen"], seen]))
        item["last_seen"] = max(filter(None, [item["last_seen"], seen]))


def _column_rows(
    warehouse: Warehouse, app: Any, table: str, columns: tuple[str, ...], kind: str
) -> list[dict]:
    out = []
    for column in columns:
        params = Params()
        rows = _run(warehouse, app, f"metadata: {column}", f"SELECT {column} AS value, count(*) AS n FROM {table}"
                    f" WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {params.bind(TOP_VALUES)}",
                    params)  # fmt: skip
        if not rows:
            continue
        out.append({"model": AttributeMetadata, "kind": kind, "name": column, "count": sum(r["n"] for r in rows),
                    "values": Counter({str(r["value"]): r["n"] for r in rows}), "types": Counter({ValueType.STRING: 1}),
                    "platforms": set(), "events": set(), "first_seen": None, "last_seen": None})  # fmt: skip
    return out


@transaction.atomic
def _store(app: Any, rows: list[dict[str, Any]]) -> None:
    """Upserts the scanned figures; display names and descriptions are left as people wrote them."""
    now = timezone.now()
    for row in rows:
        model = row.pop("model")
        keys = {"app": app, "name": row["name"]} | (
            {"kind": row["kind"]} if model is AttributeMetadata else {}
        )
        figures: dict[str, Any] = {
            "count": row["count"], "platforms": sorted(row["platforms"]), "first_seen": row["first_seen"],
            "last_seen": row["last_seen"], "scanned": now,
        }  # fmt: skip
        if model is AttributeMetadata:
            figures |= {
                "value_type": row["types"].most_common(1)[0][0],
                "top_values": [[v, n] for v, n in row["values"].most_common(TOP_VALUES)],
                "events": sorted(row["events"])[:1000],
            }
        model.objects.unscoped().update_or_create(organization=app.organization, **keys, defaults=figures)


def catalog_summary(*, app: Any) -> dict[str, Any]:
    """Counts by kind, for the metadata page header."""
    counts: dict[str, int] = defaultdict(int)
    for kind in (
        AttributeMetadata.objects.for_organization(app.organization)
        .filter(app=app)
        .values_list("kind", flat=True)
    ):
        counts[kind] += 1
    return dict(counts)
