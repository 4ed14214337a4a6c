"""Plain-Python computations of the metrics, written from the spec without looking at the SQL.

Each takes the generated rows (analytics.sample.Sample) and a Scope and returns what a visual should show.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from analytics.base import Scope

VIEWS = {"_page_view", "_screen_view"}


def local_date(ts: datetime, tz: str) -> date:
    return ts.astimezone(ZoneInfo(tz)).date()


def enriched(sample: Any, scope: Scope, start: date | None = None) -> list[dict[str, Any]]:
    """The scoped events with merged user id, local day and first-touch local day."""
    users = {u["user_pseudo_id"]: u for u in sample.users}
    out = []
    for e in sample.events:
        day = local_date(e["event_timestamp"], scope.timezone)
        if not ((start or scope.start) <= day <= scope.end):
            continue
        if scope.platforms and e["platform"] not in scope.platforms:
            continue
        user = users[e["user_pseudo_id"]]
        first = datetime.fromtimestamp(user["first_touch_time_msec"] / 1000, UTC)
        out.append({**e, "mid": user["user_id"] or e["user_pseudo_id"], "day": day,
                    "first_date": local_date(first, scope.timezone)})  # fmt: skip
    return out


def active_new_by_day(rows: list[dict]) -> dict[date, tuple[int, int]]:
    active, new = defaultdict(set), defaultdict(set)
    for r in rows:
        active[r["day"]].add(r["mid"])
        if r["event_name"] == "_first_open":
            new[r["day"]].add(r["user_pseudo_id"])
    return {d: (len(active[d]), len(new[d])) for d in active}


def engagement_by_day(rows: list[dict]) -> dict[date, tuple[float, float, float | None]]:
    sessions: dict[tuple, dict] = {}
    for r in rows:
        s = sessions.setdefault((r["day"], r["mid"], r["user_pseudo_id"], r["session_id"]),
                                {"duration": 0, "views": set(), "engagement": 0})  # fmt: skip
        s["duration"] = max(s["duration"], r["session_duration"] or 0)
        if r["event_name"] in VIEWS:
            s["views"].add(r["event_id"])
        s["engagement"] += r["user_engagement_time_msec"] or 0
    out = {}
    for day in {k[0] for k in sessions}:
        mine = {k: v for k, v in sessions.items() if k[0] == day}
        users = len({k[1] for k in mine})
        engaged = [v for v in mine.values() if len(v["views"]) > 1 or v["duration"] > 10000]
        seconds = sum(v["engagement"] for v in engaged) / 1000
        out[day] = (len(engaged) / users, seconds / users, seconds / len(engaged) if engaged else None)
    return out


def screen_entrances(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["event_name"] == "_screen_view" and r.get("screen_view_entrances"):
            counts[r["screen_view_screen_name"]] += 1
    return dict(counts)


def crash_rate(rows: list[dict]) -> dict[tuple[date, str], float]:
    users, crashed = defaultdict(set), defaultdict(set)
    for r in rows:
        if r["platform"] == "Web":
            continue
        users[(r["day"], r["platform"])].add(r["mid"])
        if r["event_name"] == "_app_exception":
            crashed[(r["day"], r["platform"])].add(r["mid"])
    return {k: len(crashed[k]) / len(v) for k, v in users.items()}


def stickiness(rows: list[dict], scope: Scope) -> dict[date, tuple[float, float, float]]:
    """DAU/WAU, DAU/MAU, WAU/MAU with WAU and MAU as distinct users over the 7 / 30 days to each day."""
    by_day = defaultdict(set)
    for r in rows:
        by_day[r["day"]].add(r["mid"])
    out = {}
    for day in by_day:
        if not scope.start <= day <= scope.end:
            continue
        wau = set().union(*(by_day.get(day - timedelta(days=i), set()) for i in range(7)))
        mau = set().union(*(by_day.get(day - timedelta(days=i), set()) for i in range(30)))
        dau = by_day[day]
        out[day] = (len(dau) / len(wau), len(dau) / len(mau), len(wau) / len(mau))
    return out


def first_visits(rows: list[dict]) -> dict[Any, date]:
    """Each merged user's first visit day: the earliest first-touch day of its devices' rows."""
    first: dict[Any, date] = {}
    for r in rows:
        first[r["mid"]] = min(first.get(r["mid"], r["first_date"]), r["first_date"])
    return first


def retention_by_day(rows: list[dict], scope: Scope) -> dict[int, float]:
    first = first_visits(rows)
    active = defaultdict(set)
    for r in rows:
        f = first[r["mid"]]
        if f >= scope.start and 0 <= (r["day"] - f).days <= 42:
            active[(r["day"] - f).days].add(r["mid"])
    cohort = active[0]
    return {d: len(u & cohort) / len(cohort) for d, u in active.items() if u & cohort}


def cohorts(rows: list[dict]) -> dict[tuple[date, date], int]:
    """Users per (first active day in the range, active day)."""
    days = defaultdict(set)
    for r in rows:
        days[r["mid"]].add(r["day"])
    out: dict[tuple[date, date], int] = defaultdict(int)
    for active in days.values():
        for day in active:
            out[(min(active), day)] += 1
    return dict(out)


def retention_by_first_visit(rows: list[dict], scope: Scope) -> dict[tuple[date, int], float]:
    """D1 and D7 rates per first visit day: of the users active on their first visit day (in the range), those
    active again 1 and 7 days later."""
    first = first_visits(rows)
    active = {(r["mid"], r["day"]) for r in rows}
    cohort = defaultdict(set)
    for mid, f in first.items():
        if f >= scope.start and (mid, f) in active:
            cohort[f].add(mid)
    out = {}
    for f, users in cohort.items():
        for k in (1, 7):
            back = sum((mid, f + timedelta(days=k)) in active for mid in users)
            if back:
                out[(f, k)] = back / len(users)
    return out


def event_details(rows: list[dict]) -> dict[str, tuple[int, int, float]]:
    """Per event name: events, distinct users, summed event value."""
    events: dict[str, set] = defaultdict(set)
    users: dict[str, set] = defaultdict(set)
    value: dict[str, float] = defaultdict(float)
    for r in rows:
        events[r["event_name"]].add(r["event_id"])
        users[r["event_name"]].add(r["mid"])
        value[r["event_name"]] += r.get("event_value") or 0
    return {k: (len(v), len(users[k]), value[k]) for k, v in events.items()}


def page_details(rows: list[dict], dim: str, event: str) -> dict[str, tuple[int, int, int, int, int]]:
    """Per page / screen (`dim` of the view `event`): views, users, sessions, entrances (the view's own flag)
    and exits (the last such view of a session on its day, per platform)."""
    views: dict[str, set] = defaultdict(set)
    users: dict[str, set] = defaultdict(set)
    sessions: dict[str, set] = defaultdict(set)
    entrances: dict[str, int] = defaultdict(int)
    last: dict[tuple, dict] = {}
    flag = "page_view_entrances" if event == "_page_view" else "screen_view_entrances"
    for r in rows:
        if r["event_name"] != event:
            continue
        name = r[dim] if r[dim] is not None else "(none)"
        views[name].add(r["event_id"])
        users[name].add(r["mid"])
        sessions[name].add((r["user_pseudo_id"], r["session_id"]))
        entrances[name] += bool(r.get(flag))
        key = (r["platform"], r["user_pseudo_id"], r["session_id"], r["day"])
        if key not in last or (r["event_timestamp"], r["event_id"]) > (
            last[key]["event_timestamp"],
            last[key]["event_id"],
        ):
            last[key] = r
    exits: dict[str, int] = defaultdict(int)
    for r in last.values():
        exits[r[dim] if r[dim] is not None else "(none)"] += 1
    return {k: (len(v), len(users[k]), len(sessions[k]), entrances[k], exits[k]) for k, v in views.items()}


def whole_sessions(rows: list[dict]) -> dict[tuple, dict]:
    """Each session (one device's session id) in range with its totals over all its days."""
    sessions: dict[tuple, dict] = {}
    for r in rows:
        if r["session_id"] is None:
            continue
        s = sessions.setdefault((r["user_pseudo_id"], r["session_id"]), {
            "mid": r["mid"], "duration": 0, "views": set(), "engagement": 0, "events": set(),
        })  # fmt: skip
        s["duration"] = max(s["duration"], r["session_duration"] or 0)
        if r["event_name"] in VIEWS:
            s["views"].add(r["event_id"])
        s["engagement"] += r["user_engagement_time_msec"] or 0
        s["events"].add(r["event_id"])
    return sessions


def session_sources(sample: Any) -> dict[tuple, str | None]:
    """Each session's source: a known, non-Direct one over Direct over none (spec/analytics.md §1.3)."""
    rank = {None: 2, "Direct": 1}
    best: dict[tuple, str | None] = {}
    for s in sample.sessions:
        key = (s["user_pseudo_id"], s["session_id"])
        if key not in best or rank.get(s["session_source"], 0) < rank.get(best[key], 0):
            best[key] = s["session_source"]
    return best


def new_user_table(rows: list[dict], sample: Any) -> dict[str, tuple[int, int, int, int]]:
    """Per first traffic source of the device that first opened in the range: new users, and their sessions,
    engaged sessions and events in the range."""
    users = {u["user_pseudo_id"]: u for u in sample.users}
    firsts = {(r["mid"], users[r["user_pseudo_id"]]["first_traffic_source"] or "(none)")
              for r in rows if r["event_name"] == "_first_open"}  # fmt: skip
    by_user: dict[Any, list[dict]] = defaultdict(list)
    for s in whole_sessions(rows).values():
        by_user[s["mid"]].append(s)
    out: dict[str, list[int]] = {}
    for mid, dim in firsts:
        o = out.setdefault(dim, [0, 0, 0, 0])
        o[0] += 1
        for s in by_user[mid]:
            o[1] += 1
            o[2] += len(s["views"]) > 1 or s["duration"] > 10000
            o[3] += len(s["events"])
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def traffic_table(rows: list[dict], sample: Any) -> dict[str, tuple[int, int, int, float, int]]:
    """Per session source: active users, sessions, engaged sessions, engagement seconds, events."""
    sources = session_sources(sample)
    out: dict[str, list] = {}
    for key, s in whole_sessions(rows).items():
        o = out.setdefault(sources.get(key) or "(none)", [set(), 0, 0, 0.0, 0])
        o[0].add(s["mid"])
        o[1] += 1
        o[2] += len(s["views"]) > 1 or s["duration"] > 10000
        o[3] += s["engagement"] / 1000
        o[4] += len(s["events"])
    return {k: (len(v[0]), v[1], v[2], v[3], v[4]) for k, v in out.items()}
