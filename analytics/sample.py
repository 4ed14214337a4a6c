"""Generated clickstream events written as the data model v2 (spec/etl.md §3) in the lake layout.

The tests and `make bench-analytics` need events whose every metric can be recomputed by hand: this writes
event_v2, user_v2 and session Parquet exactly where the ETL writes them, without running the (slow) ETL.
`generate_events` returns the rows too, so a test can compute the expected figures in plain Python.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from etl.model import PARTITION_COLUMNS, TABLES

PLATFORMS = ("Web", "Android", "iOS")
COUNTRIES = (
    ("United States", "Seattle"),
    ("United States", "Austin"),
    ("Germany", "Berlin"),
    ("Japan", "Tokyo"),
)
SOURCES = (
    ("google", "organic", "Organic Search"),
    ("facebook", "cpc", "Paid Social"),
    (None, None, "Direct"),
)
PAGES = ("Home", "Products", "Product detail", "Cart", "Checkout")
SCREENS = ("MainActivity", "ProductActivity", "CartActivity")
DEVICES = {
    "Android": ("Pixel 8", "Android", "14"),
    "iOS": ("iPhone15,2", "iOS", "17.1"),
    "Web": (None, None, None),
}
CUSTOM_EVENTS = ("view_item", "add_to_cart", "purchase")


def arrow_type(spark_type: str) -> pa.DataType:
    """The Arrow type the ETL's Spark writer gives each column of the data model."""
    simple = {
        "timestamp": pa.timestamp("us", tz="UTC"),
        "string": pa.string(),
        "bigint": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "map<string,string>": pa.map_(pa.string(), pa.string()),
    }
    if spark_type in simple:
        return simple[spark_type]
    fields = [pa.field("value", pa.string()), pa.field("type", pa.string())]
    if "set_time_msec" in spark_type:
        fields.append(pa.field("set_time_msec", pa.int64()))
    return pa.map_(pa.string(), pa.struct(fields))


def table_schema(table: str) -> pa.Schema:
    return pa.schema([pa.field(name, arrow_type(kind)) for name, kind in TABLES[table]])


@dataclass
class Sample:
    """What was generated: the rows of each table (dicts with every column), by table name."""

    events: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)


def _event(
    app: dict[str, Any], user: dict[str, Any], session: dict[str, Any], name: str, ts: datetime
) -> dict:
    platform = user["platform"]
    model, os_name, os_version = DEVICES[platform]
    row: dict[str, Any] = {
        "event_timestamp": ts,
        "event_id": str(uuid.UUID(int=app["rng"].getrandbits(128))),
        "event_time_msec": int(ts.timestamp() * 1000),
        "event_name": name,
        "platform": platform,
        "project_id": app["project_id"],
        "app_id": app["app_id"],
        "app_version": user["app_version"],
        "user_pseudo_id": user["user_pseudo_id"],
        "user_id": user["user_id"],
        "session_id": session["session_id"],
        "session_number": session["session_number"],
        "session_start_time_msec": session["start_msec"],
        "session_duration": session["duration_msec"],
        "user_first_touch_time_msec": user["first_touch_time_msec"],
        "geo_country": user["country"],
        "geo_city": user["city"],
        "device_mobile_model_name": model,
        "device_operating_system": os_name,
        "device_operating_system_version": os_version,
        "device_vendor_id": user["device_id"],
        "device_ua_browser": "Chrome" if platform == "Web" else None,
        "device_ua_os": "Mac OS X" if platform == "Web" else None,
        "device_ua_os_version": "10.15" if platform == "Web" else None,
        "device_ua_device": "Mac" if platform == "Web" else None,
        "device_ua_device_category": "pc" if platform == "Web" else "mobile",
        "device_screen_width": user["screen"][0],
        "device_screen_height": user["screen"][1],
        "traffic_source_source": session["source"],
        "traffic_source_medium": session["medium"],
        "traffic_source_channel_group": session["channel"],
        "created_time": ts + timedelta(minutes=5),
        "custom_parameters_json_str": None,
        "custom_parameters": None,
        "user_engagement_time_msec": None,
    }
    return row


def _session_events(app: dict, user: dict, session: dict, start: datetime, first: bool) -> list[dict]:
    rng: random.Random = app["rng"]
    web = user["platform"] == "Web"
    names = (["_first_open"] if first else []) + ["_session_start"]
    bounce = rng.random() < 0.25  # one view, a second or two: not an engaged session
    for _ in range(1 if bounce else rng.randint(1, 6)):
        names.append("_page_view" if web else "_screen_view")
        if not bounce and rng.random() < 0.5:
            names.append(rng.choice(CUSTOM_EVENTS[:2]))
    if not bounce and rng.random() < 0.3:
        names.append("purchase")
    if not web and rng.random() < 0.1:
        names.append("_app_exception")
    names.append("_user_engagement")
    events: list[dict[str, Any]] = []
    ts = start
    for index, name in enumerate(names):
        row = _event(app, user, session, name, ts)
        if name in ("_page_view", "_screen_view"):
            label = rng.choice(PAGES if web else SCREENS)
            entrance = (
                index <= 2
                and name in ("_page_view", "_screen_view")
                and not any(e["event_name"] in ("_page_view", "_screen_view") for e in events)
            )
            if web:
                row |= {"page_view_page_title": label, "page_view_page_url_path": f"/{label.lower()}",
                        "page_view_entrances": entrance}  # fmt: skip
            else:
                row |= {"screen_view_screen_name": label, "screen_view_screen_id": f"com.shop.{label}",
                        "screen_view_entrances": entrance}  # fmt: skip
        if name in CUSTOM_EVENTS:
            item = rng.choice(("shoes", "hats", "socks"))
            value = round(rng.uniform(5, 100), 2) if name == "purchase" else None
            row["event_value"] = value
            row["custom_parameters_json_str"] = json.dumps(
                {"category": item, "price": rng.randint(1, 9) * 10}
            )
            row["custom_parameters"] = [("category", {"value": item, "type": "string"})]
        if name == "_user_engagement":
            row["user_engagement_time_msec"] = session["duration_msec"]
        events.append(row)
        ts += timedelta(seconds=1 if bounce else rng.randint(1, 120))
    session["duration_msec"] = int((ts - start).total_seconds() * 1000)
    for row in events:
        row["session_duration"] = session["duration_msec"]
        if row["event_name"] == "_user_engagement":
            row["user_engagement_time_msec"] = session["duration_msec"]
    return events


def generate_events(
    *, project_id: str, app_id: str, users: int, days: int, end: datetime, seed: int = 7
) -> Sample:
    """Users who arrive over `days` days up to `end` (UTC) and come back now and then, each visit a session."""
    rng = random.Random(seed)
    app = {"project_id": project_id, "app_id": app_id, "rng": rng}
    sample = Sample()
    start_day = (end - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    previous: dict[str, Any] = {}
    for n in range(users):
        country, city = rng.choice(COUNTRIES)
        platform = rng.choice(PLATFORMS)
        first = start_day + timedelta(
            seconds=rng.randint(0, max(1, int((end - start_day).total_seconds()) - 3600))
        )
        login = f"login-{n}" if rng.random() < 0.4 else None
        # The previous user's second device, first used an hour later, on the same platform: the QuickSight data
        # sets (provisioning/aws/stacks/reporting_datasets.py) count users per platform row.
        if n % 10 == 9 and previous.get("user_id"):
            login, first = previous["user_id"], previous["first"] + timedelta(hours=1)
            platform = previous["platform"]
        user = {
            "user_pseudo_id": f"{app_id}-u{n:07d}", "platform": platform, "country": country, "city": city,
            "user_id": login, "device_id": f"dev-{n}",
            "app_version": rng.choice(("1.0.0", "1.1.0")), "screen": rng.choice(((1920, 1080), (390, 844))),
            "first_touch_time_msec": int(first.timestamp() * 1000),
        }  # fmt: skip
        previous = {"user_id": login, "first": first, "platform": platform}
        visit, number, last_ts, first_session = first, 1, first, None
        while visit < end:
            source, medium, channel = rng.choice(SOURCES)
            session = {"session_id": f"{user['user_pseudo_id']}-s{number}", "session_number": number,
                       "start_msec": int(visit.timestamp() * 1000), "duration_msec": 0,
                       "source": source, "medium": medium, "channel": channel}  # fmt: skip
            events = [
                e
                for e in _session_events(app, user, session, visit, number == 1)
                if e["event_timestamp"] < end
            ]
            sample.events.extend(events)
            if events:
                last_ts = events[-1]["event_timestamp"]
                sample.sessions.append(_session_row(user, session, events[0]["event_timestamp"], app_id))
                first_session = first_session or sample.sessions[-1]
            number += 1
            visit += timedelta(hours=rng.choice((3, 20, 30, 50, 80, 170, 400)))
        sample.users.append(_user_row(user, last_ts, first, first_session, app_id))
    return sample


def _session_row(user: dict, session: dict, ts: datetime, app_id: str) -> dict:
    return {
        "event_timestamp": ts, "user_pseudo_id": user["user_pseudo_id"], "session_id": session["session_id"],
        "user_id": user["user_id"], "session_number": session["session_number"],
        "session_start_time_msec": session["start_msec"], "session_source": session["source"],
        "session_medium": session["medium"], "session_channel_group": session["channel"],
        "created_time": ts + timedelta(minutes=5), "app_id": app_id,
    }  # fmt: skip


def _user_row(user: dict, last: datetime, first: datetime, first_session: dict | None, app_id: str) -> dict:
    props = {"level": {"value": 3, "set_time_msec": int(first.timestamp() * 1000)}}
    return {
        "event_timestamp": last, "user_pseudo_id": user["user_pseudo_id"], "user_id": user["user_id"],
        "user_properties": [("level", {"value": "3", "type": "number", "set_time_msec": props["level"]["set_time_msec"]})],
        "user_properties_json_str": json.dumps(props), "first_touch_time_msec": user["first_touch_time_msec"],
        "first_visit_date": first.date(),
        "first_traffic_source": first_session["session_source"] if first_session else None,
        "first_traffic_medium": first_session["session_medium"] if first_session else None,
        "first_traffic_channel_group": first_session["session_channel_group"] if first_session else None,
        "first_app_install_source": "Google Play" if user["platform"] == "Android" else None,
        "created_time": last + timedelta(minutes=5), "app_id": app_id,
    }  # fmt: skip


def write_lake(*, lake_dir: Path, project_id: str, sample: Sample, part: str = "sample") -> None:
    """Writes the rows as Parquet under `clickstream/<project>/data/ods/<table>/partition_app=…/…/` (UTC days)."""
    ods = Path(lake_dir) / "clickstream" / project_id / "data" / "ods"
    for table, rows in (("event_v2", sample.events), ("user_v2", sample.users), ("session", sample.sessions)):
        groups: dict[tuple[str, ...], list[dict]] = {}
        for row in rows:
            ts: datetime = row["event_timestamp"]
            key: tuple[str, ...] = (row["app_id"], f"{ts.year:04d}", f"{ts.month:02d}", f"{ts.day:02d}")
            groups.setdefault(key, []).append(row)
        schema = table_schema(table)
        for key, group in groups.items():
            folder = ods / table
            for column, value in zip(PARTITION_COLUMNS, key, strict=True):
                folder = folder / f"{column}={value}"
            folder.mkdir(parents=True, exist_ok=True)
            columns = {f.name: [r.get(f.name) for r in group] for f in schema}
            pq.write_table(pa.table(columns, schema=schema), folder / f"part-{part}.snappy.parquet")


def sample_write(*, lake_dir: Path, project_id: str, app_id: str, users: int, days: int, end: datetime | None = None,
                 seed: int = 7) -> Sample:  # fmt: skip
    sample = generate_events(
        project_id=project_id, app_id=app_id, users=users, days=days, end=end or datetime.now(UTC), seed=seed
    )
    write_lake(lake_dir=lake_dir, project_id=project_id, sample=sample)
    return sample
