"""The QuickSight data sets of the preset dashboard: custom SQL (Redshift dialect, DIRECT_QUERY) per app schema
over the four base tables only (`event_v2`, `user_v2`, `item_v2`, `session`), each column declared with its
QuickSight type.

Six reusable data sets serve every sheet of spec/analytics.md §2.4 (the original used one report table per
visual, filled once a day by stored procedures):

- `events`    one row per event: local day and time, merged user id, device, geo, first-touch attributes —
               Overview, Acquisition (users, geo, intra-day), Engagement (events), Device, Details;
- `sessions`  one row per session and local day, with its engagement and its traffic-source dimensions —
               key engagement metrics, new users and traffic by source;
- `pages`     one row per page/screen view per dimension type (title, URL path, screen name, screen class),
               with entrance and exit flags — views, entrances, exits;
- `retention` first-visit cohorts × days since (0–42): returned users and cohort size;
- `lifecycle` weekly NEW / RETAINED-ACTIVE / RETURN users and CHURN (negative) per week;
- `activity`  per day: DAU, true distinct WAU and MAU, events and their 7- and 30-day rolling sums;
- `items`     one row per item of an event (item name, category, price, quantity) for the items table.

Days are local days in the app's time zone, rendered into the SQL: CloudFormation cannot read one app's zone
out of the JSON `QuickSightTimezoneParam`, and an app's zone cannot change once data has arrived, so the
template changes with it no more often than with the app list. Every data set has `event_date` (a DATETIME at
day precision) and `platform`, so the dashboard's date-range and platform filters apply to all of them.

Fixes of the original's quirks (spec/analytics.md §8), each tested in tests/provisioning/aws/test_reporting.py:
§8.1 engaged session = more than one view or longer than 10 s everywhere, rates as fractions; §8.2 screen
entrances use `screen_view_entrances`; §8.3 WAU/MAU are distinct users over 7/30 days, not sums of DAU;
§8.7 and §8.11 the base tables are read directly, so late events and today's events count; §8.8 lifecycle and
retention count merged user ids.
"""

from __future__ import annotations

from dataclasses import dataclass

VIEWS = "('_page_view', '_screen_view')"
# §8.1: engaged = more than one view or longer than 10 s (the original's code rule), the one rule everywhere.
P_ENGAGED = "(p.views > 1 OR p.session_duration > 10000)"
STR, INT, DEC, TS = "STRING", "INTEGER", "DECIMAL", "DATETIME"


@dataclass(frozen=True)
class DataSetSpec:
    """One custom-SQL data set: its key in the dashboard, its SQL for a schema and zone, its typed columns."""

    key: str
    title: str
    sql_template: str
    columns: tuple[tuple[str, str], ...]

    def sql(self, schema: str, timezone: str) -> str:
        zone = "'" + timezone.replace("'", "''") + "'"
        return self.sql_template.replace("{schema}", schema).replace("{tz}", zone)

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.columns)


def _local(column: str) -> str:
    return f"CONVERT_TIMEZONE('UTC', {{tz}}, {column})"


def _day(column: str) -> str:
    return f"CAST(DATE_TRUNC('day', {_local(column)}) AS DATE)"


# Whole seconds: DATEADD takes a 32-bit interval, too small for epoch milliseconds.
FIRST_TOUCH = _day("TIMESTAMP 'epoch' + u.first_touch_time_msec / 1000 * INTERVAL '1 second'")
MERGED = "COALESCE(u.user_id, e.user_pseudo_id)"
EVENTS_USERS = "{schema}.event_v2 AS e LEFT JOIN {schema}.user_v2 AS u ON u.user_pseudo_id = e.user_pseudo_id"

EVENTS = DataSetSpec("events", "events", f"""SELECT {_day("e.event_timestamp")} AS event_date,
 e.event_timestamp, {_local("e.event_timestamp")} AS event_timestamp_local,
 EXTRACT(HOUR FROM {_local("e.event_timestamp")}) AS event_hour,
 DATEDIFF(day, {_day("e.event_timestamp")}, {_day("GETDATE()")}) AS days_ago,
 e.event_id, e.event_name, e.event_value, e.event_bundle_sequence_id, e.platform, e.app_id, e.app_package_id,
 e.app_version, e.user_pseudo_id, u.user_id, {MERGED} AS merged_user_id,
 CASE WHEN e.event_name = '_first_open' THEN e.user_pseudo_id END AS new_user_id,
 CASE WHEN e.event_name = '_app_exception' THEN {MERGED} END AS crashed_user_id,
 CASE WHEN e.event_name IN {VIEWS} THEN e.event_id END AS view_event_id,
 CASE WHEN {FIRST_TOUCH} = {_day("e.event_timestamp")} THEN 'NEW' ELSE 'RETURNING' END AS user_type,
 e.geo_country, e.geo_city, COALESCE(e.device_mobile_model_name, e.device_ua_device) AS device,
 COALESCE(e.device_operating_system, e.device_ua_os, 'null') AS operating_system,
 COALESCE(e.device_operating_system_version, e.device_ua_os_version, 'null') AS operating_system_version,
 COALESCE(e.device_operating_system, e.device_ua_os, '') || ' / '
  || COALESCE(e.device_operating_system_version, e.device_ua_os_version, '') AS os_and_version,
 e.device_ua_browser, e.device_vendor_id, e.device_carrier, e.device_manufacturer,
 COALESCE(CAST(e.device_screen_width AS VARCHAR), '') || ' x '
  || COALESCE(CAST(e.device_screen_height AS VARCHAR), '') AS screen_resolution,
 e.custom_parameters_json_str, u.user_properties_json_str, u.first_visit_date, u.first_touch_time_msec,
 u.first_referrer, u.first_traffic_source, u.first_traffic_medium, u.first_traffic_campaign,
 u.first_traffic_channel_group, u.first_app_install_source
FROM {EVENTS_USERS}""", (
    ("event_date", TS), ("event_timestamp", TS), ("event_timestamp_local", TS), ("event_hour", INT), ("days_ago", INT),
    ("event_id", STR), ("event_name", STR), ("event_value", DEC), ("event_bundle_sequence_id", INT), ("platform", STR),
    ("app_id", STR), ("app_package_id", STR), ("app_version", STR), ("user_pseudo_id", STR), ("user_id", STR),
    ("merged_user_id", STR), ("new_user_id", STR), ("crashed_user_id", STR), ("view_event_id", STR), ("user_type", STR),
    ("geo_country", STR), ("geo_city", STR), ("device", STR), ("operating_system", STR), ("operating_system_version", STR),
    ("os_and_version", STR), ("device_ua_browser", STR), ("device_vendor_id", STR), ("device_carrier", STR),
    ("device_manufacturer", STR), ("screen_resolution", STR), ("custom_parameters_json_str", STR),
    ("user_properties_json_str", STR), ("first_visit_date", TS), ("first_touch_time_msec", INT), ("first_referrer", STR),
    ("first_traffic_source", STR), ("first_traffic_medium", STR), ("first_traffic_campaign", STR),
    ("first_traffic_channel_group", STR), ("first_app_install_source", STR),
))  # fmt: skip

SESSIONS = DataSetSpec("sessions", "sessions", f"""WITH per AS (SELECT {_day("e.event_timestamp")} AS event_date,
 e.platform, {MERGED} AS merged_user_id, e.user_pseudo_id, e.session_id, COUNT(DISTINCT e.event_id) AS events,
 COUNT(DISTINCT CASE WHEN e.event_name IN {VIEWS} THEN e.event_id END) AS views,
 MAX(e.session_duration) AS session_duration, SUM(COALESCE(e.user_engagement_time_msec, 0)) AS engagement_msec,
 MAX(CASE WHEN e.event_name = '_first_open' THEN 1 ELSE 0 END) AS first_open
 FROM {EVENTS_USERS} WHERE e.session_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5)
SELECT p.event_date, p.platform, p.merged_user_id, p.session_id, p.events, p.views, p.session_duration,
 CASE WHEN {P_ENGAGED} THEN 1 ELSE 0 END
  AS engaged,
 CASE WHEN {P_ENGAGED}
  THEN p.engagement_msec / 1000.0 ELSE 0 END AS engaged_seconds,
 p.engagement_msec / 1000.0 AS engagement_seconds,
 CASE WHEN p.first_open = 1 THEN p.merged_user_id END AS new_user_id,
 s.session_source, s.session_medium, s.session_source || ' / ' || s.session_medium AS session_source_medium,
 s.session_campaign, s.session_clid_platform, s.session_channel_group,
 u.first_traffic_source, u.first_traffic_source || ' / ' || u.first_traffic_medium AS first_traffic_source_medium,
 u.first_traffic_medium, u.first_traffic_campaign, u.first_traffic_clid_platform, u.first_traffic_channel_group,
 u.first_app_install_source
FROM per AS p
LEFT JOIN {{schema}}.session AS s ON s.user_pseudo_id = p.user_pseudo_id AND s.session_id = p.session_id
LEFT JOIN {{schema}}.user_v2 AS u ON u.user_pseudo_id = p.user_pseudo_id""", (
    ("event_date", TS), ("platform", STR), ("merged_user_id", STR), ("session_id", STR), ("events", INT), ("views", INT),
    ("session_duration", INT), ("engaged", INT), ("engaged_seconds", DEC), ("engagement_seconds", DEC),
    ("new_user_id", STR), ("session_source", STR), ("session_medium", STR), ("session_source_medium", STR),
    ("session_campaign", STR), ("session_clid_platform", STR), ("session_channel_group", STR),
    ("first_traffic_source", STR), ("first_traffic_source_medium", STR), ("first_traffic_medium", STR),
    ("first_traffic_campaign", STR), ("first_traffic_clid_platform", STR), ("first_traffic_channel_group", STR),
    ("first_app_install_source", STR),
))  # fmt: skip

PAGE_TYPES = (  # (aggregation type, dimension column, view event, its own entrance flag: §8.2)
    ("Page Title", "page_view_page_title", "_page_view", "page_view_entrances"),
    ("Page URL Path", "page_view_page_url_path", "_page_view", "page_view_entrances"),
    ("Screen Name", "screen_view_screen_name", "_screen_view", "screen_view_entrances"),
    ("Screen Class", "screen_view_screen_id", "_screen_view", "screen_view_entrances"),
)
_PAGE_UNION = "\n UNION ALL ".join(
    f"SELECT '{kind}' AS aggregation_type, {dim} AS aggregation_dim, {flag} AS entrance, event_date, platform,"
    f" merged_user_id, session_id, event_id, event_timestamp FROM views WHERE event_name = '{event}'"
    for kind, dim, event, flag in PAGE_TYPES
)
PAGES = DataSetSpec("pages", "pages and screens", f"""WITH views AS (SELECT {_day("e.event_timestamp")} AS event_date,
 e.platform, {MERGED} AS merged_user_id, e.session_id, e.event_id, e.event_name, e.event_timestamp,
 e.page_view_page_title, e.page_view_page_url_path, e.screen_view_screen_name, e.screen_view_screen_id,
 e.page_view_entrances, e.screen_view_entrances
 FROM {EVENTS_USERS} WHERE e.event_name IN {VIEWS}),
typed AS ({_PAGE_UNION})
SELECT event_date, platform, aggregation_type, COALESCE(aggregation_dim, '(none)') AS aggregation_dim,
 merged_user_id, session_id, event_id, CASE WHEN entrance THEN 1 ELSE 0 END AS entrance,
 CASE WHEN ROW_NUMBER() OVER (PARTITION BY aggregation_type, merged_user_id, session_id, event_date
  ORDER BY event_timestamp DESC, event_id DESC) = 1 THEN 1 ELSE 0 END AS session_exit
FROM typed""", (
    ("event_date", TS), ("platform", STR), ("aggregation_type", STR), ("aggregation_dim", STR), ("merged_user_id", STR),
    ("session_id", STR), ("event_id", STR), ("entrance", INT), ("session_exit", INT),
))  # fmt: skip

_ACTIVE = f"SELECT DISTINCT e.platform, {MERGED} AS merged_user_id, {_day('e.event_timestamp')} AS active_day FROM {EVENTS_USERS}"
RETENTION = DataSetSpec("retention", "first-visit retention", f"""WITH cohort_of AS (SELECT
 COALESCE(u.user_id, u.user_pseudo_id) AS merged_user_id, MIN({FIRST_TOUCH}) AS first_date
 FROM {{schema}}.user_v2 AS u WHERE u.first_touch_time_msec IS NOT NULL GROUP BY 1),
active AS ({_ACTIVE}),
days AS (SELECT a.platform, a.merged_user_id, c.first_date, DATEDIFF(day, c.first_date, a.active_day) AS day_diff
 FROM active AS a JOIN cohort_of AS c ON c.merged_user_id = a.merged_user_id),
kept AS (SELECT d.platform, d.merged_user_id, d.first_date, d.day_diff FROM days AS d
 JOIN (SELECT DISTINCT platform, merged_user_id FROM days WHERE day_diff = 0) AS z
 ON z.platform = d.platform AND z.merged_user_id = d.merged_user_id WHERE d.day_diff BETWEEN 0 AND 42),
cohorts AS (SELECT platform, first_date, COUNT(*) AS cohort_users FROM kept WHERE day_diff = 0 GROUP BY 1, 2),
returned AS (SELECT platform, first_date, day_diff, COUNT(*) AS returned_users FROM kept GROUP BY 1, 2, 3),
offsets AS (SELECT DISTINCT day_diff FROM kept),
latest AS (SELECT MAX(active_day) AS last_day FROM active)
SELECT c.platform, c.first_date AS event_date, c.first_date, o.day_diff,
 LPAD(CAST(o.day_diff AS VARCHAR), 2, '0') AS day_label, COALESCE(r.returned_users, 0) AS returned_users,
 c.cohort_users
FROM cohorts AS c CROSS JOIN offsets AS o CROSS JOIN latest AS l
LEFT JOIN returned AS r ON r.platform = c.platform AND r.first_date = c.first_date AND r.day_diff = o.day_diff
WHERE DATEADD(day, o.day_diff, c.first_date) <= l.last_day""", (
    ("platform", STR), ("event_date", TS), ("first_date", TS), ("day_diff", INT), ("day_label", STR),
    ("returned_users", INT), ("cohort_users", INT),
))  # fmt: skip

LIFECYCLE = DataSetSpec("lifecycle", "weekly lifecycle", f"""WITH weeks AS (SELECT DISTINCT e.platform,
 {MERGED} AS merged_user_id, CAST(DATE_TRUNC('week', {_local("e.event_timestamp")}) AS DATE) AS week
 FROM {EVENTS_USERS} WHERE e.event_name = '_session_start'),
marked AS (SELECT platform, merged_user_id, week,
 LAG(week) OVER (PARTITION BY platform, merged_user_id ORDER BY week) AS prev_week,
 LEAD(week) OVER (PARTITION BY platform, merged_user_id ORDER BY week) AS next_week FROM weeks)
SELECT platform, week AS event_date, CASE WHEN prev_week IS NULL THEN '1-NEW' WHEN DATEDIFF(day, prev_week, week) = 7
 THEN '2-RETAINED-ACTIVE' ELSE '3-RETURN' END AS lifecycle, COUNT(*) AS users FROM marked GROUP BY 1, 2, 3
UNION ALL
SELECT platform, CAST(DATEADD(day, 7, week) AS DATE) AS event_date, '0-CHURN' AS lifecycle, -COUNT(*) AS users
FROM marked WHERE next_week IS NULL OR DATEDIFF(day, week, next_week) > 7 GROUP BY 1, 2, 3""", (
    ("platform", STR), ("event_date", TS), ("lifecycle", STR), ("users", INT),
))  # fmt: skip

ACTIVITY = DataSetSpec("activity", "daily activity", f"""WITH active AS ({_ACTIVE}),
days AS (SELECT p.platform, d.active_day FROM (SELECT DISTINCT platform FROM active) AS p
 CROSS JOIN (SELECT DISTINCT active_day FROM active) AS d),
users AS (SELECT d.platform, d.active_day, COUNT(DISTINCT CASE WHEN a.active_day = d.active_day THEN a.merged_user_id END) AS dau,
 COUNT(DISTINCT CASE WHEN DATEDIFF(day, a.active_day, d.active_day) < 7 THEN a.merged_user_id END) AS wau,
 COUNT(DISTINCT a.merged_user_id) AS mau
 FROM days AS d JOIN active AS a ON a.platform = d.platform AND a.active_day <= d.active_day AND DATEDIFF(day, a.active_day, d.active_day) < 30
 GROUP BY 1, 2),
daily AS (SELECT e.platform, {_day("e.event_timestamp")} AS active_day, COUNT(DISTINCT e.event_id) AS events
 FROM {{schema}}.event_v2 AS e GROUP BY 1, 2),
rolled AS (SELECT d.platform, d.active_day, MAX(CASE WHEN x.active_day = d.active_day THEN x.events ELSE 0 END) AS events,
 SUM(CASE WHEN DATEDIFF(day, x.active_day, d.active_day) < 7 THEN x.events ELSE 0 END) AS events_7_days,
 SUM(x.events) AS events_30_days
 FROM days AS d JOIN daily AS x ON x.platform = d.platform AND x.active_day <= d.active_day AND DATEDIFF(day, x.active_day, d.active_day) < 30
 GROUP BY 1, 2)
SELECT u.platform, u.active_day AS event_date, u.dau, u.wau, u.mau, r.events, r.events_7_days, r.events_30_days
FROM users AS u JOIN rolled AS r ON r.platform = u.platform AND r.active_day = u.active_day""", (
    ("platform", STR), ("event_date", TS), ("dau", INT), ("wau", INT), ("mau", INT), ("events", INT), ("events_7_days", INT),
    ("events_30_days", INT),
))  # fmt: skip

ITEMS = DataSetSpec("items", "items", f"""SELECT {_day("i.event_timestamp")} AS event_date, i.platform,
 i.event_name, i.event_id, i.item_id, i.name AS item_name, i.brand, i.category, i.price, i.quantity,
 COALESCE(u.user_id, i.user_pseudo_id) AS merged_user_id
FROM {{schema}}.item_v2 AS i LEFT JOIN {{schema}}.user_v2 AS u ON u.user_pseudo_id = i.user_pseudo_id""", (
    ("event_date", TS), ("platform", STR), ("event_name", STR), ("event_id", STR), ("item_id", STR), ("item_name", STR),
    ("brand", STR), ("category", STR), ("price", DEC), ("quantity", DEC), ("merged_user_id", STR),
))  # fmt: skip

DATA_SETS: dict[str, DataSetSpec] = {
    d.key: d for d in (EVENTS, SESSIONS, PAGES, RETENTION, LIFECYCLE, ACTIVITY, ITEMS)
}
