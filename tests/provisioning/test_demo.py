"""`manage.py demo` against a real collector process over HTTP: it makes the project, apps and local
pipeline, sends SDK-shaped traffic, and processing turns it into exactly the events the generator says it
sent, from several countries and devices, on more than one day."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from projects.models import App, Project
from provisioning.selectors import pipeline_state
from tests.ingestion.conftest import CollectorProcess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def collector(machine, tmp_path, settings):  # type: ignore[no-untyped-def]
    """The collector as `make run` starts it: the portal's allow-list, the local lake, the loopback trusted."""
    args = ["--sink", f"file://{machine.lake}", "--allowlist-file", str(machine.allowlist_file),
            "--batch-seconds", "1", "--trusted-proxies", "127.0.0.1"]  # fmt: skip
    started = CollectorProcess(args, tmp_path).start()
    settings.CLICKSTREAM_INGESTION_ENDPOINT = f"{started.url}/collect"
    yield started
    started.stop()


def events(lake: Path, project_id: str, sql: str) -> list[tuple]:
    files = lake / "clickstream" / project_id / "data" / "ods" / "event_v2" / "**" / "*.parquet"
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW e AS SELECT * FROM read_parquet('{files}', hive_partitioning = true)")
        return con.execute(sql).fetchall()


def test_the_demo_sends_traffic_that_processing_counts_exactly(cast, machine, collector):
    out = io.StringIO()
    call_command("demo", org=cast.org_a.slug, stdout=out)
    said = out.getvalue()
    report = json.loads(said[said.index("{") : said.rindex("}") + 1])
    project = Project.objects.unscoped().get(organization=cast.org_a, project_id="demo_org_a")
    assert pipeline_state(pipeline=project.pipeline).status == "Active"
    assert set(App.objects.unscoped().filter(project=project).values_list("app_id", flat=True)) == {
        "demo_org_a_web",
        "demo_org_a_mobile",
    }
    assert report["accepted"] == report["requests"] > 50 and report["users"] > 30
    assert {"_first_open", "_session_start", "_page_view", "_screen_view", "view_item", "purchase"} <= set(
        report["events_by_name"]
    )
    counted = dict(events(machine.lake, "demo_org_a", "SELECT event_name, count(*) FROM e GROUP BY 1"))
    assert counted == report["events_by_name"]
    by_app = dict(events(machine.lake, "demo_org_a", "SELECT app_id, count(*) FROM e GROUP BY 1"))
    assert by_app == report["events_by_app"]
    [(countries, platforms, days, returning)] = events(
        machine.lake,
        "demo_org_a",
        "SELECT count(DISTINCT geo_country), count(DISTINCT platform), count(DISTINCT event_timestamp::DATE),"
        " (SELECT count(*) FROM (SELECT user_pseudo_id FROM e WHERE event_name = '_session_start'"
        "  GROUP BY 1 HAVING count(*) > 1)) FROM e",
    )
    assert countries >= 4 and platforms == 3 and days >= 2 and returning >= 5
    assert "Processed:" in said


def test_the_demo_says_what_to_do_without_a_collector(cast, machine, settings):
    settings.CLICKSTREAM_INGESTION_ENDPOINT = "http://127.0.0.1:9/collect"
    with pytest.raises(CommandError, match="does not answer"):
        call_command("demo", org=cast.org_a.slug, stdout=io.StringIO())


def test_an_unknown_organization_is_refused(db):
    with pytest.raises(CommandError, match="No organization 'nope'"):
        call_command("demo", org="nope")
