"""The DuckDB warehouse: loads the lake's Parquet, one writer at a time, readers never blocked, timeouts."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest

from analytics.sql import Params, Query
from analytics.warehouse import NoData, QueryTimeout, WarehouseError
from analytics.warehouse.duckdb import DuckDBWarehouse


def count_query(event: str | None = None) -> Query:
    params = Params()
    where = f"WHERE event_name = {params.bind(event)}" if event else ""
    return Query.parse("count", f"SELECT count(*) AS n FROM event_v2 {where}", params)


def test_load_holds_every_generated_event_once(warehouse):
    result = warehouse.warehouse.run(count_query(), app_id="web", use_cache=False)
    assert result.rows == [(len(warehouse.sample.events),)]
    state = warehouse.warehouse.state()
    assert state.latest_event["web"] == max(e["event_timestamp"] for e in warehouse.sample.events).replace(
        tzinfo=None
    )


def test_load_removes_duplicate_events(settings, tmp_path):
    from analytics.sample import generate_events, write_lake
    from tests.analytics.conftest import NOW

    settings.CLICKSTREAM_LAKE_DIR = tmp_path / "lake"
    sample = generate_events(project_id="dup", app_id="web", users=5, days=2, end=NOW)
    write_lake(lake_dir=tmp_path / "lake", project_id="dup", sample=sample, part="a")
    write_lake(
        lake_dir=tmp_path / "lake", project_id="dup", sample=sample, part="b"
    )  # an at-least-once retry
    wh = DuckDBWarehouse(project_id="dup")
    wh.load()
    assert wh.run(count_query(), app_id="web", use_cache=False).rows == [(len(sample.events),)]
    users = wh.run(Query.parse("u", "SELECT count(*) FROM user_v2", Params()), app_id="web", use_cache=False)
    assert users.rows == [(5,)]


def test_values_are_bound_not_formatted(warehouse):
    hostile = "x' OR '1'='1"
    query = count_query(hostile)
    assert hostile not in query.render("duckdb").sql
    assert warehouse.warehouse.run(query, app_id="web", use_cache=False).rows == [(0,)]


def test_queries_are_scoped_to_the_app(warehouse):
    """Another app of the same project (its own schema) is out of reach: `event_v2` means this app's rows."""
    with pytest.raises(WarehouseError, match="count"):
        warehouse.warehouse.run(count_query(), app_id="other", use_cache=False)


def test_repeat_is_served_from_the_cache(warehouse):
    first = warehouse.warehouse.run(count_query("purchase"), app_id="web")
    again = warehouse.warehouse.run(count_query("purchase"), app_id="web")
    assert again.cached and again.rows == first.rows


def test_a_second_writer_waits_for_the_lock(warehouse):
    wh = warehouse.warehouse
    done = threading.Event()
    with open(wh.path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        thread = threading.Thread(target=lambda: (wh.load(), done.set()))
        thread.start()
        time.sleep(0.5)
        assert not done.is_set()  # blocked while another writer holds the lock
        # Readers are not blocked by a writer.
        assert wh.run(count_query(), app_id="web", use_cache=False).rows[0][0] > 0
        fcntl.flock(handle, fcntl.LOCK_UN)
    thread.join(30)
    assert done.is_set()


def test_slow_query_is_cancelled_at_the_timeout(warehouse):
    wh = warehouse.warehouse
    wh.timeout_seconds = 0.2
    slow = Query.parse(
        "slow step",
        "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range * b.range = -1",
        Params(),
    )
    with pytest.raises(QueryTimeout, match=r"slow step: cancelled after 0\.2 s"):
        wh.run(slow, app_id="web", use_cache=False)


def test_no_data_yet(settings, tmp_path):
    settings.CLICKSTREAM_LAKE_DIR = tmp_path / "lake"
    with pytest.raises(NoData):
        DuckDBWarehouse(project_id="nothing").run(count_query(), app_id="web")


@pytest.mark.django_db
def test_processing_finished_enqueues_the_load(cast, django_capture_on_commit_callbacks):
    from analytics.signals import processing_finished
    from portal.models import Job

    with django_capture_on_commit_callbacks(execute=False):
        processing_finished.send(sender=None, project=cast.project_a)
    from analytics.tasks import warehouse_refresh_job
    from portal.jobs import get_job_kind

    job = Job.objects.for_organization(cast.org_a).get(kind="analytics.refresh")
    assert get_job_kind(job.kind).func is warehouse_refresh_job and job.object == cast.project_a


@pytest.mark.django_db
def test_refresh_job_loads_and_scans(cast, warehouse, django_capture_on_commit_callbacks):
    """The step the processing run's job triggers: load the warehouse, then scan metadata, recorded as a Job."""
    from analytics.models import EventMetadata
    from analytics.tasks import warehouse_refresh_enqueue
    from portal.jobs import job_run

    with django_capture_on_commit_callbacks(execute=False):
        job = warehouse_refresh_enqueue(project=cast.project_a)
    job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result["version"] == warehouse.warehouse.state().version
    assert EventMetadata.objects.for_organization(cast.org_a).filter(name="purchase").exists()


def test_concurrent_identical_queries_run_once(warehouse):
    """Two requests for the same query at the same time: the second waits and takes the first's result."""
    wh = warehouse.warehouse
    calls = []
    original = wh._execute

    def slow_execute(sql, params, *, query):  # type: ignore[no-untyped-def]
        calls.append(query.name)
        time.sleep(0.3)
        return original(sql, params, query=query)

    wh._execute = slow_execute  # type: ignore[method-assign]
    query = count_query("view_item")
    results = []
    threads = [threading.Thread(target=lambda: results.append(wh.run(query, app_id="web"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert calls == ["count"] and len(results) == 2 and results[0].rows == results[1].rows


def test_enriched_events_are_built_once_in_the_apps_zone(warehouse):
    """The load joins events to sessions and users once, with local days in the app's zone and one row per id."""
    query = Query.parse(
        "enriched",
        "SELECT min(tz) AS tz, max(tz) AS tz2, count(*) AS n, count(DISTINCT event_id) AS ids,"
        " count(CASE WHEN tz_event_date <> CAST(event_timestamp AT TIME ZONE 'UTC' AT TIME ZONE tz AS DATE)"
        " THEN 1 END) AS wrong FROM event_enriched",
        Params(),
    )
    (row,) = warehouse.warehouse.run(query, app_id="web", use_cache=False).dicts()
    assert row == {"tz": "America/New_York", "tz2": "America/New_York", "n": len(warehouse.sample.events),
                   "ids": len(warehouse.sample.events), "wrong": 0}  # fmt: skip


def test_enriched_events_carry_one_integer_user_key_per_merged_user(warehouse):
    """`user_key` stands for the merged user id in counts and joins, so it must map one to one with it."""
    query = Query.parse(
        "keys",
        "SELECT count(DISTINCT merged_user_id) AS users, count(DISTINCT user_key) AS keys,"
        " count(DISTINCT (merged_user_id, user_key)) AS pairs, count(CASE WHEN user_key IS NULL THEN 1 END) AS"
        " missing, typeof(min(user_key)) AS kind FROM event_enriched",
        Params(),
    )
    (row,) = warehouse.warehouse.run(query, app_id="web", use_cache=False).dicts()
    merged = {e.get("user_id") or e["user_pseudo_id"] for e in warehouse.sample.events}
    assert row == {
        "users": len(merged),
        "keys": len(merged),
        "pairs": len(merged),
        "missing": 0,
        "kind": "INTEGER",
    }


def test_a_file_of_an_older_layout_is_rebuilt_when_opened(settings, tmp_path):
    """A warehouse built before the roll-ups existed (no `user_day`, no layout recorded) must not break the
    dashboards after an upgrade: the first read rebuilds it from the lake, in the zone it was built in."""
    import duckdb

    from analytics.sample import generate_events, write_lake
    from analytics.warehouse import duckdb as duck
    from tests.analytics.conftest import NOW

    settings.CLICKSTREAM_LAKE_DIR = tmp_path / "lake"
    sample = generate_events(project_id="old", app_id="web", users=5, days=2, end=NOW)
    write_lake(lake_dir=tmp_path / "lake", project_id="old", sample=sample, part="a")
    wh = DuckDBWarehouse(project_id="old")
    wh.load(timezones={"web": "Asia/Tokyo"})
    duck._connections.pop(str(wh.path))[1].close()  # as after an upgrade: a new process, nothing open
    duck._states.pop(str(wh.path), None)
    con = duckdb.connect(str(wh.path))  # make it what the previous layout built
    con.execute("DROP TABLE web.user_day")
    con.execute("DROP TABLE _apps")
    con.execute("ALTER TABLE _load DROP COLUMN layout")
    con.close()
    rollup = Query.parse("r", "SELECT sum(events) AS n FROM user_day", Params())
    assert wh.run(rollup, app_id="web", use_cache=False).rows == [(len(sample.events),)]
    assert wh.stored_zone("web") == "Asia/Tokyo"  # rebuilt in the zone the old file was built in
    layout = Query.parse("l", "SELECT layout FROM _load", Params())
    assert wh._execute("SELECT layout FROM _load", {}, query=layout)[1] == [(duck.LAYOUT,)]
