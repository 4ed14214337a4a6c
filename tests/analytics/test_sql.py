"""The query layer: every analytics query renders for DuckDB, Trino (Athena) and Redshift and parses back;
values travel as parameters; identifiers come only from the known schema."""

from __future__ import annotations

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from analytics.base import Scope
from analytics.dashboards import SHEETS, Options, build_query
from analytics.sql import DIALECTS, Params, Query, UnknownIdentifier, col

SCOPE = Scope(app_id="web", project_id="shop", timezone="Asia/Tokyo", start=date(2026, 11, 1),
              end=date(2026, 11, 20), platforms=("Web", "iOS"))  # fmt: skip
DASHBOARD_QUERIES = [
    pytest.param(build_query(v, SCOPE, Options()), id=f"{s.slug}-{v.id}")
    for s in SHEETS.values()
    for v in s.visuals
]


def all_queries() -> list:
    from tests.analytics.test_explore import explore_queries

    return DASHBOARD_QUERIES + explore_queries()


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("query", all_queries())
def test_query_renders_and_parses_back(query: Query, dialect: str):
    rendered = query.render(dialect)
    parsed = sqlglot.parse_one(rendered.sql, read=dialect)
    assert isinstance(parsed, exp.Query)
    # Every value is bound: none of the app id, time zone or platform names appear in the text.
    for value in ("'web'", "'shop'", "Asia/Tokyo", "'iOS'"):
        assert value not in rendered.sql
    if dialect == "trino":
        assert rendered.sql.count("?") == len(rendered.params)
    else:
        assert set(rendered.params) == set(query.params)


def test_trino_parameters_follow_the_text_order():
    params = Params()
    a, b = params.bind("first"), params.bind("second")
    query = Query.parse("order", f"SELECT {b} AS x, {a} AS y", params)
    assert query.render("trino").params == ["second", "first"]
    assert query.render("redshift").sql == "SELECT :p1 AS x, :p0 AS y"


def test_placeholders_without_values_are_refused():
    with pytest.raises(ValueError, match="without values"):
        Query.parse("bad", "SELECT $p7", Params())


def test_identifiers_come_from_the_schema():
    assert col("geo_country") == "geo_country"
    with pytest.raises(UnknownIdentifier):
        col("geo_country; DROP TABLE x")


def test_bad_scope_is_refused():
    with pytest.raises(ValueError, match="before the start"):
        Scope(app_id="web", project_id="shop", timezone="UTC", start=date(2026, 2, 2), end=date(2026, 2, 1))
    with pytest.raises(ValueError, match="Unknown platform"):
        Scope(app_id="web", project_id="shop", timezone="UTC", start=date(2026, 2, 2), end=date(2026, 2, 3),
              platforms=("Amiga",))  # fmt: skip
    with pytest.raises(ValueError, match="Unknown dimension"):
        Options(user_dim="first_traffic_source; --")


def _visual(visual_id: str):
    return next(v for s in SHEETS.values() for v in s.visuals if v.id == visual_id)


def test_not_materialized_is_a_duckdb_hint_only():
    query = build_query(_visual("event_details"), SCOPE, Options())
    assert "NOT MATERIALIZED" in query.render("duckdb").sql
    for dialect in ("trino", "redshift"):
        assert "MATERIALIZED" not in query.render(dialect).sql


def test_a_list_lookup_is_an_in_list_on_redshift():
    """Redshift has no arrays: the path's `list_contains` of hidden events reads back as NOT IN there."""
    from analytics.explore import EventRef, Spec, explore_query

    query = explore_query(Spec("path", SCOPE, start=EventRef("_session_start"), nodes=("view_item",)))
    assert "ARRAY_CONTAINS([" in query.render("duckdb").sql
    assert "CONTAINS(ARRAY[" in query.render("trino").sql
    rendered = query.render("redshift")
    assert "ARRAY" not in rendered.sql and "NOT event_name IN (:p" in rendered.sql
    assert set(rendered.params) == set(query.params)


def test_distinct_event_counts_become_counts_only_over_base_alone():
    """DuckDB's `event_enriched` holds one row per event id, so over `base` a distinct count of ids is a count;
    over another relation (`page_day`'s select with its exit flags, the path's self-join) rows may repeat and
    the distinct count stays."""
    from analytics.base import count_unique_events
    from analytics.explore import EventRef, Spec, explore_query

    def counts(query: Query) -> tuple[int, int]:
        tree = count_unique_events(query.expression)
        found = list(tree.find_all(exp.Count))
        return sum(isinstance(c.this, exp.Distinct) for c in found), len(found)

    # Without a stored zone its `ud` is the roll-up's definition over base, whose counts of ids are plain.
    assert counts(build_query(_visual("events_and_views"), SCOPE, Options())) == (0, 5)
    path = explore_query(Spec("path", SCOPE, start=EventRef("_session_start"), max_steps=3))
    assert counts(path) == (1, 1)
    # Users are not events: their distinct counts are kept (and `ed`'s count of ids over base is plain).
    assert counts(build_query(_visual("event_details"), SCOPE, Options())) == (2, 3)
    # `pd` counts ids over its flagged select, not base: they stay distinct, beside users and sessions.
    assert counts(build_query(_visual("page_details"), SCOPE, Options())) == (5, 5)


def test_cloud_engines_read_the_enriched_definition_over_their_tables():
    from analytics.warehouse.redshift import RedshiftWarehouse

    wh = RedshiftWarehouse.__new__(RedshiftWarehouse)
    wh.project_id = "shop"
    sql = wh.render(build_query(_visual("platform_users"), SCOPE, Options()), app_id="web").sql
    assert "event_enriched" not in sql and "web.event_v2" in sql and "web.user_v2" in sql


@pytest.mark.parametrize("engine", ["athena", "redshift"])
@pytest.mark.parametrize("query", DASHBOARD_QUERIES)
def test_cloud_engines_read_the_rollups_as_their_definition(query: Query, engine: str):
    """Athena and Redshift store no roll-ups: `user_day` / `session_day` render as the same definition over their
    tables, and the whole text parses back in their dialect."""
    from analytics.warehouse.athena import AthenaWarehouse
    from analytics.warehouse.redshift import RedshiftWarehouse

    cls = AthenaWarehouse if engine == "athena" else RedshiftWarehouse
    wh = cls.__new__(cls)
    wh.project_id = "shop"
    if engine == "athena":
        wh.database = "clickstream"  # type: ignore[attr-defined]
    sql = wh.render(query, app_id="web").sql
    sqlglot.parse_one(sql, read=wh.dialect)
    tables = {t.name for t in sqlglot.parse_one(sql, read=wh.dialect).find_all(sqlglot.exp.Table)}
    assert not tables & {"user_day", "session_day", "event_enriched"}
