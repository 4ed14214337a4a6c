"""The analytics API: explore end to end, bad input as field errors, roles, CSV, saving, metadata."""

from __future__ import annotations

import pytest

from analytics.metadata import metadata_scan
from analytics.models import AttributeMetadata, EventMetadata

pytestmark = pytest.mark.django_db
BASE = "/api/v1/organizations/{org}/projects/shop/analytics/apps/web"
RANGE = {"start": "2026-11-01", "end": "2026-11-20"}


@pytest.fixture
def scanned(cast, warehouse):
    metadata_scan(project=cast.project_a, warehouse=warehouse.warehouse)
    return cast


def url(cast, path: str, org=None) -> str:
    return BASE.format(org=(org or cast.org_a).slug) + path


def test_metadata_scan_catalogs_events_parameters_and_attributes(scanned):
    events = {e.name: e for e in EventMetadata.objects.for_organization(scanned.org_a)}
    assert {"purchase", "_page_view", "_screen_view"} <= set(events)
    assert events["purchase"].count > 0 and set(events["purchase"].platforms) == {"Web", "Android", "iOS"}
    category = AttributeMetadata.objects.for_organization(scanned.org_a).get(
        kind="event_parameter", name="category"
    )
    assert {v for v, _ in category.top_values} == {"shoes", "hats", "socks"}
    assert set(category.events) == {"view_item", "add_to_cart", "purchase"}
    price = AttributeMetadata.objects.for_organization(scanned.org_a).get(name="price")
    assert price.value_type == "number"
    level = AttributeMetadata.objects.for_organization(scanned.org_a).get(kind="user_attribute", name="level")
    assert level.value_type == "number" and level.count == 300


def test_rescanning_keeps_display_names(scanned, warehouse):
    EventMetadata.objects.for_organization(scanned.org_a).filter(name="purchase").update(
        display_name="Purchase"
    )
    metadata_scan(project=scanned.project_a, warehouse=warehouse.warehouse)
    assert (
        EventMetadata.objects.for_organization(scanned.org_a).get(name="purchase").display_name == "Purchase"
    )


@pytest.mark.parametrize("body", [
    {"type": "event", "metrics": [{"event": "purchase", "measure": "sum", "property": {"category": "event_outer", "property": "event_value"}}]},
    {"type": "funnel", "steps": [{"event": "view_item"}, {"event": "purchase", "filters": [{"category": "event", "property": "category", "operator": "in", "values": ["shoes", "hats"]}]}], "window": {"type": "custom", "value": 1, "unit": "hour"}},
    {"type": "path", "start_event": {"event": "_session_start"}, "nodes": ["view_item", "purchase"], "max_steps": 4},
    {"type": "retention", "pairs": [{"start": {"event": "_first_open"}, "revisit": {"event": "_session_start"}}], "cohort": "week"},
    {"type": "attribution", "goal": {"event": "purchase"}, "touchpoints": [{"event": "view_item"}], "model": "linear"},
])  # fmt: skip
def test_analyst_runs_every_explore_type(scanned, api, body):
    response = api(scanned.ann, scanned.org_a).post(
        url(scanned, "/explore/"), {**body, **RANGE}, format="json"
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["rows"] and data["columns"] and data["chart"]["kind"]


@pytest.mark.parametrize("body, field", [
    ({"type": "funnel", "steps": [{"event": "purchase"}]}, "steps"),
    ({"type": "funnel", "steps": [{"event": "purchase"}] * 11}, "steps"),
    ({"type": "funnel", "steps": [{"event": "nope"}, {"event": "purchase"}]}, "steps"),
    ({"type": "event", "metrics": [{"event": "purchase", "filters": [{"property": "password"}]}]}, "metrics"),
    ({"type": "event", "metrics": [{"event": "purchase"}], "start": "2026-11-05", "end": "2026-11-01"}, "start"),
    ({"type": "event", "metrics": [{"event": "purchase"}], "group_by": {"property": "event_value"}}, "group_by"),
    ({"type": "attribution", "goal": {"event": "purchase"}, "touchpoints": [{"event": "view_item"}],
      "model": "position", "weights": [50, 50, 50]}, "weights"),
    ({"type": "funnel", "steps": [{"event": "view_item"}, {"event": "purchase"}],
      "window": {"type": "custom", "value": 99999999, "unit": "day"}}, "window"),
    ({"type": "path", "node": "page_view_page_title"}, "platforms"),
    ({"type": "event", "metrics": [{"event": "purchase", "filters": [{"category": "event", "property": "price",
      "operator": ">", "values": ["lots"]}]}]}, "metrics"),
])  # fmt: skip
def test_bad_specs_are_field_errors(scanned, api, body, field):
    response = api(scanned.ann, scanned.org_a).post(url(scanned, "/explore/"), body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()


def test_reader_views_but_cannot_explore(scanned, api):
    client = api(scanned.bob, scanned.org_a)
    assert client.get(url(scanned, "/sheets/overview/"), RANGE).status_code == 200
    body = {"type": "event", "metrics": [{"event": "purchase"}]}
    assert client.post(url(scanned, "/explore/"), body, format="json").status_code == 403


def test_sheet_api_returns_visuals(scanned, api):
    data = api(scanned.bob, scanned.org_a).get(url(scanned, "/sheets/device/"), RANGE).json()
    assert {v["id"] for v in data["visuals"]} >= {"crash_rate", "browsers"} and data["latest_event"]
    bad = api(scanned.bob, scanned.org_a).get(url(scanned, "/sheets/device/"), {"start": "x"})
    assert bad.status_code == 400 and "start" in bad.json()


def test_csv_export(scanned, api):
    body = {"type": "event", "metrics": [{"event": "purchase"}], **RANGE}
    response = api(scanned.ann, scanned.org_a).post(
        url(scanned, "/explore/") + "?export=csv", body, format="json"
    )
    assert response["Content-Type"] == "text/csv"
    lines = response.content.decode().splitlines()
    assert lines[0] == "period,metric,grp,value" and len(lines) > 5


def test_save_an_analysis_to_a_custom_dashboard(scanned, api):
    client = api(scanned.ann, scanned.org_a)
    board = client.post(url(scanned, "/dashboards/"), {"name": "Checkout"}, format="json")
    assert board.status_code == 201, board.json()
    spec = {"type": "funnel", "steps": [{"event": "view_item"}, {"event": "purchase"}]}
    saved = client.post(url(scanned, "/analyses/"), {"dashboard": board.json()["id"], "title": "Buy funnel",
                                                     "spec": spec}, format="json")  # fmt: skip
    assert saved.status_code == 201, saved.json()
    bad = client.post(url(scanned, "/analyses/"), {"dashboard": board.json()["id"], "title": "Bad <title>",
                                                   "spec": {"type": "funnel", "steps": []}}, format="json")  # fmt: skip
    assert bad.status_code == 400 and {"title", "spec"} <= set(bad.json())
    duplicate = client.post(url(scanned, "/dashboards/"), {"name": "Checkout"}, format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()


def test_another_organizations_dashboard_cannot_be_targeted(scanned, api):
    """carol's dashboard id is not a valid target in organization A."""
    from analytics.models import CustomDashboard

    theirs = CustomDashboard.objects.unscoped().create(
        organization=scanned.org_b, app=scanned.app_b, name="Theirs"
    )
    response = api(scanned.ann, scanned.org_a).post(
        url(scanned, "/analyses/"),
        {"dashboard": str(theirs.uuid), "title": "x", "spec": {"type": "event"}},
        format="json",
    )
    assert response.status_code == 400 and "dashboard" in response.json()


def test_analyst_edits_metadata_display_name(scanned, api):
    event = EventMetadata.objects.for_organization(scanned.org_a).get(name="purchase")
    client = api(scanned.ann, scanned.org_a)
    response = client.patch(url(scanned, f"/events/{event.uuid}/"), {"display_name": "Purchase", "count": 0},
                            format="json")  # fmt: skip
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.display_name == "Purchase" and event.count > 0  # counts are not editable
    too_long = client.patch(
        url(scanned, f"/events/{event.uuid}/"), {"display_name": "x" * 300}, format="json"
    )
    assert too_long.status_code == 400
    assert api(scanned.bob, scanned.org_a).patch(url(scanned, f"/events/{event.uuid}/"), {"display_name": "y"},
                                                 format="json").status_code == 403  # fmt: skip
