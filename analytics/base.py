"""What every analytics query starts from: the app's events in a local-day range, joined to their session and
current user row (spec/analytics.md §1.4 `clickstream_event_view_v3`, §7 A.1).

That join is one logical table, `event_enriched` (`enriched_sql`): DuckDB builds it once per load, clustered
by day, with each event's local time and day already in the app's time zone (`tz`), so a query neither joins nor
converts and DuckDB's zone maps skip the days out of range; Athena and Redshift read the same definition as a
subquery over their tables. `user_key` stands for the merged user id wherever a query counts, joins or partitions
users (never where it shows one), and `session_key` for the session wherever a query counts or groups sessions
(a session is the data model's: one device's session id, the `session` table's key), and `event_key` for the
event id where a sort breaks ties by it (it orders as the id does). DuckDB stores them as integers (`USER_KEYS`,
`SESSION_KEYS`, `EVENT_KEYS`, built at load: hashing, comparing and sorting integers instead of strings is most of
a sheet's time); the other engines read the ids themselves. A query in another zone than the stored one (or
on an engine that stores none) converts per row instead, so results never depend on which path ran.

Days are local days in the app's time zone: the range is turned into UTC instants in Python (so the engine can
prune partitions) and each row gets `local_ts` and `event_date` in the app's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlglot import exp

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


def _local(column: str, tz: str) -> str:
    return f"{column} AT TIME ZONE 'UTC' AT TIME ZONE {tz}"


USER_KEYS = "_user_keys"  # DuckDB's load: merged user id → dense integer, a temporary table beside the load
SESSION_KEYS = "_session_keys"  # and (user_pseudo_id, session_id) → dense integer
EVENT_KEYS = "_event_keys"  # and event id → integer in event id order (a sort's tie-break, cheaper than text)


def enriched_sql(tz: str | None) -> str:
    """The `event_enriched` table: every event with its session's and current user's columns, the merged user
    id and its `user_key`, the `session_key` and, when `tz` (SQL of a time zone name) is given — the stored table of DuckDB's load —
    the local time, day and first-touch day in that zone (`tz_*`: named apart from what `base` derives, so a
    filter on `event_date` always means the query's zone)."""
    merged = "COALESCE(u.user_id, e.user_pseudo_id)"
    columns = ", ".join(
        [f"e.{c}" for c in (*EVENT_COLUMNS, "app_id", "project_id")]
        + [f"s.{c}" for c in SESSION_COLUMNS]
        + [f"u.{c}" for c in USER_COLUMNS]
    )
    key = f"{merged} AS user_key, e.user_pseudo_id || '#' || e.session_id AS session_key, e.event_id AS event_key"
    keys = ""
    if tz is not None:
        key = "k.user_key, sk.session_key, ek.event_key"
        keys = (
            f" LEFT JOIN {USER_KEYS} AS k ON k.merged_user_id = {merged}"
            f" LEFT JOIN {SESSION_KEYS} AS sk ON sk.user_pseudo_id = e.user_pseudo_id AND sk.session_id = e.session_id"
            f" LEFT JOIN {EVENT_KEYS} AS ek ON ek.event_id = e.event_id"
        )
    if tz is None:
        local = "CAST(NULL AS VARCHAR) AS tz, CAST(NULL AS TIMESTAMP) AS tz_local_ts, CAST(NULL AS DATE) AS tz_event_date,"
        local += " CAST(NULL AS DATE) AS tz_first_date"
    else:
        ts, first = (
            _local("CAST(e.event_timestamp AS TIMESTAMP)", tz),
            _local("EPOCH_MS(u.first_touch_time_msec)", tz),
        )
        local = f"CAST({tz} AS VARCHAR) AS tz, {ts} AS tz_local_ts, CAST({ts} AS DATE) AS tz_event_date,"
        local += f" CAST({first} AS DATE) AS tz_first_date"
    return (
        f"SELECT {columns}, {merged} AS merged_user_id, {key}, {local}"
        " FROM event_v2 AS e LEFT JOIN user_v2 AS u ON u.user_pseudo_id = e.user_pseudo_id"
        " LEFT JOIN session AS s ON s.user_pseudo_id = e.user_pseudo_id AND s.session_id = e.session_id"
        f"{keys}"
    )


def base_cte(scope: Scope, params: Params, *, where: str = "") -> str:
    """`base AS (…)`: the scoped, enriched events. `where` adds conditions built from bound values.

    Not materialized: queries use `base` several times, and a materialized CTE copies every column of every row
    in range once per query; inlined, each use reads only the columns it needs."""
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
    stored = f"e.tz = {tz}"
    local = _local("CAST(e.event_timestamp AS TIMESTAMP)", tz)
    first = _local("EPOCH_MS(e.first_touch_time_msec)", tz)
    columns = ", ".join(
        f"e.{c}"
        for c in (
            *EVENT_COLUMNS,
            *SESSION_COLUMNS,
            *USER_COLUMNS,
            "merged_user_id",
            "user_key",
            "session_key",
            "event_key",
        )
    )
    return (
        f"base AS NOT MATERIALIZED (SELECT {columns},"
        f" CASE WHEN {stored} THEN e.tz_local_ts ELSE {local} END AS local_ts,"
        f" CASE WHEN {stored} THEN e.tz_event_date ELSE CAST({local} AS DATE) END AS event_date,"
        f" CASE WHEN {stored} THEN e.tz_first_date ELSE CAST({first} AS DATE) END AS first_date"
        f" FROM event_enriched AS e WHERE {' AND '.join(conditions)})"
    )


def _is_event_id(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Column) and node.name == "event_id" and not node.table


def _counts_event_ids(count: exp.Expression) -> exp.Expression | None:
    """`count(DISTINCT event_id)` or `count(DISTINCT CASE WHEN … THEN event_id END)`: what to count instead."""
    distinct = count.this
    if not isinstance(distinct, exp.Distinct) or len(distinct.expressions) != 1:
        return None
    inner = distinct.expressions[0]
    if _is_event_id(inner):
        return inner
    if isinstance(inner, exp.Case) and not inner.args.get("default") and len(inner.args["ifs"]) == 1:
        return inner if _is_event_id(inner.args["ifs"][0].args.get("true")) else None
    return None


def count_unique_events(expression: exp.Expression) -> exp.Expression:
    """Where events are unique by id (DuckDB's `event_enriched`), a distinct count of event ids read straight
    from `base` is a plain count: the same number without a hash set of every id (most of a sheet's time).
    Only selects over `base` alone are rewritten; after a join or in another CTE rows may repeat."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Count) and (counted := _counts_event_ids(node)) is not None:
            select = node.find_ancestor(exp.Select)
            source = select.args.get("from_") if select else None
            if (
                select is not None
                and not select.args.get("joins")
                and source is not None
                and isinstance(source.this, exp.Table)
                and source.this.name == "base"
                and not source.this.db
            ):
                return exp.Count(this=counted.copy(), big_int=True)
        return node

    return expression.transform(rewrite)


# --- pre-aggregated relations ---------------------------------------------------------------------------------
# Defined once over `base` (the scoped events: `event_date`, `first_date` in the query's zone), each grouped by
# local day, platform and the user (`user_key`) and whatever else its visuals group or filter by: per user ×
# day × the user-level dimensions (`user_day`), per session × day (`session_day`), per user × day × event name
# (`event_day`), per session × day × page or screen (`page_day`, view events only), per new device × day
# (`new_user_day`: its first opens, by the device's id as the spec counts new users). Every dimension is a
# grouping key, so a distinct count of users (or sessions) over any set of rows is exact (count(DISTINCT
# user_key) over user_day rows in range = over the events), and sums of per-group counts are the counts.
# A session's rows in `session_day` are one per day (its platform, user and traffic are the session's own).
# DuckDB's load materialises them in the stored zone, ordered by day; the other engines read the same definition
# over `base`. `rollup_ctes` gives a query `ud`/`sd`/`ed`/`pd`: the stored rows of the range when they are in
# the query's zone, else (another zone, or an engine that stores none) the definition over `base`.


@dataclass(frozen=True)
class Rollup:
    name: str  # the stored table
    alias: str  # the CTE a query reads it as
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    source: str = "base"  # where its rows come from: `base`, or a select over it (per-row flags)
    # Measures are BIGINT, not the HUGEINT DuckDB sums integers to: reading a HUGEINT column costs 40× more.


VIEW_EVENTS = "('_page_view', '_screen_view')"
USER_DAY = Rollup("user_day", "ud", (
    "event_date", "platform", "user_key", "first_date", "app_version", "device_mobile_model_name",
    "device_ua_device", "device_ua_browser", "device_operating_system", "device_ua_os",
    "device_operating_system_version", "device_ua_os_version", "device_screen_width", "device_screen_height",
    "first_traffic_source", "first_traffic_medium", "first_traffic_campaign", "first_traffic_clid_platform",
    "first_traffic_channel_group", "first_app_install_source",
), (
    "count(DISTINCT event_id) AS events",
    f"count(DISTINCT CASE WHEN event_name IN {VIEW_EVENTS} THEN event_id END) AS views",
    "count(DISTINCT CASE WHEN event_name = '_first_open' THEN event_id END) AS first_opens",
    "count(DISTINCT CASE WHEN event_name = '_session_start' THEN event_id END) AS session_starts",
    "count(DISTINCT CASE WHEN event_name = '_app_exception' THEN event_id END) AS exceptions",
    # 1 on one row of each user and day (a user-day has more when its platform or device columns differ): over
    # every platform those rows are the active user-days, without a distinct.
    "CAST(row_number() OVER (PARTITION BY user_key, event_date ORDER BY platform) AS BIGINT) AS day_row",
))  # fmt: skip
SESSION_SOURCE_DIMS = {  # the session traffic dimensions the dashboards group by
    "Session Traffic Source": "session_source",
    "Session Traffic Medium": "session_medium",
    "Session Traffic Source / Medium": "session_source || ' / ' || session_medium",
    "Session Traffic Campaign": "session_campaign",
    "Session Traffic Clid Platform": "session_clid_platform",
    "Session Traffic Channel Group": "session_channel_group",
}


def shown_dim(dim: str) -> str:
    """A dimension's value as a chart shows it (and groups it): text, '(none)' for none."""
    return f"coalesce(CAST({dim} AS VARCHAR), '(none)')"


def prev_column(session_dim: str) -> str:
    """The `session_day` column with the day of the user's previous row of the same value of a session
    dimension: a row is the user's first of its value on its day when that is earlier (or none), and in a
    range starting on day S when that is before S, so users by value are counted without a distinct."""
    return f"prev_dim{list(SESSION_SOURCE_DIMS).index(session_dim)}"


SESSION_DAY = Rollup("session_day", "sd", ("event_date", "platform", "user_key", "session_key", *SESSION_COLUMNS), (
    "max(session_duration) AS duration",
    f"count(DISTINCT CASE WHEN event_name IN {VIEW_EVENTS} THEN event_id END) AS views",
    "CAST(sum(coalesce(user_engagement_time_msec, 0)) AS BIGINT) AS engagement",
    "count(DISTINCT event_id) AS events",
    # How many rows of the relation the session has: a session with one is whole in any range that holds it.
    "CAST(count(*) OVER (PARTITION BY user_key, session_key) AS BIGINT) AS session_rows",
    *(f"lag(event_date) OVER (PARTITION BY user_key, {shown_dim(dim)} ORDER BY event_date) AS {prev_column(name)}"
      for name, dim in SESSION_SOURCE_DIMS.items()),
))  # fmt: skip
EVENT_DAY = Rollup("event_day", "ed", ("event_date", "platform", "event_name", "user_key"), (
    "count(DISTINCT event_id) AS events", "sum(event_value) AS event_value",
    # The day of the user's previous row for the event name: a row is the user's first for it in a range
    # starting on day S when that is before S (or none), so users are counted without a distinct.
    "lag(event_date) OVER (PARTITION BY event_name, user_key ORDER BY event_date, platform) AS prev_date",
))  # fmt: skip
# A session's exit page or screen: its last view of that kind on the day (per platform, so that the platform
# filter selects whole sessions and every engine agrees).
PAGE_DAY = Rollup("page_day", "pd", (
    "event_date", "platform", "event_name", "page_view_page_title", "page_view_page_url_path",
    "screen_view_screen_name", "screen_view_screen_id", "user_key", "session_key",
), (
    "count(DISTINCT event_id) AS views",
    "count(DISTINCT CASE WHEN (event_name = '_page_view' AND page_view_entrances) OR (event_name = '_screen_view'"
    " AND screen_view_entrances) THEN event_id END) AS entrances",
    "CAST(sum(is_exit) AS BIGINT) AS exits",
), source=(
    "(SELECT *, CASE WHEN row_number() OVER (PARTITION BY platform, user_key, session_key, event_date, event_name"
    " ORDER BY event_timestamp DESC, event_id DESC) = 1 THEN 1 ELSE 0 END AS is_exit FROM base WHERE event_name IN"
    f" {VIEW_EVENTS}) AS v"
))  # fmt: skip
NEW_USER_DAY = Rollup("new_user_day", "nd", ("event_date", "platform", "user_pseudo_id", "geo_country", "geo_city"), (
    "count(DISTINCT event_id) AS first_opens",
), source="(SELECT * FROM base WHERE event_name = '_first_open') AS f")  # fmt: skip
ROLLUPS = {r.name: r for r in (USER_DAY, SESSION_DAY, EVENT_DAY, PAGE_DAY, NEW_USER_DAY)}


def rollup_sql(rollup: Rollup) -> str:
    """The definition of a pre-aggregated relation over `base`."""
    return (
        f"SELECT {', '.join(rollup.keys)}, {', '.join(rollup.measures)} FROM {rollup.source}"
        f" GROUP BY {', '.join(str(i) for i in range(1, len(rollup.keys) + 1))}"
    )


def stored_rollup_sql(rollup: Rollup) -> str:
    """A relation over the whole stored `event_enriched`: what DuckDB's load materialises."""
    return f"WITH base AS ({stored_base()}) {rollup_sql(rollup)}"


def stored_base() -> str:
    """`base` over the whole stored `event_enriched`, in its stored zone (DuckDB's load of the roll-ups)."""
    columns = ", ".join(
        (*EVENT_COLUMNS, *SESSION_COLUMNS, *USER_COLUMNS, "merged_user_id", "user_key", "session_key")
    )
    return (
        f"SELECT {columns}, tz_event_date AS event_date, tz_first_date AS first_date FROM event_enriched AS e"
    )


def rollup_ctes(scope: Scope, params: Params, rollups: tuple[Rollup, ...], *, stored_zone: str | None) -> str:
    """`, ud AS (…), sd AS (…)` for the given relations, over the same scope as `base`: the stored rows of the
    range when the engine stores them in the query's zone (`stored_zone`: the zone of the app's stored roll-ups,
    None where the engine stores none), else the definition over `base`. Decided here rather than by a filter
    in SQL: a branch that returns nothing still scans every event's zone."""
    out = []
    for rollup in rollups:
        if stored_zone != scope.timezone:
            out.append(f"{rollup.alias} AS NOT MATERIALIZED ({rollup_sql(rollup)})")
            continue
        conditions = [
            f"d.event_date >= CAST({params.bind(scope.start)} AS DATE)",
            f"d.event_date <= CAST({params.bind(scope.end)} AS DATE)",
        ]
        if scope.platforms:
            conditions.append(f"d.platform IN ({params.bind_list(list(scope.platforms))})")
        columns = ", ".join((*rollup.keys, *(m.rsplit(" AS ", 1)[1] for m in rollup.measures)))
        out.append(
            f"{rollup.alias} AS NOT MATERIALIZED (SELECT {columns} FROM {rollup.name} AS d"
            f" WHERE {' AND '.join(conditions)})"
        )
    return ", " + ", ".join(out)
