"""What every analytics query starts from: the app's events in a local-day range, joined to their session and
current user row (spec/analytics.md §1.4 `clickstream_event_view_v3`, §7 A.1).

Days are local days in the app's time zone: the range is turned into UTC instants in Python (so the engine can
prune partitions) and each row gets `local_ts` and `event_date` in the app's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from analytics.sql import Params

PLATFORMS = ("Web", "Android", "iOS", "WeChatMP")
MAX_RANGE_DAYS = 3660  # ten years (spec/analytics.md §3.1)
EVENT_COLUMNS = (
    "event_id", "event_name", "event_timestamp", "event_value", "platform", "app_version", "user_pseudo_id",
    "user_id", "session_id", "session_duration", "user_engagement_time_msec", "geo_country", "geo_city",
    "device_mobile_model_name", "device_ua_device", "device_operating_system", "device_operating_system_version",
    "device_ua_os", "device_ua_os_version", "device_ua_browser", "device_screen_width", "device_screen_height",
    "device_vendor_id", "page_view_page_title", "page_view_page_url_path", "page_view_entrances",
    "screen_view_screen_name", "screen_view_screen_id", "screen_view_entrances", "custom_parameters_json_str",
    "traffic_source_source", "traffic_source_medium", "app_package_id", "device_carrier", "device_manufacturer",
    "event_bundle_sequence_id",
)  # fmt: skip
SESSION_COLUMNS = ("session_source", "session_medium", "session_campaign", "session_clid_platform",
                   "session_channel_group")  # fmt: skip
USER_COLUMNS = (
    "first_touch_time_msec", "first_visit_date", "first_traffic_source", "first_traffic_medium",
    "first_traffic_campaign", "first_traffic_clid_platform", "first_traffic_channel_group",
    "first_app_install_source", "user_properties_json_str", "first_referrer",
)  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Which rows a query sees: one app, a range of local days (inclusive), optionally some platforms."""

    app_id: str
    project_id: str
    timezone: str
    start: date
    end: date
    platforms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("The end date is before the start date.")
        if (self.end - self.start).days > MAX_RANGE_DAYS:
            raise ValueError("The date range is longer than ten years.")
        unknown = set(self.platforms) - set(PLATFORMS)
        if unknown:
            raise ValueError(f"Unknown platform {sorted(unknown)[0]!r}; choose from {', '.join(PLATFORMS)}.")

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00 local, end + 1 day 00:00 local) as naive UTC datetimes."""
        zone = ZoneInfo(self.timezone)

        def utc(day: date) -> datetime:
            return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)

        return utc(self.start), utc(self.end + timedelta(days=1))

    def widened(self, days: int) -> Scope:
        """The same scope starting `days` earlier (rolling windows and attribution look-backs)."""
        return replace(self, start=self.start - timedelta(days=days))

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()


def base_cte(scope: Scope, params: Params, *, where: str = "") -> str:
    """`base AS (…)`: the scoped, enriched events. `where` adds conditions built from bound values."""
    start, end = scope.utc_bounds()
    tz = params.bind(scope.timezone)
    conditions = [
        f"e.app_id = {params.bind(scope.app_id)}",
        f"e.project_id = {params.bind(scope.project_id)}",
        f"e.event_timestamp >= CAST({params.bind(start)} AS TIMESTAMP)",
        f"e.event_timestamp < CAST({params.bind(end)} AS TIMESTAMP)",
    ]
    if scope.platforms:
        conditions.append(f"e.platform IN ({params.bind_list(list(scope.platforms))})")
    if where:
        conditions.append(f"({where})")
    local = f"CAST(e.event_timestamp AS TIMESTAMP) AT TIME ZONE 'UTC' AT TIME ZONE {tz}"
    first_touch = f"EPOCH_MS(u.first_touch_time_msec) AT TIME ZONE 'UTC' AT TIME ZONE {tz}"
    columns = ", ".join(
        [f"e.{c}" for c in EVENT_COLUMNS]
        + [f"s.{c}" for c in SESSION_COLUMNS]
        + [f"u.{c}" for c in USER_COLUMNS]
    )
    return (
        f"base AS (SELECT {columns}, COALESCE(u.user_id, e.user_pseudo_id) AS merged_user_id,"
        f" {local} AS local_ts, CAST({local} AS DATE) AS event_date, CAST({first_touch} AS DATE) AS first_date"
        " FROM event_v2 AS e LEFT JOIN user_v2 AS u ON u.user_pseudo_id = e.user_pseudo_id"
        " LEFT JOIN session AS s ON s.user_pseudo_id = e.user_pseudo_id AND s.session_id = e.session_id"
        f" WHERE {' AND '.join(conditions)})"
    )
