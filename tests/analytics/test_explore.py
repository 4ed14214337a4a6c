"""Explore queries on DuckDB against plain-Python computations over the same generated events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from analytics.base import Scope
from analytics.explore import PRESET_EVENTS, Condition, EventRef, Metric, Spec, explore_query
from tests.analytics import reference as ref

SCOPE = Scope(
    app_id="web", project_id="shop", timezone="Asia/Tokyo", start=date(2026, 11, 2), end=date(2026, 11, 20)
)
COUNTRY_US = Condition("event_outer", "geo_country", "=", ("United States",))
SPECS = {
    "event": Spec("event", SCOPE, granularity="week", metrics=(
        Metric("purchase", measure="users"), Metric("view_item", measure="events"),
        Metric("purchase", measure="sum", property=Condition("event_outer", "event_value", "=", value_type="number")),
    )),
    "funnel": Spec("funnel", SCOPE, steps=(EventRef("_session_start"), EventRef("view_item"), EventRef("purchase")),
                   window_seconds=300),
    "funnel_day": Spec("funnel", SCOPE, steps=(EventRef("view_item"), EventRef("add_to_cart")), window_type="day",
                       count="events", group_by=Condition("event_outer", "platform", "=")),
    "path": Spec("path", SCOPE, start=EventRef("_session_start"), nodes=("_session_start", "view_item", "add_to_cart",
                 "purchase"), include_others=False, max_steps=5),
    "path_gap": Spec("path", SCOPE, node="screen_view_screen_name", session_type="gap", gap_seconds=3600, max_steps=4),
    "retention": Spec("retention", SCOPE, pairs=((EventRef("_session_start"), EventRef("_session_start")),),
                      cohort="day", periods=7),
    "retention_week": Spec("retention", SCOPE, pairs=((EventRef("_first_open"), EventRef("purchase")),),
                           cohort="week", periods=3),
    "attribution": Spec("attribution", SCOPE, goal=EventRef("purchase"), touchpoints=(EventRef("view_item"),
                        EventRef("add_to_cart")), model="position", window_seconds=86400),
}  # fmt: skip


def explore_queries() -> list:
    filtered = replace(
        SPECS["funnel"], filters=(COUNTRY_US, Condition("event", "category", "not_contains", ("o",)))
    )
    return [
        pytest.param(explore_query(s), id=f"explore-{k}") for k, s in {**SPECS, "filtered": filtered}.items()
    ]


def run(warehouse, spec: Spec) -> list[dict]:
    return warehouse.warehouse.run(explore_query(spec), app_id="web", use_cache=False).dicts()


def rows(warehouse, scope: Scope = SCOPE, widen: int = 0) -> list[dict]:
    events = ref.enriched(warehouse.sample, scope, start=scope.start - timedelta(days=widen))
    return sorted(events, key=lambda e: (e["event_timestamp"], e["event_id"]))


def test_event_analysis_counts_distinct_users_per_week(warehouse):
    """§8.3: a weekly user count is the week's distinct users, not the sum of daily counts."""
    got = {(r["period"], r["metric"]): r["value"] for r in run(warehouse, SPECS["event"])}
    users, events, value = defaultdict(set), defaultdict(set), defaultdict(float)
    for e in rows(warehouse):
        week = e["day"] - timedelta(days=e["day"].weekday())
        if e["event_name"] == "purchase":
            users[week].add(e["mid"])
            value[week] += e["event_value"] or 0
        if e["event_name"] == "view_item":
            events[week].add(e["event_id"])
    expected = {(w, "1_purchase"): len(u) for w, u in users.items()} | {
        (w, "2_view_item"): len(v) for w, v in events.items()} | {(w, "3_purchase"): v for w, v in value.items()}  # fmt: skip
    assert got == pytest.approx(expected)


def funnel_reference(
    events: list[dict], steps: list[str], window: int | None, by_events: bool, group: str | None
):
    """Every occurrence of step 1 starts an attempt; step k must come strictly after step k-1, within the
    window from step 1 (or on step 1's local day); any qualifying path counts (searched exhaustively)."""
    by_user = defaultdict(list)
    for e in events:
        by_user[e["mid"]].append(e)
    reached: defaultdict[Any, defaultdict[Any, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for uid, mine in by_user.items():
        for start in (e for e in mine if e["event_name"] == steps[0]):
            t0 = start["event_timestamp"]

            def depth(k: int, after, start=start, t0=t0, mine=mine) -> int:
                if k == len(steps):
                    return k
                best = k
                for e in mine:
                    ok = e["event_name"] == steps[k] and e["event_timestamp"] > after
                    ok = ok and (
                        (e["event_timestamp"] - t0).total_seconds() <= window
                        if window
                        else e["day"] == start["day"]
                    )
                    if ok:
                        best = max(best, depth(k + 1, e["event_timestamp"]))
                return best

            reached_steps = depth(1, t0)
            key = start[group] if group else "all"
            for k in range(reached_steps):
                reached[key][k].add(start["event_id"] if by_events else uid)
    return {g: [len(v[k]) for k in range(len(steps))] for g, v in reached.items()}


@pytest.mark.parametrize("name", ["funnel", "funnel_day"])
def test_funnel_matches_an_exhaustive_search(warehouse, name):
    spec = SPECS[name]
    got = {r["grp"]: [r[f"step_{k + 1}"] for k in range(len(spec.steps))] for r in run(warehouse, spec)}
    expected = funnel_reference(
        rows(warehouse),
        [s.event for s in spec.steps],
        spec.window_seconds if spec.window_type == "custom" else None,
        spec.count == "events",
        "platform" if spec.group_by else None,
    )
    assert got == expected
    assert any(counts[-1] > 0 for counts in got.values())


def test_funnel_filters_apply(warehouse):
    spec = replace(SPECS["funnel"], filters=(COUNTRY_US,))
    got = run(warehouse, spec)[0]
    expected = funnel_reference([e for e in rows(warehouse) if e["geo_country"] == "United States"],
                                [s.event for s in spec.steps], 300, False, None)["all"]  # fmt: skip
    assert [got[f"step_{k + 1}"] for k in range(3)] == expected


def path_reference(events: list[dict], spec: Spec) -> dict[tuple, int]:
    """Nodes: custom events and the preset ones listed (or the views' page / screen); with listed nodes, the
    others are 'other' or, without `include_others`, left out."""
    groups = defaultdict(list)
    listed = set(spec.nodes) | ({spec.start.event} if spec.start and spec.node == "event" else set())
    if spec.node == "event":
        seq = [e for e in events if e["event_name"] not in PRESET_EVENTS - listed]
        column = "event_name"
    else:
        seq = [e for e in events if e["event_name"] == "_screen_view" and e.get(spec.node)]
        column = spec.node
    if spec.nodes and not spec.include_others:
        seq = [e for e in seq if e[column] in listed]
    last: dict = {}
    counter: dict = defaultdict(int)
    for e in seq:
        if spec.session_type == "session":
            key = (e["mid"], (e["user_pseudo_id"], e["session_id"]))  # a session is one device's
        else:
            prev = last.get(e["mid"])
            if prev is None or (e["event_timestamp"] - prev).total_seconds() >= spec.gap_seconds:
                counter[e["mid"]] += 1
            last[e["mid"]] = e["event_timestamp"]
            key = (e["mid"], counter[e["mid"]])
        groups[key].append((e[column] if not spec.nodes or e[column] in listed else "other", e["event_id"]))
    edges: dict = defaultdict(set)
    for (uid, _), pairs in groups.items():
        nodes = [n for n, _ in pairs]
        heads = [
            i for i in range(len(nodes)) if not spec.merge_consecutive or i == 0 or nodes[i - 1] != nodes[i]
        ]
        merged, ids = [nodes[i] for i in heads], [pairs[i][1] for i in heads]  # runs collapse (§8.4)
        if spec.start:
            if spec.start.event not in merged:
                continue
            first = merged.index(spec.start.event)
            merged, ids = merged[first:], ids[first:]
        merged = merged[: spec.max_steps]
        for i, source in enumerate(merged[: spec.max_steps - 1]):
            target = merged[i + 1] if i + 1 < len(merged) else "lost"
            edges[(i + 1, source, target)].add(uid if spec.count == "users" else ids[i])
    return {k: len(v) for k, v in edges.items()}


@pytest.mark.parametrize("name", ["path", "path_gap"])
def test_path_edges(warehouse, name):
    spec = SPECS[name]
    got = {(r["step"], r["source"], r["target"]): r["value"] for r in run(warehouse, spec)}
    assert got == path_reference(rows(warehouse), spec)
    assert len(got) > 3


@pytest.mark.parametrize(
    "changes",
    [
        {"merge_consecutive": False},
        {"count": "events"},
        {"session_type": "gap", "gap_seconds": 600},
        {"session_type": "gap", "gap_seconds": 60, "merge_consecutive": False, "count": "events"},
        {"include_others": True},
        {"include_others": True, "nodes": ("view_item", "other", "lost"), "merge_consecutive": False},
        {"nodes": ()},
        {"nodes": ("other",), "start": None, "include_others": True},
    ],
    ids=[
        "unmerged",
        "events",
        "gap-from-start",
        "gap-unmerged-events",
        "others",
        "named-other-lost",
        "all",
        "only-other",
    ],
)
def test_path_variants(warehouse, changes):
    """Unmerged runs, counting events, gap groups from their first start node (each group on its own: the
    start seen in an earlier group does not start a later one), the unlisted nodes as 'other' (a node listed
    as 'other' or 'lost' is the one it reads as), every event a node."""
    spec = replace(replace(SPECS["path"], nodes=("_session_start", "view_item", "add_to_cart")), **changes)
    got = {(r["step"], r["source"], r["target"]): r["value"] for r in run(warehouse, spec)}
    assert got == path_reference(rows(warehouse), spec)
    assert any(source == target for _, source, target in got) == (not spec.merge_consecutive)


def test_gap_sessions_split_exactly_at_the_gap(warehouse):
    """§8.4: a new group starts when the gap to the previous event is at least the limit — the event before
    the gap stays in its group (the original moved it into a group of its own)."""
    spec = replace(SPECS["path_gap"], gap_seconds=60)
    got = {(r["step"], r["source"], r["target"]): r["value"] for r in run(warehouse, spec)}
    assert got == path_reference(rows(warehouse), spec)


def retention_reference(events: list[dict], start: str, revisit: str, cohort: str, periods: int):
    def bucket(d: date) -> date:
        return d if cohort == "day" else d - timedelta(days=d.weekday())

    first: dict = {}
    for e in events:
        if e["event_name"] == start:
            first[e["mid"]] = min(first.get(e["mid"], bucket(e["day"])), bucket(e["day"]))
    out: dict = defaultdict(set)
    for uid, c in first.items():
        out[(c, -1)].add(uid)
    for e in events:
        if e["event_name"] == revisit and e["mid"] in first and bucket(e["day"]) >= first[e["mid"]]:
            c = first[e["mid"]]
            period = (bucket(e["day"]) - c).days // (1 if cohort == "day" else 7)
            if period <= periods:
                out[(c, period)].add(e["mid"])
    return {k: len(v) for k, v in out.items()}


@pytest.mark.parametrize("name", ["retention", "retention_week"])
def test_retention_cohorts(warehouse, name):
    """§8.6: a cohort for every first-event day (or Monday week), not the single start-day cohort."""
    spec = SPECS[name]
    start, revisit = spec.pairs[0]
    got = {(r["cohort"], r["period"]): r["users"] for r in run(warehouse, spec)}
    assert got == retention_reference(rows(warehouse), start.event, revisit.event, spec.cohort, spec.periods)
    assert len({c for c, _ in got}) > 1


def attribution_reference(events: list[dict], spec: Spec) -> dict[str, tuple[int, int, float]]:
    assert spec.goal is not None
    goal = spec.goal.event
    touch_names = [t.event for t in spec.touchpoints]
    by_user = defaultdict(list)
    for e in events:
        by_user[e["mid"]].append(e)
    triggers: dict = defaultdict(int)
    attached: dict = defaultdict(list)
    for mine in by_user.values():
        convs = [e for e in mine if e["event_name"] == goal]
        for e in mine:
            for i, name in enumerate(touch_names):
                if e["event_name"] != name:
                    continue
                label = f"{i + 1}_{name}"
                triggers[label] += 1
                nxt = next((c for c in convs if (c["event_timestamp"], c["event_id"]) >= (e["event_timestamp"], "")
                            and c["event_id"] != e["event_id"]), None)  # fmt: skip
                if nxt is None or nxt["day"] < spec.scope.start:
                    continue
                if spec.window_type == "day":
                    inside = nxt["day"] == e["day"]
                elif spec.window_type == "session":
                    inside = nxt["session_id"] == e["session_id"]
                else:
                    inside = (
                        nxt["event_timestamp"] - e["event_timestamp"]
                    ).total_seconds() <= spec.window_seconds
                if inside:
                    attached[nxt["event_id"]].append((e["event_timestamp"], e["event_id"], label))
    w_first, w_middle, w_last = (w / 100 for w in spec.weights)
    credit: dict = defaultdict(float)
    with_conv: dict = defaultdict(int)
    for touches in attached.values():
        touches.sort()
        n = len(touches)
        for seq, (_, _, label) in enumerate(touches, start=1):
            with_conv[label] += 1
            if spec.model == "first":
                credit[label] += seq == 1
            elif spec.model == "last":
                credit[label] += seq == n
            elif spec.model == "linear" or n <= 2:
                credit[label] += 1 / n
            else:
                credit[label] += w_first if seq == 1 else w_last if seq == n else w_middle / (n - 2)  # §8.5
    return {k: (triggers[k], with_conv[k], v) for k, v in credit.items()}


@pytest.mark.parametrize(
    "model, window_type", [("first", "custom"), ("last", "custom"), ("linear", "custom"), ("position", "custom"),
                           ("position", "day"), ("last", "session")],
)  # fmt: skip
def test_attribution_models(warehouse, model, window_type):
    spec = replace(SPECS["attribution"], model=model, window_type=window_type)
    got = {r["touchpoint"]: (r["trigger_count"], r["triggers_with_conversion"], r["contribution"])
           for r in run(warehouse, spec)}  # fmt: skip
    expected = attribution_reference(rows(warehouse, widen=1 if window_type == "custom" else 0), spec)
    expected = {k: v for k, v in expected.items() if v[2] > 0}  # touchpoints without credit are absent
    assert {k: v[:2] for k, v in got.items()} == {k: v[:2] for k, v in expected.items()}
    assert {k: v[2] for k, v in got.items()} == pytest.approx({k: v[2] for k, v in expected.items()})


@pytest.fixture
def tied(settings, tmp_path):  # type: ignore[no-untyped-def]
    """The generated events with their times cut to the minute: many events of a user share an instant, within
    a step, across steps and between touches and conversions (the order the queries break ties in)."""
    from types import SimpleNamespace

    from analytics.sample import generate_events, write_lake
    from analytics.warehouse.duckdb import DuckDBWarehouse
    from tests.analytics.conftest import NOW

    sample = generate_events(project_id="shop", app_id="web", users=60, days=21, end=NOW)
    for e in sample.events:
        e["event_timestamp"] = e["event_timestamp"].replace(second=0, microsecond=0)
        e["event_time_msec"] = int(e["event_timestamp"].timestamp() * 1000)
    settings.CLICKSTREAM_LAKE_DIR = tmp_path / "lake"
    write_lake(lake_dir=tmp_path / "lake", project_id="shop", sample=sample)
    wh = DuckDBWarehouse(project_id="shop")
    wh.load(timezones={"web": "America/New_York"})
    return SimpleNamespace(warehouse=wh, sample=sample)


def test_ties_at_one_instant(tied):
    """Funnel steps, path nodes and attribution touches at the instant of another event of the user: strict
    order in a funnel, (time, event id) order in a path, and a conversion at a touch's instant is its next (a
    touch that is itself a conversion belongs to the next other one)."""
    events = rows(tied)
    instants = defaultdict(set)
    for e in events:
        instants[(e["mid"], e["event_timestamp"])].add(e["event_name"])
    assert sum(len(names) > 1 for names in instants.values()) > 50
    funnel = replace(SPECS["funnel"], steps=(EventRef("_session_start"), EventRef("view_item"),
                     EventRef("add_to_cart"), EventRef("purchase")), window_seconds=3600)  # fmt: skip
    got = {r["grp"]: [r[f"step_{k + 1}"] for k in range(4)] for r in run(tied, funnel)}
    assert got == funnel_reference(events, [s.event for s in funnel.steps], 3600, False, None)
    for spec in (SPECS["path"], replace(SPECS["path"], merge_consecutive=False, count="events")):
        got = {(r["step"], r["source"], r["target"]): r["value"] for r in run(tied, spec)}
        assert got == path_reference(events, spec)
    for touchpoints in (SPECS["attribution"].touchpoints, (EventRef("purchase"), EventRef("add_to_cart"))):
        spec = replace(SPECS["attribution"], touchpoints=touchpoints, model="position")
        got = {r["touchpoint"]: (r["trigger_count"], r["triggers_with_conversion"], r["contribution"])
               for r in run(tied, spec)}  # fmt: skip
        expected = attribution_reference(rows(tied, widen=1), spec)
        expected = {k: v for k, v in expected.items() if v[2] > 0}
        assert {k: v[:2] for k, v in got.items()} == {k: v[:2] for k, v in expected.items()}
        assert {k: v[2] for k, v in got.items()} == pytest.approx({k: v[2] for k, v in expected.items()})
