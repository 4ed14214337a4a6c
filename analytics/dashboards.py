"""The built-in dashboards (spec/analytics.md §2.4): six sheets of visuals, each one query over the enriched
events of the app, computed at request time, so today's data is included and fresh after every load.

Where the original computes a metric wrongly (spec §8) the visual does it right, and says so in its `note`;
tests/analytics/test_dashboards.py checks each against plain Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from analytics.base import ROLLUPS, SESSION_SOURCE_DIMS, Scope, base_cte, prev_column, rollup_ctes, shown_dim
from analytics.sql import Params, Query

ENGAGED = "(views > 1 OR duration > 10000)"  # spec §8.1: the code's rule (>1 view or > 10 s), used everywhere
USER_SOURCE_DIMS = {
    "User First Traffic Source": "first_traffic_source",
    "User First Traffic Source / Medium": "first_traffic_source || ' / ' || first_traffic_medium",
    "User First Traffic Medium": "first_traffic_medium",
    "User First Traffic Campaign": "first_traffic_campaign",
    "User First Traffic Clid Platform": "first_traffic_clid_platform",
    "User First Traffic Channel Group": "first_traffic_channel_group",
    "App First Install Source": "first_app_install_source",
}
PAGE_DIMS = {  # (dimension, the view event it counts; its entrances are that event's own flag: `page_day`)
    "Page Title": ("page_view_page_title", "_page_view"),
    "Page URL Path": ("page_view_page_url_path", "_page_view"),
    "Screen Name": ("screen_view_screen_name", "_screen_view"),
    "Screen Class": ("screen_view_screen_id", "_screen_view"),
}


@dataclass(frozen=True)
class Options:
    """The sheet controls beyond scope: top-N and the chosen dimensions (validated against the lists above)."""

    top_n: int = 10
    user_dim: str = "User First Traffic Source"
    session_dim: str = "Session Traffic Source"
    page_dim: str = "Page Title"

    def __post_init__(self) -> None:
        if not 1 <= self.top_n <= 100:
            raise ValueError("Top N must be between 1 and 100.")
        for value, allowed in ((self.user_dim, USER_SOURCE_DIMS), (self.session_dim, SESSION_SOURCE_DIMS),
                               (self.page_dim, PAGE_DIMS)):  # fmt: skip
            if value not in allowed:
                raise ValueError(f"Unknown dimension {value!r}; choose from {', '.join(allowed)}.")


@dataclass(frozen=True)
class Visual:
    """One chart or table. `sql` follows `WITH base AS (…)`; it may define more CTEs (`, name AS (…) SELECT …`).

    chart: line | bar | stacked | pie | table | kpi | matrix. `x` is the category column, `values` the measure
    columns; `split` turns one column's values into series.
    """

    id: str
    title: str
    chart: str
    sql: Callable[[Options, Params, Scope], str]
    x: str | None = None
    values: tuple[str, ...] = ()
    split: str | None = None
    lookback_days: int = 0  # rolling windows need earlier days than the range shows
    last_days: int = 0  # only the range's last N days (intra-day: today and yesterday)
    note: str = ""
    post: Callable[[list[dict[str, Any]], Scope], list[dict[str, Any]]] | None = None


@dataclass(frozen=True)
class Sheet:
    slug: str
    title: str
    visuals: tuple[Visual, ...] = field(default_factory=tuple)


def build_query(visual: Visual, scope: Scope, options: Options, *, stored_zone: str | None = None) -> Query:
    """The visual's query; `stored_zone`: the zone of the warehouse's stored roll-ups (`Warehouse.stored_zone`)."""
    params = Params()
    seen = scope.widened(visual.lookback_days) if visual.lookback_days else scope
    if visual.last_days:
        seen = replace(scope, start=max(scope.start, scope.end - timedelta(days=visual.last_days - 1)))
    body = visual.sql(options, params, scope)
    rollups = tuple(r for r in ROLLUPS.values() if re.search(rf"\b{r.alias}\b", body))
    ctes = rollup_ctes(seen, params, rollups, stored_zone=stored_zone) if rollups else ""
    # `base` only when something reads it: parsing and rendering its wide select is most of a query's build.
    if re.search(r"\bbase\b", ctes + body):
        ctes = f", {base_cte(seen, params)}{ctes}"
    ctes = ctes.removeprefix(", ")
    if body.lstrip().startswith(","):
        body = body.lstrip().removeprefix(",")
        return Query.parse(visual.id, f"WITH {ctes}, {body}" if ctes else f"WITH {body}", params)
    return Query.parse(visual.id, f"WITH {ctes} {body}" if ctes else body, params)


def _sql(text: str) -> Callable[[Options, Params, Scope], str]:
    return lambda options, params, scope: text


def _active(scope: Scope) -> str:
    """`, active AS (…)`: one row per user and active day in range (`uid`, `event_date`). Over every platform,
    each user-day's first `user_day` row (`day_row`); with a platform filter that row may be on another
    platform, so a distinct."""
    if scope.platforms:
        return ", active AS (SELECT DISTINCT user_key AS uid, event_date FROM ud)"
    return ", active AS (SELECT user_key AS uid, event_date FROM ud WHERE day_row = 1)"


def _over_active(text: str) -> Callable[[Options, Params, Scope], str]:
    """A visual's SQL after the `active` relation (`_active`)."""
    return lambda options, params, scope: _active(scope) + text


# --- shared visuals ------------------------------------------------------------------------------------------
ACTIVE_NEW_BY_DAY = Visual(
    "active_new_users", "Active / New users by day", "line",
    _over_active(", daily AS (SELECT event_date, count(*) AS active_users FROM active GROUP BY 1), newcomers AS"
         " (SELECT event_date, count(DISTINCT user_pseudo_id) AS new_users FROM nd"
         " GROUP BY 1) SELECT a.event_date, a.active_users, coalesce(n.new_users, 0) AS new_users FROM daily AS a"
         " LEFT JOIN newcomers AS n ON n.event_date = a.event_date ORDER BY 1"),
    x="event_date", values=("active_users", "new_users"),
)  # fmt: skip
KEY_ENGAGEMENT = Visual(
    "key_engagement", "Key engagement metrics", "line",
    _sql("SELECT event_date,"
         f" CAST(count(CASE WHEN {ENGAGED} THEN 1 END) AS DOUBLE) / count(DISTINCT user_key)"
         " AS engaged_sessions_per_user,"
         f" sum(CASE WHEN {ENGAGED} THEN engagement ELSE 0 END) / 1000.0 / count(DISTINCT user_key)"
         " AS engagement_seconds_per_user,"
         f" sum(CASE WHEN {ENGAGED} THEN engagement ELSE 0 END) / 1000.0 / nullif(count(CASE WHEN {ENGAGED}"
         " THEN 1 END), 0) AS engagement_seconds_per_session FROM sd WHERE session_key IS NOT NULL GROUP BY 1"
         " ORDER BY 1"),
    x="event_date", values=("engaged_sessions_per_user", "engagement_seconds_per_user",
                            "engagement_seconds_per_session"),
    note="Engaged session: more than one page/screen view or longer than 10 s, the same rule in every visual "
         "(the original's acquisition table used 10 000 s and divided integers, §8.1).",
)  # fmt: skip
PLATFORM_PIE = Visual(
    "platform_users", "Active users by platform", "pie",
    _sql("SELECT platform, count(DISTINCT user_key) AS users FROM ud GROUP BY 1 ORDER BY 2 DESC"),
    x="platform", values=("users",),
)  # fmt: skip
LIFECYCLE = Visual(
    "lifecycle_weekly", "Lifecycle retention — weekly view", "stacked",
    _sql(", weeks AS (SELECT DISTINCT user_key AS uid, CAST(date_trunc('week', event_date) AS DATE) AS week"
         " FROM ud WHERE session_starts > 0), marked AS (SELECT uid, week, lag(week) OVER (PARTITION"
         " BY uid ORDER BY week) AS prev, lead(week) OVER (PARTITION BY uid ORDER BY week) AS next FROM weeks)"
         " SELECT week AS time_period, CASE WHEN prev IS NULL THEN 'NEW' WHEN date_diff('day', prev, week) = 7"
         " THEN 'RETAINED-ACTIVE' ELSE 'RETURN' END AS kind, count(*) AS users FROM marked GROUP BY 1, 2"
         " UNION ALL SELECT CAST(week + INTERVAL 7 DAY AS DATE) AS time_period, 'CHURN' AS kind, -count(*) AS users"
         " FROM marked WHERE next IS NULL OR date_diff('day', week, next) > 7 GROUP BY 1, 2 ORDER BY 1, 2"),
    x="time_period", values=("users",), split="kind",
    note="Users are merged user ids, as in every other visual (the original used device ids here, §8.8).",
    post=lambda rows, scope: [r for r in rows if r["time_period"] <= scope.end],
)  # fmt: skip


def _top(rows: list[dict[str, Any]], key: str, measure: str, n: int) -> list[dict[str, Any]]:
    totals: dict[Any, float] = {}
    for row in rows:
        totals[row[key]] = totals.get(row[key], 0) + (row[measure] or 0)
    keep = set(sorted(totals, key=lambda k: -totals[k])[:n])
    return [r for r in rows if r[key] in keep]


def _by_dim(
    dims: dict[str, str], attr: str, where: str, measure_sql: str, source: str
) -> Callable[[Options, Params, Scope], str]:
    def sql(options: Options, params: Params, scope: Scope) -> str:
        dim = dims[getattr(options, attr)]
        return (f"SELECT {shown_dim(dim)} AS dim, {measure_sql} AS users FROM {source}"
                f" {where} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {params.bind(options.top_n)}")  # fmt: skip

    return sql


def _by_dim_over_time(
    dims: dict[str, str], attr: str, where: str, source: str
) -> Callable[[Options, Params, Scope], str]:
    def sql(options: Options, params: Params, scope: Scope) -> str:
        dim = dims[getattr(options, attr)]
        return (f"SELECT event_date, {shown_dim(dim)} AS dim,"
                f" count(DISTINCT user_key) AS users FROM {source} {where} GROUP BY 1, 2 ORDER BY 1, 2")  # fmt: skip

    return sql


def _session_source_users(over_time: bool) -> Callable[[Options, Params, Scope], str]:
    """Active users by a session traffic dimension (and day): over every platform each user's first
    `session_day` row of the value in the range (or day), by its stored `prev_dim*`; with a platform filter
    that row may be on another platform, so a distinct count."""

    def sql(options: Options, params: Params, scope: Scope) -> str:
        dim = shown_dim(SESSION_SOURCE_DIMS[options.session_dim])
        users = "count(DISTINCT user_key)"
        if not scope.platforms:
            prev = prev_column(options.session_dim)
            since = "event_date" if over_time else f"CAST({params.bind(scope.start)} AS DATE)"
            users = f"count(CASE WHEN {prev} IS NULL OR {prev} < {since} THEN 1 END)"
        if over_time:
            return f"SELECT event_date, {dim} AS dim, {users} AS users FROM sd GROUP BY 1, 2 ORDER BY 1, 2"
        return f"SELECT {dim} AS dim, {users} AS users FROM sd GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {params.bind(options.top_n)}"

    return sql


def _whole_sessions(dim: str = "") -> str:
    """`, sessions AS (…)`: one row per session in range, with its totals (and its `dim`, a session column). A
    session with a single `session_day` row is that row as it is — most are; only the others are summed."""
    one = f"{shown_dim(dim)} AS dim, " if dim else ""
    summed = f"{shown_dim(f'max({dim})')} AS dim, " if dim else ""
    return (
        f", sessions AS (SELECT {one}user_key, session_key, duration, views, engagement, events FROM sd"
        f" WHERE session_key IS NOT NULL AND session_rows = 1 UNION ALL SELECT {summed}user_key, session_key,"
        " max(duration) AS duration, sum(views) AS views, sum(engagement) AS engagement, sum(events) AS events"
        " FROM sd WHERE session_key IS NOT NULL AND session_rows > 1 GROUP BY user_key, session_key)"
    )


def _traffic_table(options: Options, params: Params, scope: Scope) -> str:
    return (
        _whole_sessions(SESSION_SOURCE_DIMS[options.session_dim])
        + " SELECT dim, count(DISTINCT user_key) AS active_users, count(*) AS sessions,"
        f" count(CASE WHEN {ENGAGED} THEN 1 END) AS engaged_sessions,"
        f" CAST(count(CASE WHEN {ENGAGED} THEN 1 END) AS DOUBLE) / count(*) AS engagement_rate,"
        " sum(engagement) / 1000.0 / count(*) AS avg_engagement_seconds, sum(events) AS events"
        f" FROM sessions GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {params.bind(options.top_n)}"
    )


def _new_user_table(options: Options, params: Params, scope: Scope) -> str:
    dim = USER_SOURCE_DIMS[options.user_dim]
    return (
        f", firsts AS (SELECT DISTINCT user_key, {shown_dim(dim)} AS dim FROM ud"
        f" WHERE first_opens > 0){_whole_sessions()}, per_user AS (SELECT user_key, count(*) AS sessions,"
        f" count(CASE WHEN {ENGAGED} THEN 1 END) AS engaged, sum(events) AS events FROM sessions GROUP BY 1)"
        " SELECT f.dim, count(*) AS new_users, coalesce(sum(s.sessions), 0) AS sessions, coalesce(sum(s.engaged), 0)"
        " AS engaged_sessions, CAST(sum(s.engaged) AS DOUBLE) / nullif(sum(s.sessions), 0) AS engagement_rate,"
        " sum(s.events) AS events FROM firsts AS f LEFT JOIN per_user AS s ON s.user_key = f.user_key GROUP BY 1"
        f" ORDER BY 2 DESC, 1 LIMIT {params.bind(options.top_n)}"
    )


def _event_details(options: Options, params: Params, scope: Scope) -> str:
    """Users per event name: over every platform, each user's first `event_day` row of the name in the range
    (`prev_date`); with a platform filter that row may be on another platform, so a distinct count."""
    users = "count(DISTINCT user_key)"
    if not scope.platforms:
        start = params.bind(scope.start)
        users = f"count(CASE WHEN prev_date IS NULL OR prev_date < CAST({start} AS DATE) THEN 1 END)"
    return (
        f"SELECT event_name, sum(events) AS events, {users} AS users, CAST(sum(events) AS DOUBLE) / {users}"
        " AS events_per_user, sum(event_value) AS event_value FROM ed GROUP BY 1 ORDER BY 2 DESC, 1"
    )


def _page_sql(kind: str) -> Callable[[Options, Params, Scope], str]:
    """Over `page_day`: a dimension's views, users, sessions, entrances and exits (a session's last view of the
    kind on the day: analytics/base.py)."""

    def sql(options: Options, params: Params, scope: Scope) -> str:
        dim, event = PAGE_DIMS[options.page_dim]
        top = params.bind(options.top_n)
        where = f"WHERE event_name = {params.bind(event)}"
        if kind == "details":
            return (f"SELECT coalesce({dim}, '(none)') AS dim, sum(views) AS views, count(DISTINCT user_key) AS users,"
                    " CAST(sum(views) AS DOUBLE) / count(DISTINCT user_key) AS views_per_user,"
                    f" count(DISTINCT session_key) AS sessions FROM pd {where} GROUP BY 1 ORDER BY 2 DESC, 1"
                    f" LIMIT {top}")  # fmt: skip
        if kind != "views":
            where += f" AND {kind} > 0"
        return (f"SELECT coalesce({dim}, '(none)') AS dim, sum({kind}) AS {kind} FROM pd {where} GROUP BY 1"
                f" ORDER BY 2 DESC, 1 LIMIT {top}")  # fmt: skip

    return sql


def _rolling(rows: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    """Adds 7- and 30-day rolling sums of daily events, then keeps the days of the range."""
    by_day = {r["event_date"]: r["events"] for r in rows}
    out = []
    day = scope.start
    while day <= scope.end:
        window = [by_day.get(day - timedelta(days=i), 0) for i in range(30)]
        out.append({"event_date": day, "events": window[0], "last_7_days": sum(window[:7]),
                    "last_30_days": sum(window)})  # fmt: skip
        day += timedelta(days=1)
    return out


def _in_range(rows: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    return [r for r in rows if scope.start <= r["event_date"] <= scope.end]


def _cohort_rates(rows: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    size = {r["first_day"]: r["users"] for r in rows if r["first_day"] == r["event_date"]}
    return [
        {**r, "rate": round(r["users"] / size[r["first_day"]], 4)} for r in rows if size.get(r["first_day"])
    ]


def _retention_rates(rows: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    return [{**r, "rate": round(r["returned"] / r["cohort"], 4)} for r in rows if r["cohort"]]


# `days` has one row per user and day_diff (a user's first_date is one), so counting its rows counts users.
RETENTION_BASE = (
    ", firsts AS (SELECT user_key AS uid, min(first_date) AS first_date FROM ud GROUP BY 1),"
    " days AS (SELECT a.uid, f.first_date, date_diff('day', f.first_date, a.event_date)"
    " AS day_diff FROM active AS a JOIN firsts AS f ON f.uid = a.uid WHERE f.first_date >= CAST($start_day"
    " AS DATE)), kept AS (SELECT * FROM days WHERE day_diff BETWEEN 0 AND 42 AND uid IN (SELECT uid FROM days"
    " WHERE day_diff = 0)), cohorts AS (SELECT first_date, count(*) AS cohort FROM kept WHERE day_diff = 0 GROUP BY 1)"
)


def _retention(select: str) -> Callable[[Options, Params, Scope], str]:
    def sql(options: Options, params: Params, scope: Scope) -> str:
        return _active(scope) + RETENTION_BASE.replace("$start_day", params.bind(scope.start)) + select

    return sql


OVERVIEW = Sheet("overview", "Overview", (LIFECYCLE, PLATFORM_PIE, KEY_ENGAGEMENT, ACTIVE_NEW_BY_DAY))
ACQUISITION = Sheet("acquisition", "Acquisition", (
    Visual("kpi_users", "Users", "kpi",
           _sql("SELECT (SELECT count(DISTINCT user_key) FROM ud) AS active_users, (SELECT count(DISTINCT"
                " user_pseudo_id) FROM nd) AS new_users"),
           values=("active_users", "new_users")),
    ACTIVE_NEW_BY_DAY,
    Visual("intraday", "Intra-day active and new users (today and yesterday, by hour)", "bar",
           lambda o, p, s: ("SELECT CAST(event_date AS VARCHAR) AS day, EXTRACT(HOUR FROM local_ts) AS hour,"
                         " count(DISTINCT user_key) AS active_users, count(DISTINCT CASE WHEN event_name ="
                         " '_first_open' THEN user_pseudo_id END) AS new_users FROM base GROUP BY 1, 2 ORDER BY 1, 2"),
           x="hour", values=("active_users",), split="day", last_days=2),
    Visual("new_users_by_source", "New users by first traffic source", "bar",
           _by_dim(USER_SOURCE_DIMS, "user_dim", "WHERE first_opens > 0", "count(DISTINCT user_key)", "ud"),
           x="dim", values=("users",)),
    Visual("new_users_by_source_over_time", "New users by first traffic source over time", "line",
           _by_dim_over_time(USER_SOURCE_DIMS, "user_dim", "WHERE first_opens > 0", "ud"),
           x="event_date", values=("users",), split="dim"),
    Visual("new_user_acquisition", "New user acquisition metrics", "table", _new_user_table),
    Visual("active_users_by_session_source", "Active users by session traffic source", "bar",
           _session_source_users(over_time=False), x="dim", values=("users",)),
    Visual("active_users_by_session_source_over_time", "Active users by session traffic source over time", "line",
           _session_source_users(over_time=True), x="event_date", values=("users",), split="dim"),
    Visual("traffic_acquisition", "Traffic acquisition metrics", "table", _traffic_table,
           note="Engagement rate is engaged sessions over sessions, as a fraction (§8.1)."),
    Visual("new_users_by_country", "New users by country", "bar",
           _sql("SELECT coalesce(geo_country, '(none)') AS country, count(DISTINCT user_pseudo_id) AS users FROM nd"
                " GROUP BY 1 ORDER BY 2 DESC, 1"), x="country", values=("users",)),
    Visual("new_users_by_geo", "New users by geo location", "table",
           _sql("SELECT coalesce(geo_country, '(none)') AS country, coalesce(geo_city, '(none)') AS city,"
                " count(DISTINCT user_pseudo_id) AS users FROM nd"
                " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2")),
))  # fmt: skip
ENGAGEMENT = Sheet("engagement", "Engagement", (
    KEY_ENGAGEMENT,
    Visual("events_and_views", "Events and views over time", "stacked",
           _sql("SELECT event_date, sum(views) AS views, sum(events) - sum(views) AS other_events FROM ud"
                " GROUP BY 1 ORDER BY 1"),
           x="event_date", values=("other_events", "views")),
    Visual("event_count_by_name", "Event count by event name", "bar",
           lambda o, p, s: ("SELECT event_name, sum(events) AS events FROM ed GROUP BY 1"
                         f" ORDER BY 2 DESC, 1 LIMIT {p.bind(o.top_n)}"), x="event_name", values=("events",)),
    Visual("event_count_over_time", "Event count by event name over time", "line",
           _sql("SELECT event_date, event_name, sum(events) AS events FROM ed GROUP BY 1, 2 ORDER BY 1, 2"),
           x="event_date", values=("events",), split="event_name"),
    Visual("event_details", "Event details", "table",
           _event_details),
    Visual("page_views", "View count by page / screen", "bar", _page_sql("views"), x="dim", values=("views",)),
    Visual("page_details", "Pages and screens details", "table", _page_sql("details")),
    Visual("entrances", "Session entry pages / screens", "bar", _page_sql("entrances"), x="dim",
           values=("entrances",),
           note="Screen entrances use the screen's own entrance flag (the original read the page flag, §8.2)."),
    Visual("exits", "Session exit pages / screens", "bar", _page_sql("exits"), x="dim", values=("exits",)),
))  # fmt: skip
RETENTION = Sheet("retention", "Retention", (
    Visual("cohorts", "Retention rate by first active day in the range", "matrix",
           _over_active(", firsts AS (SELECT uid,"
                " min(event_date) AS first_day FROM active GROUP BY 1) SELECT f.first_day, a.event_date,"
                " count(*) AS users FROM active AS a JOIN firsts AS f ON f.uid = a.uid GROUP BY 1, 2 ORDER BY 1, 2"),
           x="event_date", values=("rate",), split="first_day", post=_cohort_rates),
    Visual("retention_by_first_visit", "D1 and D7 retention by first visit date", "line",
           _retention(" SELECT k.first_date, CAST(k.day_diff AS VARCHAR) AS day_diff, count(*) AS returned,"
                      " max(c.cohort) AS cohort FROM kept AS k JOIN cohorts AS c ON c.first_date = k.first_date"
                      " WHERE k.day_diff IN (1, 7) GROUP BY 1, 2 ORDER BY 1, 2"),
           x="first_date", values=("rate",), split="day_diff", post=_retention_rates,
           note="Users are merged user ids (the original used device ids, §8.8)."),
    Visual("retention_by_day", "Retention rate by returning day", "line",
           _retention(" SELECT k.day_diff, count(*) AS returned, max(t.total) AS cohort FROM kept AS k"
                      " CROSS JOIN (SELECT sum(cohort) AS total FROM cohorts) AS t GROUP BY 1 ORDER BY 1"),
           x="day_diff", values=("rate",), post=_retention_rates),
    Visual("new_returning", "New and returning users", "stacked",
           _sql("SELECT event_date, CASE WHEN first_date = event_date THEN 'NEW' ELSE 'RETURNING' END AS user_type,"
                " count(DISTINCT user_key) AS users FROM ud GROUP BY 1, 2 ORDER BY 1, 2"),
           x="event_date", values=("users",), split="user_type"),
    Visual("user_activity", "User activity", "line",
           _sql("SELECT event_date, sum(events) AS events FROM ud GROUP BY 1 ORDER BY 1"),
           x="event_date", values=("events", "last_7_days", "last_30_days"), lookback_days=29, post=_rolling),
    Visual("stickiness", "User stickiness", "line",
           _over_active(", spans AS (SELECT event_date,"
                " lead(event_date) OVER (PARTITION BY uid ORDER BY event_date) AS nxt FROM active), deltas AS ("
                "SELECT event_date AS day, count(*) AS d, count(*) AS w, count(*) AS m FROM spans GROUP BY 1"
                " UNION ALL SELECT CAST(event_date + INTERVAL 1 DAY AS DATE), -count(*), 0, 0 FROM spans GROUP BY 1"
                " UNION ALL SELECT least(CAST(event_date + INTERVAL 7 DAY AS DATE), coalesce(nxt, CAST(event_date +"
                " INTERVAL 7 DAY AS DATE))), 0, -count(*), 0 FROM spans GROUP BY 1 UNION ALL SELECT"
                " least(CAST(event_date + INTERVAL 30 DAY AS DATE), coalesce(nxt, CAST(event_date + INTERVAL 30 DAY"
                " AS DATE))), 0, 0, -count(*) FROM spans GROUP BY 1), daily AS (SELECT day, sum(d) AS d, sum(w) AS"
                " w, sum(m) AS m FROM deltas GROUP BY 1), running AS (SELECT day, sum(d) OVER (ORDER BY day) AS dau,"
                " sum(w) OVER (ORDER BY day) AS wau, sum(m) OVER (ORDER BY day) AS mau FROM daily) SELECT day AS"
                " event_date, CAST(dau AS DOUBLE) / wau AS dau_wau, CAST(dau AS DOUBLE) / mau AS dau_mau,"
                " CAST(wau AS DOUBLE) / mau AS wau_mau FROM running WHERE dau > 0 ORDER BY 1"),
           x="event_date", values=("dau_wau", "dau_mau", "wau_mau"), lookback_days=29, post=_in_range,
           note="WAU and MAU are distinct users over the 7 and 30 days to each day (the original summed daily "
                "users, §8.3).",
           # Each active day of a user covers the days up to 7 (30) later or its next active day, whichever is
           # first: the pieces are disjoint, so a running sum of +1/-1 at their ends counts each user once a day.
           ),
    LIFECYCLE,
))  # fmt: skip
MOBILE = "platform <> 'Web'"
DEVICE = Sheet("device", "Device", (
    Visual("crash_rate", "App crash rate over time", "line",
           _sql("SELECT event_date, platform, CAST(count(DISTINCT CASE WHEN exceptions > 0 THEN"
                f" user_key END) AS DOUBLE) / count(DISTINCT user_key) AS crash_rate FROM ud WHERE {MOBILE}"
                " GROUP BY 1, 2 ORDER BY 1, 2"),
           x="event_date", values=("crash_rate",), split="platform"),
    Visual("crash_table", "App crash rate", "table",
           _sql("SELECT platform, app_version, count(DISTINCT user_key) AS users, count(DISTINCT CASE WHEN"
                " exceptions > 0 THEN user_key END) AS crashed_users, CAST(count(DISTINCT CASE"
                " WHEN exceptions > 0 THEN user_key END) AS DOUBLE) / count(DISTINCT"
                f" user_key) AS crash_rate FROM ud WHERE {MOBILE} GROUP BY 1, 2 ORDER BY 1, 2")),
    Visual("device_models", "Active users by device model", "bar",
           _sql("SELECT coalesce(device_mobile_model_name, device_ua_device, '(none)') AS device, count(DISTINCT"
                f" user_key) AS users FROM ud WHERE {MOBILE} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20"),
           x="device", values=("users",)),
    Visual("app_versions", "Active users by app version", "line",
           _sql("SELECT event_date, coalesce(app_version, '(none)') AS app_version, count(DISTINCT user_key)"
                f" AS users FROM ud WHERE {MOBILE} GROUP BY 1, 2 ORDER BY 1, 2"),
           x="event_date", values=("users",), split="app_version"),
    Visual("browsers", "Active users by browser", "bar",
           _sql("SELECT coalesce(device_ua_browser, '(none)') AS browser, count(DISTINCT user_key) AS users"
                " FROM ud WHERE platform = 'Web' GROUP BY 1 ORDER BY 2 DESC, 1"), x="browser", values=("users",)),
    Visual("resolutions", "Active users by screen resolution", "bar",
           # Grouped by the numbers, then named: formatting every row's text costs more than the count.
           _sql("SELECT coalesce(CAST(device_screen_width AS VARCHAR), '') || ' x ' || coalesce(CAST("
                "device_screen_height AS VARCHAR), '') AS resolution, users FROM (SELECT device_screen_width,"
                " device_screen_height, count(DISTINCT user_key) AS users FROM ud GROUP BY 1, 2)"
                " ORDER BY 2 DESC, 1 LIMIT 10"), x="resolution", values=("users",)),
    Visual("platforms_over_time", "Active users by platform over time", "line",
           _sql("SELECT event_date, platform, count(DISTINCT user_key) AS users FROM ud GROUP BY 1, 2"
                " ORDER BY 1, 2"), x="event_date", values=("users",), split="platform"),
    PLATFORM_PIE,
    Visual("operating_systems", "Active users by operating system and version", "stacked",
           _sql("SELECT coalesce(device_operating_system, device_ua_os, 'null') AS os, coalesce("
                "device_operating_system_version, device_ua_os_version, 'null') AS version, count(DISTINCT"
                " user_key) AS users FROM ud GROUP BY 1, 2 ORDER BY 1, 2"),
           x="os", values=("users",), split="version"),
))  # fmt: skip
SHEETS = {sheet.slug: sheet for sheet in (OVERVIEW, ACQUISITION, ENGAGEMENT, RETENTION, DEVICE)}


def jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def chart_series(visual: Visual, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The data an ECharts option needs: categories on x and named series (or pie slices / heatmap cells)."""
    if visual.chart in ("table", "kpi") or not visual.x:
        return {}
    if visual.chart == "pie":
        return {
            "slices": [{"name": jsonable(r[visual.x]), "value": jsonable(r[visual.values[0]])} for r in rows]
        }
    xs = sorted({r[visual.x] for r in rows}, key=lambda v: (v is None, v))
    index = {x: i for i, x in enumerate(xs)}
    if visual.chart == "matrix":
        ys = sorted({r[visual.split] for r in rows})  # type: ignore[index]
        y_index = {y: i for i, y in enumerate(ys)}
        cells = [[index[r[visual.x]], y_index[r[visual.split]], jsonable(r[visual.values[0]])] for r in rows]  # type: ignore[index]
        return {"x": [jsonable(x) for x in xs], "y": [jsonable(y) for y in ys], "cells": cells}
    series: dict[str, list[Any]] = {}
    for r in rows:
        names = [str(r[visual.split])] if visual.split else list(visual.values)
        for name in names:
            column = visual.values[0] if visual.split else name
            series.setdefault(name, [None] * len(xs))[index[r[visual.x]]] = jsonable(r[column])
    return {"x": [jsonable(x) for x in xs], "series": [{"name": k, "data": v} for k, v in series.items()]}


def visual_data(*, visual: Visual, warehouse: Any, scope: Scope, options: Options) -> dict[str, Any]:
    query = build_query(visual, scope, options, stored_zone=warehouse.stored_zone(scope.app_id))
    result = warehouse.run(query, app_id=scope.app_id)
    rows = result.dicts()
    if visual.post:
        rows = visual.post(rows, scope)
    columns = list(rows[0]) if rows else result.columns
    return {
        "id": visual.id, "title": visual.title, "chart": visual.chart, "note": visual.note,
        "columns": columns, "rows": [[jsonable(r[c]) for c in columns] for r in rows],
        "data": chart_series(visual, rows), "dom_id": f"visual-{visual.id}",
        "kpis": [(c, jsonable(rows[0][c])) for c in columns] if visual.chart == "kpi" and rows else [],
        "elapsed_ms": round(result.elapsed_ms, 1), "cached": result.cached,
    }  # fmt: skip


SHEET_WORKERS = 4  # visuals of a sheet in flight at once


def sheet_data(*, sheet: Sheet, warehouse: Any, scope: Scope, options: Options) -> dict[str, Any]:
    """Every visual of the sheet, and the time of the latest data (in the app's time zone).

    The visuals run concurrently: on DuckDB each is a cursor of the one connection, so they share its thread
    pool, which the serial phases of one query (final distinct counts, sorts, window partitions) leave idle."""
    latest = warehouse.state().latest_event.get(scope.app_id)
    if latest is not None:
        latest = latest.replace(tzinfo=UTC).astimezone(ZoneInfo(scope.timezone))
    with ThreadPoolExecutor(max_workers=min(SHEET_WORKERS, len(sheet.visuals) or 1)) as pool:
        visuals = list(pool.map(lambda v: visual_data(visual=v, warehouse=warehouse, scope=scope, options=options),
                                sheet.visuals))  # fmt: skip
    return {
        "sheet": sheet.slug, "title": sheet.title, "latest_event": latest,
        "visuals": visuals,
    }  # fmt: skip


DETAIL_FILTERS = ("user_id", "user_pseudo_id", "platform", "event_name", "app_version", "device_vendor_id")
DETAIL_COLUMNS = (
    "event_timestamp", "local_ts", "event_id", "event_name", "event_bundle_sequence_id", "merged_user_id",
    "user_id", "user_pseudo_id", "platform", "app_package_id", "app_version", "os_version", "device_carrier",
    "device_ua_browser", "device_manufacturer", "geo_country", "geo_city", "custom_parameters_json_str",
    "first_visit_date", "first_traffic_source", "first_app_install_source", "user_properties_json_str",
)  # fmt: skip


def details_query(*, scope: Scope, filters: dict[str, Any], limit: int = 100) -> Query:
    """The Details sheet: the latest events matching exact filters, with their user's attributes."""
    params = Params()
    conditions = [f"{name} = {params.bind(filters[name])}" for name in DETAIL_FILTERS if filters.get(name)]
    if filters.get("operating_system"):
        conditions.append(
            f"coalesce(device_operating_system, device_ua_os) = {params.bind(filters['operating_system'])}"
        )
    if filters.get("start"):
        conditions.append(
            f"event_timestamp >= CAST({params.bind(filters['start'].replace(tzinfo=None))} AS TIMESTAMP)"
        )
    if filters.get("end"):
        conditions.append(
            f"event_timestamp < CAST({params.bind(filters['end'].replace(tzinfo=None))} AS TIMESTAMP)"
        )
    base = base_cte(scope, params)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    columns = ", ".join(
        "coalesce(device_operating_system, device_ua_os, '') || ' / ' || coalesce(device_operating_system_version,"
        " device_ua_os_version, '') AS os_version"
        if c == "os_version"
        else c
        for c in DETAIL_COLUMNS
    )
    sql = f"WITH {base} SELECT {columns} FROM base {where} ORDER BY event_timestamp DESC, event_id LIMIT {params.bind(limit)}"
    return Query.parse("details", sql, params)
