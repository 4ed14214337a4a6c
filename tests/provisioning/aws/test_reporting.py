"""The Reporting stack's QuickSight data sets and preset dashboard (spec/analytics.md §2).

The data sets' SQL is Redshift's: each parses with sqlglot's redshift dialect and, transpiled to DuckDB, runs
over the four base tables filled with generated events (`analytics.sample`), where the figures the visuals
show are checked against the plain-Python computations of tests/analytics/reference.py. The template's
definition is walked so that a visual naming a missing data set or column fails here, not at deploy time.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot

from analytics.base import Scope
from analytics.sample import generate_events
from etl.model import TABLES
from pipelines.spec import Context, validate
from provisioning.aws.render import RenderError
from provisioning.aws.stacks import reporting
from provisioning.aws.stacks.reporting_dashboard import CALCULATED, SHEETS, template_definition
from provisioning.aws.stacks.reporting_datasets import DATA_SETS, DataSetSpec
from tests.analytics import reference as ref
from tests.provisioning.aws.specs import PROJECT, make_spec
from tests.provisioning.aws.test_templates import render

TZ = "America/New_York"
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
SCOPE = Scope(app_id="web", project_id="shop", timezone=TZ, start=date(2026, 10, 1), end=date(2026, 11, 30))
DUCK_TYPES = {"timestamp": "TIMESTAMP", "string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER",
              "double": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE"}  # fmt: skip
# The DuckDB result types each declared QuickSight type accepts.
COMPATIBLE = {"STRING": {"VARCHAR"}, "INTEGER": {"INTEGER", "BIGINT", "HUGEINT", "SMALLINT"},
              "DECIMAL": {"DOUBLE", "FLOAT"}, "DATETIME": {"DATE", "TIMESTAMP"}}  # fmt: skip


@pytest.fixture(scope="module")
def lake() -> Any:
    """Schema `web` with the four base tables (their model columns; SUPER columns as VARCHAR), the rows of
    `generate_events`, two items per purchase and one event loaded late (§8.7)."""
    sample = generate_events(project_id="shop", app_id="web", users=150, days=28, end=NOW)
    late = {**sample.events[0], "event_id": "late-event", "event_name": "late_event",
            "created_time": NOW.replace(tzinfo=None)}  # fmt: skip
    sample.events.append(late)
    items = [{"event_timestamp": e["event_timestamp"], "event_id": e["event_id"], "event_name": e["event_name"],
              "platform": e["platform"], "user_pseudo_id": e["user_pseudo_id"], "item_id": f"sku-{n}",
              "name": ("shoes", "hats")[n], "category": "apparel", "price": 10.0 * (n + 1), "quantity": 1.0}
             for e in sample.events if e["event_name"] == "purchase" for n in range(2)]  # fmt: skip
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA web")
    rows = {"event_v2": sample.events, "user_v2": sample.users, "session": sample.sessions, "item_v2": items}
    for table, columns in TABLES.items():
        con.execute(
            f"CREATE TABLE web.{table} ("
            + ", ".join(f'"{c}" {DUCK_TYPES.get(k, "VARCHAR")}' for c, k in columns)
            + ")"
        )
        simple = [c for c, k in columns if k in DUCK_TYPES]
        data = {c: [_naive(r.get(c)) for r in rows[table]] for c in simple}
        con.register("src", pa.table(data))
        con.execute(f"INSERT INTO web.{table} ({', '.join(simple)}) SELECT {', '.join(simple)} FROM src")
        con.unregister("src")
    return con, sample, items


def _naive(value: Any) -> Any:
    return (
        value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value
    )


def run(lake: Any, spec: DataSetSpec) -> list[dict[str, Any]]:
    con = lake[0]
    sql = sqlglot.transpile(spec.sql("web", TZ), read="redshift", write="duckdb")[0]
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value


@pytest.mark.parametrize("key", DATA_SETS)
def test_every_data_set_is_redshift_sql_reading_only_the_base_tables(key: str) -> None:
    sql = DATA_SETS[key].sql("ios_app", "Asia/Tokyo")
    tree = sqlglot.parse_one(sql, read="redshift")
    ctes = {c.alias for c in tree.find_all(sqlglot.exp.CTE)}
    tables = {(t.db, t.name) for t in tree.find_all(sqlglot.exp.Table) if t.name not in ctes}
    assert tables and {name for _, name in tables} <= {"event_v2", "user_v2", "item_v2", "session"}, tables
    assert {db for db, _ in tables} == {"ios_app"}
    assert "'Asia/Tokyo'" in sql  # days are the app's local days


@pytest.mark.parametrize("key", DATA_SETS)
def test_every_data_set_runs_and_returns_its_declared_columns_and_types(lake: Any, key: str) -> None:
    spec = DATA_SETS[key]
    con = lake[0]
    sql = sqlglot.transpile(spec.sql("web", TZ), read="redshift", write="duckdb")[0]
    cursor = con.execute(sql)
    assert [d[0] for d in cursor.description] == [name for name, _ in spec.columns]
    types = {name: str(d[1]) for (name, _), d in zip(spec.columns, cursor.description, strict=True)}
    for name, kind in spec.columns:
        assert types[name].split("(")[0] in COMPATIBLE[kind], (key, name, kind, types[name])
    assert cursor.fetchall(), key  # every data set has rows over the sample


def test_active_and_new_users_by_local_day(lake: Any) -> None:
    """Active = distinct merged ids, new = distinct pseudo ids with `_first_open`, per local day."""
    active, new = defaultdict(set), defaultdict(set)
    for r in run(lake, DATA_SETS["events"]):
        active[day(r["event_date"])].add(r["merged_user_id"])
        if r["new_user_id"]:
            new[day(r["event_date"])].add(r["new_user_id"])
    got = {d: (len(active[d]), len(new[d])) for d in active}
    assert got == ref.active_new_by_day(ref.enriched(lake[1], SCOPE))


def test_key_engagement_metrics_follow_the_calculated_fields(lake: Any) -> None:
    """§8.1: engaged = more than one view or longer than 10 s; the three KPI formulas over the session rows."""
    assert (
        CALCULATED["sessions"]["Engaged sessions per user"]
        == "sum({engaged}) / distinct_count({merged_user_id})"
    )
    by_day: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in run(lake, DATA_SETS["sessions"]):
        by_day[day(r["event_date"])].append(r)
    expected = ref.engagement_by_day(ref.enriched(lake[1], SCOPE))
    assert set(by_day) == set(expected)
    for d, rows in by_day.items():
        users = len({r["merged_user_id"] for r in rows})
        engaged, seconds = sum(r["engaged"] for r in rows), sum(r["engaged_seconds"] for r in rows)
        per_user, seconds_user, seconds_session = expected[d]
        assert engaged / users == pytest.approx(per_user)
        assert float(seconds) / users == pytest.approx(seconds_user)
        if engaged:
            assert float(seconds) / engaged == pytest.approx(seconds_session)


def test_screen_entrances_use_the_screen_flag(lake: Any) -> None:
    """§8.2: the original tested the page flag on screen views, so its screen entrance rows were empty."""
    got: dict[str, int] = defaultdict(int)
    for r in run(lake, DATA_SETS["pages"]):
        if r["aggregation_type"] == "Screen Name":
            got[r["aggregation_dim"]] += r["entrance"]
    expected = ref.screen_entrances(ref.enriched(lake[1], SCOPE))
    assert dict(got) == expected and sum(expected.values()) > 0


def test_exits_are_the_last_view_of_each_session_and_day(lake: Any) -> None:
    rows = [r for r in run(lake, DATA_SETS["pages"]) if r["aggregation_type"] == "Page Title"]
    sessions = {(r["session_id"], r["event_date"]) for r in rows}
    assert sum(r["session_exit"] for r in rows) == len(sessions)


def test_crash_rate(lake: Any) -> None:
    users, crashed = defaultdict(set), defaultdict(set)
    for r in run(lake, DATA_SETS["events"]):
        if r["platform"] != "Web":
            key = (day(r["event_date"]), r["platform"])
            users[key].add(r["merged_user_id"])
            if r["crashed_user_id"]:
                crashed[key].add(r["crashed_user_id"])
    expected = ref.crash_rate(ref.enriched(lake[1], SCOPE))
    assert {k: len(crashed[k]) / len(v) for k, v in users.items()} == pytest.approx(expected)
    assert any(expected.values())


def test_stickiness_counts_distinct_weekly_and_monthly_users(lake: Any) -> None:
    """§8.3: WAU and MAU are distinct users over 7 and 30 days, not sums of daily users."""
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in run(lake, DATA_SETS["activity"]):  # one platform per generated user: platform sums are exact
        for i, c in enumerate(("dau", "wau", "mau")):
            totals[day(r["event_date"])][i] += r[c]
    expected = ref.stickiness(ref.enriched(lake[1], SCOPE), SCOPE)
    assert set(totals) == set(expected)
    for d, (dau, wau, mau) in totals.items():
        assert (dau / wau, dau / mau, wau / mau) == pytest.approx(expected[d])
    assert any(wau < dau_sum for dau_sum, wau in _summed_daily(totals))


def _summed_daily(totals: dict[date, list[int]]) -> list[tuple[int, int]]:
    """(sum of the last 7 days' DAU, WAU) per day: the original's WAU was the first."""
    return [
        (sum(totals.get(d - timedelta(days=i), [0])[0] for i in range(7)), v[1]) for d, v in totals.items()
    ]


def test_user_activity_rolling_sums(lake: Any) -> None:
    events: dict[date, int] = defaultdict(int)
    for e in ref.enriched(lake[1], SCOPE):
        events[e["day"]] += 1
    got: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in run(lake, DATA_SETS["activity"]):
        for i, c in enumerate(("events", "events_7_days", "events_30_days")):
            got[day(r["event_date"])][i] += r[c]
    for d, (count, last_7, last_30) in got.items():
        assert count == events[d]
        assert last_7 == sum(events.get(d - timedelta(days=i), 0) for i in range(7))
        assert last_30 == sum(events.get(d - timedelta(days=i), 0) for i in range(30))


def test_retention_by_first_visit_counts_merged_users(lake: Any) -> None:
    """§8.8: cohorts of merged user ids by first-visit day (users active that day); the rate on day d is the
    cohort's users active d days later over the cohorts old enough to have reached day d."""
    returned: dict[int, int] = defaultdict(int)
    cohort: dict[int, int] = defaultdict(int)
    for r in run(lake, DATA_SETS["retention"]):
        returned[r["day_diff"]] += r["returned_users"]
        cohort[r["day_diff"]] += r["cohort_users"]
    got = {d: returned[d] / cohort[d] for d in cohort}
    rows = ref.enriched(lake[1], SCOPE)
    first = ref.first_visits(rows)
    active = {(r["mid"], r["day"]) for r in rows}
    kept = [u for u, f in first.items() if (u, f) in active]
    last = max(r["day"] for r in rows)
    for d, rate in got.items():
        reached = [u for u in kept if first[u] + timedelta(days=d) <= last]
        assert rate == pytest.approx(
            sum((u, first[u] + timedelta(days=d)) in active for u in reached) / len(reached)
        ), d
    assert got[0] == 1.0 and 0 < got[1] < 1 and len(got) > 7


def test_lifecycle_counts_merged_users_per_week(lake: Any) -> None:
    """§8.8: weeks (Monday) of `_session_start` per merged user; NEW on the first, CHURN (negative) after the last."""
    weeks: dict[tuple[str, str], set[date]] = defaultdict(set)
    for e in ref.enriched(lake[1], SCOPE):
        if e["event_name"] == "_session_start":
            weeks[(e["platform"], e["mid"])].add(e["day"] - timedelta(days=e["day"].weekday()))
    expected: dict[tuple[str, date, str], int] = defaultdict(int)
    for (platform, _), active in weeks.items():
        ordered = sorted(active)
        for i, week in enumerate(ordered):
            prev = ordered[i - 1] if i else None
            kind = "1-NEW" if prev is None else "2-RETAINED-ACTIVE" if (week - prev).days == 7 else "3-RETURN"
            expected[(platform, week, kind)] += 1
            if i + 1 == len(ordered) or (ordered[i + 1] - week).days > 7:
                expected[(platform, week + timedelta(days=7), "0-CHURN")] -= 1
    got = {
        (r["platform"], day(r["event_date"]), r["lifecycle"]): r["users"]
        for r in run(lake, DATA_SETS["lifecycle"])
    }
    assert got == dict(expected)


def test_late_and_todays_events_count(lake: Any) -> None:
    """§8.7/§8.11: read from the base tables, an event loaded long after it happened is on its day."""
    rows = [r for r in run(lake, DATA_SETS["events"]) if r["event_id"] == "late-event"]
    assert len(rows) == 1 and day(rows[0]["event_date"]) == ref.local_date(
        lake[1].events[0]["event_timestamp"], TZ
    )


def test_items(lake: Any) -> None:
    rows = run(lake, DATA_SETS["items"])
    assert len(rows) == len(lake[2]) and sum(r["price"] for r in rows) == sum(i["price"] for i in lake[2])


# --- the template and dashboards --------------------------------------------------------------------------


def references(node: Any) -> list[tuple[str, str]]:
    """Every (data set, column) a definition names."""
    if isinstance(node, dict):
        own = [(node["DataSetIdentifier"], node["ColumnName"])] if "ColumnName" in node else []
        return own + [ref for value in node.values() for ref in references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in references(value)]
    return []


def missing_references(definition: dict[str, Any]) -> list[tuple[str, str]]:
    declared = {c["Placeholder"]: {col["Name"] for col in c["DataSetSchema"]["ColumnSchemaList"]}
                for c in definition["DataSetConfigurations"]}  # fmt: skip
    for field in definition["CalculatedFields"]:
        declared[field["DataSetIdentifier"]].add(field["Name"])
    return [(ds, col) for ds, col in references(definition["Sheets"]) + references(definition["FilterGroups"])
            if col not in declared.get(ds, set())]  # fmt: skip


def reporting_template() -> dict[str, Any]:
    stacks = render(make_spec())
    return next(s.template for s in stacks.values() if s.kind == "Reporting")


def test_every_visual_names_a_declared_data_set_and_column() -> None:
    definition = reporting_template()["Resources"]["DashboardTemplate"]["Properties"]["Definition"]
    assert references(definition["Sheets"]) and not missing_references(definition)


def test_a_visual_naming_a_missing_column_fails_the_check() -> None:
    definition = json.loads(json.dumps(template_definition()))
    visual = definition["Sheets"][0]["Visuals"][1]["PieChartVisual"]
    visual["ChartConfiguration"]["FieldWells"]["PieChartAggregatedFieldWells"]["Category"][0][
        "CategoricalDimensionField"]["Column"]["ColumnName"] = "no_such_column"  # fmt: skip
    assert missing_references(definition) == [("events", "no_such_column")]


def test_calculated_fields_and_controls_name_what_exists() -> None:
    definition = template_definition()
    parameters = {next(iter(p.values()))["Name"] for p in definition["ParameterDeclarations"]}
    columns = {k: s.column_names for k, s in DATA_SETS.items()}
    for field in definition["CalculatedFields"]:
        assert set(re.findall(r"\$\{(\w+)\}", field["Expression"])) <= parameters, field
        names = set(re.findall(r"(?<!\$)\{([^}]+)\}", field["Expression"]))
        assert names and names <= columns[field["DataSetIdentifier"]], field
    filters = {g["FilterGroupId"] for g in definition["FilterGroups"]}
    sheet_ids = {s["SheetId"] for s in definition["Sheets"]}
    visual_ids = [next(iter(v.values()))["VisualId"] for s in definition["Sheets"] for v in s["Visuals"]]
    assert len(visual_ids) == len(set(visual_ids))
    for sheet in definition["Sheets"]:
        for control in sheet.get("FilterControls", []):
            assert next(iter(control.values()))["SourceFilterId"] in filters
        for control in sheet.get("ParameterControls", []):
            assert next(iter(control.values()))["SourceParameterName"] in parameters
    for group in definition["FilterGroups"]:
        for scope in (
            group["ScopeConfiguration"].get("SelectedSheets", {}).get("SheetVisualScopingConfigurations", [])
        ):
            assert scope["SheetId"] in sheet_ids and set(scope.get("VisualIds", [])) <= set(visual_ids), group


def test_sheets_are_those_of_the_spec_with_date_and_platform_filters() -> None:
    definition = template_definition()
    assert [s["Name"] for s in definition["Sheets"]] == list(SHEETS) == [
        "Overview", "Acquisition", "Engagement", "Retention", "Device", "Details"]  # fmt: skip
    groups = {g["FilterGroupId"]: g for g in definition["FilterGroups"]}
    dated = {
        c["SheetId"]
        for c in groups["date-range"]["ScopeConfiguration"]["SelectedSheets"][
            "SheetVisualScopingConfigurations"
        ]
    }
    assert dated == {
        "overview",
        "acquisition",
        "engagement",
        "retention",
        "device",
    }  # Details has its own time filter
    assert groups["date-range"]["CrossDataset"] == groups["platform"]["CrossDataset"] == "ALL_DATASETS"
    assert all(spec.column_names >= {"event_date", "platform"} for spec in DATA_SETS.values())
    kinds = {next(iter(v)) for s in definition["Sheets"] for v in s["Visuals"]}
    assert kinds >= {
        "KPIVisual",
        "LineChartVisual",
        "BarChartVisual",
        "PieChartVisual",
        "TableVisual",
        "PivotTableVisual",
    }


def _sub_text(value: dict) -> str:
    """The pattern of an `Fn::Sub`, with or without its variables map."""
    sub = value["Fn::Sub"]
    return sub[0] if isinstance(sub, list) else sub


def test_one_dashboard_per_app_from_the_template_with_every_data_set() -> None:
    template = reporting_template()
    dashboards = [r for r in template["Resources"].values() if r["Type"] == "AWS::QuickSight::Dashboard"]
    data_sets = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::QuickSight::DataSet"}
    assert len(dashboards) == 2 and len(data_sets) == 2 * len(DATA_SETS)
    for dashboard in dashboards:
        refs = dashboard["Properties"]["SourceEntity"]["SourceTemplate"]["DataSetReferences"]
        assert [r["DataSetPlaceholder"] for r in refs] == list(DATA_SETS)
        assert all(r["DataSetArn"]["Fn::GetAtt"][0] in data_sets for r in refs)
    outputs = json.loads(_sub_text(template["Outputs"]["Dashboards"]["Value"]))
    assert [o["appId"] for o in outputs] == ["ios.app", "web"]
    tokyo = [r for r in data_sets.values() if "ios_app" in json.dumps(r)]
    assert tokyo and all("'Asia/Tokyo'" in json.dumps(r) for r in tokyo)  # each app's zone in its SQL
    for resource in data_sets.values():  # ids apart from the previous template's `…-<schema>-events`
        data_set_id = _sub_text(resource["Properties"]["DataSetId"])
        assert "-preset-" in data_set_id and "${PipelineKey}" in data_set_id  # unique per pipeline too
        sql = resource["Properties"]["PhysicalTableMap"]
        (table,) = sql.values()
        assert resource["Properties"]["ImportMode"] == "DIRECT_QUERY" and table["CustomSql"]["Columns"]


def test_the_template_stays_within_cloudformation_limits_at_the_app_cap() -> None:
    from provisioning.aws.render import render_stacks

    apps = {
        f"app_{i:02d}.example-longer-name": "America/Argentina/Buenos_Aires"
        for i in range(reporting.MAX_APPS)
    }
    stacks = render_stacks(spec=make_spec(), project_id=PROJECT, pipeline_id="p1a2b3", apps=apps)
    template = next(s.template for s in stacks.values() if s.kind == "Reporting")
    body = json.dumps(template, sort_keys=True).encode()  # as the provider uploads it
    assert len(body) <= 1_000_000 and len(template["Resources"]) <= 500, (
        len(body),
        len(template["Resources"]),
    )
    with pytest.raises(RenderError, match="at most"):
        render_stacks(spec=make_spec(), project_id=PROJECT, pipeline_id="p1a2b3",
                      apps={**apps, "one_more": "UTC"})  # fmt: skip
    problems = validate(make_spec(), ctx=Context(project_id=PROJECT, app_ids=(*apps, "one_more")))
    assert [p.path for p in problems] == ["reporting"] and "at most 30 apps" in problems[0].message
