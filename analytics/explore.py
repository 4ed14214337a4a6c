"""Explore (spec/analytics.md §3): event analysis, funnel, path, retention and attribution queries, built from
a validated spec (`analytics.api.serializers.ExploreSpecSerializer`) as one query each.

Deliberate differences from the original, each tested in tests/analytics/test_explore.py:
* weekly and monthly user counts are distinct users of the week / month, not sums of daily counts (§8.3);
* path "merge consecutive" collapses runs of the same node, and gap-based sessions split exactly where the
  gap is at least the limit (§8.4);
* attribution's "same day" window is the conversion's local day, and the position model shares the middle
  weight among the middle touches (§8.5);
* retention has a cohort per first-event day or week, weeks start on Monday everywhere (§8.6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from analytics.base import EVENT_COLUMNS, SESSION_COLUMNS, USER_COLUMNS, Scope, base_cte, shown_dim
from analytics.sql import Params, Query, json_key

MAX_STEPS = 10
MAX_FILTERS = 10
MAX_RETENTION_PAIRS = 5
PRESET_EVENTS = frozenset({
    "_session_start", "_session_stop", "_screen_view", "_app_exception", "_app_update", "_first_open",
    "_os_update", "_user_engagement", "_profile_set", "_page_view", "_app_start", "_scroll", "_search", "_click",
    "_clickstream_error", "_mp_share", "_mp_favorite", "_app_end",
})  # fmt: skip
OUTER_COLUMNS = frozenset(EVENT_COLUMNS) | frozenset(SESSION_COLUMNS) | {"merged_user_id", "event_date"}
USER_OUTER_COLUMNS = frozenset(USER_COLUMNS) - {"user_properties_json_str"}
NUMBER_COLUMNS = frozenset({"event_value", "session_duration", "user_engagement_time_msec", "device_screen_width",
                            "device_screen_height", "event_bundle_sequence_id", "first_touch_time_msec"})  # fmt: skip
BOOLEAN_COLUMNS = frozenset({"page_view_entrances", "screen_view_entrances"})
TIME_COLUMNS = frozenset({"event_timestamp", "event_date", "first_visit_date"})


def column_type(name: str) -> str:
    """The value type of a preset column: number, boolean, time or string."""
    if name in NUMBER_COLUMNS:
        return "number"
    if name in BOOLEAN_COLUMNS:
        return "boolean"
    return "time" if name in TIME_COLUMNS else "string"


PATH_NODES = ("event", "page_view_page_title", "page_view_page_url_path", "screen_view_screen_name",
              "screen_view_screen_id")  # fmt: skip
OPERATORS = ("=", "<>", ">", ">=", "<", "<=", "in", "not_in", "contains", "not_contains", "is_null",
             "is_not_null", "true", "false")  # fmt: skip


@dataclass(frozen=True)
class Condition:
    """`category`: event_outer (a column of the event), user_outer (a column of the user), event (a custom
    event parameter) or user (a custom user attribute). `value_type`: string | number | boolean."""

    category: str
    property: str
    operator: str
    values: tuple[Any, ...] = ()
    value_type: str = "string"


@dataclass(frozen=True)
class EventRef:
    event: str
    filters: tuple[Condition, ...] = ()
    filter_operator: str = "and"


@dataclass(frozen=True)
class Metric(EventRef):
    measure: str = "users"  # users | events | count_distinct | sum | min | max | avg | median
    property: Condition | None = None  # the property counted or aggregated (operator unused)
    label: str = ""


@dataclass(frozen=True)
class Spec:
    type: str
    scope: Scope
    granularity: str = "day"
    filters: tuple[Condition, ...] = ()
    filter_operator: str = "and"
    group_by: Condition | None = None
    count: str = "users"  # users | events (funnel, path)
    metrics: tuple[Metric, ...] = ()  # event
    steps: tuple[EventRef, ...] = ()  # funnel
    window_type: str = "custom"  # custom | day | session (attribution)
    window_seconds: int = 600
    start: EventRef | None = None  # path start node / event
    node: str = "event"  # path
    nodes: tuple[str, ...] = ()  # path: the nodes shown; empty = all
    include_others: bool = True
    merge_consecutive: bool = True
    session_type: str = "session"  # session | gap
    gap_seconds: int = 300
    max_steps: int = 10
    pairs: tuple[tuple[EventRef, EventRef], ...] = ()  # retention
    cohort: str = "day"  # retention: day | week
    periods: int = 7  # retention: periods after the cohort's
    goal: EventRef | None = None  # attribution
    goal_value: str = "count"  # count | sum (event_value)
    touchpoints: tuple[EventRef, ...] = ()
    model: str = "first"  # first | last | linear | position
    weights: tuple[int, int, int] = (40, 20, 40)
    extra: dict[str, Any] = field(default_factory=dict)


def value_sql(cond: Condition) -> str:
    """The SQL of the property a condition reads. Names were checked against the catalog by validation."""
    if cond.category == "event_outer":
        if cond.property not in OUTER_COLUMNS:
            raise ValueError(f"unknown event attribute {cond.property!r}")
        return cond.property
    if cond.category == "user_outer":
        if cond.property not in USER_OUTER_COLUMNS:
            raise ValueError(f"unknown user attribute {cond.property!r}")
        return cond.property
    if cond.category == "event":
        raw = f"json_extract_string(custom_parameters_json_str, '$.{json_key(cond.property)}')"
    elif cond.category == "user":
        raw = f"json_extract_string(user_properties_json_str, '$.{json_key(cond.property)}.value')"
    else:
        raise ValueError(f"unknown category {cond.category!r}")
    return f"TRY_CAST({raw} AS DOUBLE)" if cond.value_type == "number" else raw


def condition_sql(cond: Condition, params: Params) -> str:
    column = value_sql(cond)
    op, values = cond.operator, list(cond.values)
    if cond.value_type == "number":
        values = [float(v) for v in values]
    if op in ("=", ">", ">=", "<", "<="):
        return f"{column} {op} {params.bind(values[0])}"
    if op == "<>":  # negative operators keep rows where the value is missing (spec §3.1)
        return f"({column} IS NULL OR {column} <> {params.bind(values[0])})"
    if op == "in":
        return f"{column} IN ({params.bind_list(values)})"
    if op == "not_in":
        return f"({column} IS NULL OR {column} NOT IN ({params.bind_list(values)}))"
    if op in ("contains", "not_contains"):
        escaped = str(values[0]).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"{column} LIKE {params.bind('%' + escaped + '%')} ESCAPE '\\'"
        return like if op == "contains" else f"({column} IS NULL OR NOT {like})"
    if op == "is_null":
        return f"{column} IS NULL"
    if op == "is_not_null":
        return f"{column} IS NOT NULL"
    truth = f"CAST({column} AS VARCHAR) IN ('true', '1', '1.0')"
    return truth if op == "true" else f"({column} IS NULL OR NOT {truth})"


def conditions_sql(conditions: tuple[Condition, ...], operator: str, params: Params) -> str:
    if not conditions:
        return "TRUE"
    joiner = " AND " if operator == "and" else " OR "
    return "(" + joiner.join(condition_sql(c, params) for c in conditions) + ")"


def event_sql(ref: EventRef, params: Params) -> str:
    return f"(event_name = {params.bind(ref.event)} AND {conditions_sql(ref.filters, ref.filter_operator, params)})"


def bucket_sql(granularity: str, column: str = "event_date") -> str:
    if granularity == "day":
        return column
    return f"CAST(date_trunc('{'week' if granularity == 'week' else 'month'}', {column}) AS DATE)"


def group_sql(spec: Spec) -> str:
    return shown_dim(value_sql(spec.group_by)) if spec.group_by else "'all'"


def _base(spec: Spec, params: Params, scope: Scope | None = None) -> str:
    where = ""
    if spec.filters:
        where = conditions_sql(spec.filters, spec.filter_operator, params)
    return base_cte(scope or spec.scope, params, where=where)


# --- event analysis ------------------------------------------------------------------------------------------
def event_query(spec: Spec) -> Query:
    params = Params()
    base = _base(spec, params)
    parts = []
    for index, metric in enumerate(spec.metrics):
        label = params.bind(metric.label or f"{index + 1}_{metric.event}")
        measure = {
            "users": "count(DISTINCT user_key)",
            "events": "count(DISTINCT event_id)",
        }.get(metric.measure)
        if measure is None and metric.property is not None:
            prop = value_sql(metric.property)
            func = {"count_distinct": "count(DISTINCT {})", "sum": "sum({})", "min": "min({})", "max": "max({})",
                    "avg": "avg({})", "median": "median({})"}[metric.measure]  # fmt: skip
            measure = func.format(prop)
        parts.append(
            f"SELECT {bucket_sql(spec.granularity)} AS period, {label} AS metric, {group_sql(spec)} AS grp,"
            f" CAST({measure} AS DOUBLE) AS value FROM base WHERE {event_sql(metric, params)} GROUP BY 1, 2, 3"
        )
    body = " UNION ALL ".join(parts)
    return Query.parse(
        "event analysis", f"WITH {base}, result AS ({body}) SELECT * FROM result ORDER BY 1, 2, 3", params
    )


# --- funnel --------------------------------------------------------------------------------------------------
def funnel_query(spec: Spec) -> Query:
    """Strict order: step k happens after step k-1; all within the window from step 1 (or on step 1's local
    day). Taking the earliest next step at each stage finds a complete path whenever one exists, so one pass
    of window functions over each user's events finds, for every event, the next time of every step after
    it; the stages then chain by equality joins (no fan-out of occurrences, O(n log n)). The stream through
    that sort carries only what a later stage reads (the start's id, day and group only when counted, windowed
    by day or grouped): a sort moves every column it carries."""
    params = Params()
    base = _base(spec, params)
    n = len(spec.steps)
    carried = [c for c, needed in (("event_id AS id0", spec.count == "events"),
                                   ("event_date AS d0", spec.window_type != "custom"),
                                   (f"{group_sql(spec)} AS grp", spec.group_by is not None)) if needed]  # fmt: skip
    stream = " UNION ALL ".join(
        f"SELECT {', '.join(['user_key AS uid', 'event_timestamp AS ts', *carried])}, {k} AS step FROM base"
        f" WHERE {event_sql(step, params)}"
        for k, step in enumerate(spec.steps)
    )
    # Ties: at the same instant a later step sorts first, so it is not "after" (strict order). Which of two
    # rows of one step and instant comes first changes no value read: the next time of step k is read only
    # from rows of step k - 1, and is the first time of step k strictly after theirs. Times only grow down the
    # sort, so that is the first one below (cheaper than a minimum over the frame); and the first row of a step
    # and instant (`head`, the same sort) stands for the others when a stage looks up the row it reached.
    order = "PARTITION BY uid ORDER BY ts, step DESC"
    frame = f"{order} ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING"
    nexts = "".join(
        f", first_value(CASE WHEN step = {k} THEN ts END IGNORE NULLS) OVER ({frame}) AS n{k}"
        for k in range(1, n)
    )
    if n > 2:
        same = f"lag(ts) OVER ({order}) = ts AND lag(step) OVER ({order}) = step"
        nexts += f", CASE WHEN {same} THEN 0 ELSE 1 END AS head"
    window = params.bind(spec.window_seconds) if spec.window_type == "custom" else None
    start = ["uid", "t0", *(c.rsplit(" AS ", 1)[1] for c in carried)]
    ctes = [base, f"stream AS ({stream})", f"nx AS (SELECT *{nexts} FROM stream)",
            "f0 AS (SELECT *, ts AS t0, ts AS t_0 FROM nx WHERE step = 0)"]  # fmt: skip
    for k in range(1, n):
        inside = (f"date_diff('second', f.t0, f.n{k}) <= {window}" if window
                  else f"CAST(f.n{k} AT TIME ZONE 'UTC' AT TIME ZONE {params.bind(spec.scope.timezone)} AS DATE) = f.d0")  # fmt: skip
        kept = ", ".join([*(f"f.{c}" for c in start), *(f"f.t_{j}" for j in range(k))])
        ctes.append(
            f"g{k} AS (SELECT {kept}, CASE WHEN {inside} THEN f.n{k} END AS t_{k} FROM f{k - 1} AS f)"
        )
        if k + 1 < n:  # the next time of step k + 1 after the step-k event reached (one row per instant)
            ctes.append(f"f{k} AS (SELECT f.*, r.n{k + 1} FROM g{k} AS f LEFT JOIN (SELECT uid, ts, n{k + 1} FROM nx"
                        f" WHERE step = {k} AND head = 1) AS r ON r.uid = f.uid AND r.ts = f.t_{k})")  # fmt: skip
        else:
            ctes.append(f"f{k} AS (SELECT * FROM g{k})")
    counted = "uid" if spec.count == "users" else "id0"
    measures = ", ".join(
        f"count(DISTINCT CASE WHEN t_{k} IS NOT NULL THEN {counted} END) AS step_{k + 1}" for k in range(n)
    )
    grp = "grp" if spec.group_by else "'all'"
    sql = (
        f"WITH {', '.join(ctes)} SELECT {grp} AS grp, {measures} FROM f{n - 1} GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    return Query.parse("funnel", sql, params)


# --- path ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathNodes:
    """What a path sorts and groups as its node, and how a node reads back as its name (`label`, a format)."""

    node: str
    keep: str  # which events are nodes
    start: str | None  # the start node's condition
    label: str = "{}"
    lost: str = "'lost'"  # the target after a group's last node


def path_nodes(spec: Spec, params: Params) -> PathNodes:
    """Listed nodes travel as small integers (a sort and a grouping compare them for much less than text), in
    one code per name: 'other' (the unlisted, when shown) is 0, and a listed 'other' or 'lost' is the same node
    as the one it reads as, so results are those of the names themselves."""
    if spec.node == "event":
        column = "event_name"
        shown = set(spec.nodes) | ({spec.start.event} if spec.start else set())
        hidden = sorted(PRESET_EVENTS - shown)
        # A list lookup, not NOT IN: DuckDB compares a constant list one by one per row (3× the scan here;
        # Redshift, which has no arrays, reads it back as NOT IN: analytics/sql.py).
        keep = f"NOT list_contains([{params.bind_list(hidden)}], event_name)" if hidden else "TRUE"
    else:
        column = spec.node
        view = "_page_view" if spec.node.startswith("page_view") else "_screen_view"
        keep = f"event_name = {params.bind(view)} AND {column} IS NOT NULL"
    if not spec.nodes:
        return PathNodes(column, keep, f"node = {params.bind(spec.start.event)}" if spec.start else None)
    listed = list(spec.nodes) + ([spec.start.event] if spec.start and spec.node == "event" else [])
    codes = {name: code for code, name in enumerate(dict.fromkeys(["other", *listed]))}
    names = {name: params.bind(name) for name in codes if name != "other"}
    if not spec.include_others:
        keep = f"{keep} AND {column} IN ({params.bind_list(list(dict.fromkeys(listed)))})"
    lost = codes.get("lost", len(codes))
    reads = " ".join(f"WHEN {codes[name]} THEN {value}" for name, value in names.items())
    coded = " ".join(f"WHEN {value} THEN {codes[name]}" for name, value in names.items())
    code = codes.get(spec.start.event) if spec.start else None
    return PathNodes(
        node=f"CASE {column} {coded} ELSE 0 END" if coded else "0",  # only 'other' listed: every node is it
        keep=keep,
        start=None if not spec.start else f"node = {code}" if code is not None else "FALSE",
        label=f"CASE {{}} WHEN 0 THEN 'other' {reads} WHEN {lost} THEN 'lost' END",
        lost=str(lost),
    )


def path_query(spec: Spec) -> Query:
    params = Params()
    base = _base(spec, params)
    nodes = path_nodes(spec, params)
    node, keep = nodes.node, nodes.keep
    # The first start node of a group heads its run (no node of its kind precedes it), so merging keeps it: the
    # group's rows from it on are those after which a start node has been seen (a running max, same sort).
    start = nodes.start
    # A group is a session, `session_key`: one device's session, an integer in DuckDB (cheaper to sort by than
    # the merged user and the session id's text).
    if spec.session_type == "session":
        order = "PARTITION BY session_key ORDER BY ts, event_id"
        started = (f"max(CASE WHEN {start} THEN 1 ELSE 0 END) OVER ({order} ROWS UNBOUNDED PRECEDING) = 1"
                   if start else "TRUE")  # fmt: skip
        grouped = (
            f"g AS (SELECT uid, session_key AS grp, event_id, node, row_number() OVER ({order}) AS pos, CASE WHEN"
            f" lag(node) OVER ({order}) = node THEN 0 ELSE 1 END AS head, {started} AS started FROM ev"
            " WHERE session_key IS NOT NULL)"
        )
        steps = "PARTITION BY grp ORDER BY pos"
    else:
        order = "PARTITION BY uid ORDER BY ts, event_id"
        running = "OVER (PARTITION BY uid ORDER BY pos ROWS UNBOUNDED PRECEDING)"
        gap = params.bind(spec.gap_seconds)
        started = (f"max(CASE WHEN {start} THEN pos END) {running} >= max(CASE WHEN opens = 1 THEN pos END)"
                   f" {running}" if start else "TRUE")  # fmt: skip
        grouped = (
            f"lagged AS (SELECT uid, event_id, node, row_number() OVER ({order}) AS pos, CASE WHEN lag(ts) OVER"
            f" ({order}) IS NULL OR date_diff('second', lag(ts) OVER ({order}), ts) >= {gap} THEN 1 ELSE 0 END"
            f" AS opens, lag(node) OVER ({order}) AS prev_node FROM ev), g AS (SELECT uid, sum(opens) {running}"
            " AS grp, event_id, node, pos, CASE WHEN opens = 0 AND prev_node = node THEN 0 ELSE 1 END AS head,"
            f" {started} AS started FROM lagged)"
        )
        steps = "PARTITION BY uid, grp ORDER BY pos"  # a group's number counts within its user
    merged = "head = 1" if spec.merge_consecutive else "TRUE"
    counted = "uid" if spec.count == "users" else "event_id"
    # Ties at one instant break by event id: `event_key`, an integer in id order on DuckDB (a text sort key
    # was a third of the query), the id itself elsewhere.
    sql = (
        f"WITH {base}, ev AS (SELECT user_key AS uid, {'session_key, ' if spec.session_type == 'session' else ''}"
        f"event_timestamp AS ts, event_key AS event_id, {node} AS node FROM base WHERE {keep}), {grouped},"
        f" steps AS (SELECT uid, event_id, node, row_number() OVER ({steps}) AS step, lead(node) OVER ({steps})"
        f" AS target FROM g WHERE {merged} AND started)"
        f" SELECT step, {nodes.label.format('node')} AS source, {nodes.label.format('target')} AS target, value FROM"
        f" (SELECT step, node, coalesce(target, {nodes.lost}) AS target, count(DISTINCT {counted}) AS value FROM steps"
        f" WHERE step < {params.bind(spec.max_steps)} GROUP BY 1, 2, 3) AS e ORDER BY 1, 4 DESC, 2, 3"
    )
    return Query.parse("path", sql, params)


# --- retention -----------------------------------------------------------------------------------------------
def retention_query(spec: Spec) -> Query:
    """Cohorts by the day (or Monday week) of each user's first start event in the range; a user returns in
    period k when they do the revisit event in the k-th day / week after their cohort's."""
    params = Params()
    base = _base(spec, params)
    unit = "day" if spec.cohort == "day" else "week"
    bucket = bucket_sql(spec.cohort)
    parts = []
    for index, (start, revisit) in enumerate(spec.pairs):
        label = params.bind(f"{index + 1}_{start.event}")
        parts.append(
            f"SELECT {label} AS pair, c.cohort, CAST(date_diff('{unit}', c.cohort, r.bucket) AS INTEGER) AS period,"
            " count(DISTINCT r.uid) AS users FROM (SELECT user_key AS uid, min("
            + bucket
            + ") AS cohort FROM base"
            f" WHERE {event_sql(start, params)} GROUP BY 1) AS c JOIN (SELECT DISTINCT user_key AS uid,"
            f" {bucket} AS bucket FROM base WHERE {event_sql(revisit, params)}) AS r ON r.uid = c.uid AND"
            f" r.bucket >= c.cohort GROUP BY 1, 2, 3"
            f" UNION ALL SELECT {label} AS pair, cohort, -1 AS period, count(*) AS users FROM (SELECT user_key"
            f" AS uid, min({bucket}) AS cohort FROM base WHERE {event_sql(start, params)} GROUP BY 1) AS s GROUP BY 1, 2, 3"
        )
    body = " UNION ALL ".join(parts)
    sql = (f"WITH {base}, result AS ({body}) SELECT * FROM result WHERE period <= {params.bind(spec.periods)}"
           " ORDER BY 1, 2, 3")  # fmt: skip
    return Query.parse("retention", sql, params)


# --- attribution ---------------------------------------------------------------------------------------------
def attribution_query(spec: Spec) -> Query:
    """Touches belong to the next conversion after them (spec §3.6), if within the window.

    Each user's conversions are numbered in time order (`cn`; ties by id); in one sort of the user's touches
    and conversions (a touch before a conversion at its instant, which is "after" it) the first number below a
    touch is its next conversion's, looked up by equality (no join of every touch with every later conversion).
    Where a touch can be a conversion itself, it belongs to the next other one: the number after its own."""
    params = Params()
    goal = spec.goal
    assert goal is not None, "an attribution spec has its goal (validated before)"
    lookback = math.ceil(spec.window_seconds / 86400) if spec.window_type == "custom" else 0
    base = _base(spec, params, spec.scope.widened(lookback))
    value = "coalesce(event_value, 0)" if spec.goal_value == "sum" else "1"
    # What the window compares of a touch and its conversion beyond their times (a sort carries every column).
    same = {"custom": "", "day": "event_date", "session": "session_id"}[spec.window_type]
    touches = " UNION ALL ".join(
        f"SELECT user_key AS uid, event_id, event_timestamp AS ts{f', {same}' if same else ''},"
        f" {params.bind(f'{i + 1}_{t.event}')} AS touchpoint FROM base WHERE {event_sql(t, params)}"
        for i, t in enumerate(spec.touchpoints)
    )
    if spec.window_type == "custom":
        window = f"date_diff('second', a.ts, a.cts) <= {params.bind(spec.window_seconds)}"
    elif spec.window_type == "day":
        window = "a.event_date = a.cdate"
    else:
        window = "a.session_id = a.csession"
    credit = {
        "first": "CASE WHEN seq = 1 THEN value ELSE 0 END",
        "last": "CASE WHEN seq = cnt THEN value ELSE 0 END",
        "linear": "value / cnt",
    }.get(spec.model)
    if credit is None:  # position-based: the middle weight is shared among the middle touches (§8.5)
        first, middle, last = (params.bind(w / 100) for w in spec.weights)
        credit = (f"CASE WHEN cnt = 1 THEN value WHEN cnt = 2 THEN value * 0.5 WHEN seq = 1 THEN value * {first}"
                  f" WHEN seq = cnt THEN value * {last} ELSE value * {middle} / (cnt - 2) END")  # fmt: skip
    start = params.bind(spec.scope.start)
    following = (
        "PARTITION BY uid ORDER BY ts, cn NULLS FIRST ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING"
    )
    reached = "JOIN conv AS c ON c.uid = t.uid AND c.cn = t.n"
    if goal.event in {t.event for t in spec.touchpoints}:
        reached = ("LEFT JOIN conv AS s ON s.uid = t.uid AND s.cn = t.n JOIN conv AS c ON c.uid = t.uid AND"
                   " c.cn = t.n + CASE WHEN s.cid = t.event_id THEN 1 ELSE 0 END")  # fmt: skip
    sql = (
        f"WITH {base}, conv AS (SELECT user_key AS uid, event_id AS cid, event_timestamp AS cts, event_date AS"
        f" cdate,{' session_id AS csession,' if same == 'session_id' else ''} CAST({value} AS DOUBLE) AS value,"
        " row_number() OVER (PARTITION BY user_key ORDER BY event_timestamp, event_id) AS cn FROM base WHERE"
        f" {event_sql(goal, params)}), touch AS ({touches}), ordered AS (SELECT uid, event_id, ts{f', {same}' if same else ''},"
        " touchpoint, CAST(NULL AS BIGINT) AS cn FROM touch UNION ALL SELECT uid, NULL, cts,"
        f"{' NULL,' if same else ''} NULL, cn FROM conv),"
        f" nexts AS (SELECT *, first_value(cn IGNORE NULLS) OVER ({following}) AS n FROM ordered),"
        f" a AS (SELECT t.uid, t.event_id, t.ts,{f' t.{same},' if same else ''} t.touchpoint, c.cn, c.cts, c.cdate,"
        f"{' c.csession,' if same == 'session_id' else ''} c.value FROM nexts AS t {reached} WHERE t.cn IS NULL),"
        f" attached AS (SELECT a.*, row_number() OVER (PARTITION BY uid, cn ORDER BY ts, event_id, touchpoint) AS"
        f" seq, count(*) OVER (PARTITION BY uid, cn) AS cnt FROM a WHERE {window} AND a.cdate >= CAST({start} AS DATE)),"
        f" credits AS (SELECT touchpoint, count(*) AS triggers_with_conversion, sum({credit}) AS contribution FROM"
        " attached GROUP BY 1), triggers AS (SELECT touchpoint, count(*) AS trigger_count FROM touch GROUP BY 1)"
        " SELECT c.touchpoint, t.trigger_count, (SELECT count(*) FROM conv WHERE cdate >= CAST("
        f"{params.bind(spec.scope.start)} AS DATE)) AS total_conversions, c.triggers_with_conversion,"
        " c.contribution, c.contribution / sum(c.contribution) OVER () AS contribution_rate FROM credits AS c"
        " JOIN triggers AS t ON t.touchpoint = c.touchpoint ORDER BY 5 DESC, 1"
    )
    return Query.parse("attribution", sql, params)


BUILDERS = {
    "event": event_query,
    "funnel": funnel_query,
    "path": path_query,
    "retention": retention_query,
    "attribution": attribution_query,
}


def explore_query(spec: Spec) -> Query:
    return BUILDERS[spec.type](spec)
