"""The dashboard pages: every sheet renders its visuals for an analyst reader; bad controls get field errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.dashboards import SHEETS

pytestmark = pytest.mark.django_db


def sheet_url(cast, sheet: str, **query: str) -> str:
    url = reverse(
        "analytics:sheet", kwargs={"org": cast.org_a.slug, "project": "shop", "app": "web", "sheet": sheet}
    )
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.parametrize("sheet", list(SHEETS))
def test_every_sheet_renders_with_data(cast, login, warehouse, sheet):
    response = login(cast.bob).get(sheet_url(cast, sheet, start="2026-11-01", end="2026-11-20"))
    assert response.status_code == 200
    html = response.content.decode()
    for visual in SHEETS[sheet].visuals:
        assert f'data-visual="{visual.id}"' in html
    assert "Latest data: 2026-11-20" in html
    assert "data-chart=" in html


def test_bad_range_is_a_field_error(cast, login, warehouse):
    response = login(cast.bob).get(sheet_url(cast, "overview", start="2026-11-20", end="2026-11-01"))
    assert "The start date is after the end date." in response.content.decode()
    assert "data-chart=" not in response.content.decode()


def test_unknown_sheet_is_404(cast, login, warehouse):
    assert login(cast.bob).get(sheet_url(cast, "nope")).status_code == 404


def test_other_organizations_project_is_404(cast, login, warehouse):
    """carol's organization also has a project `shop`; alice's URL for it is not hers to see."""
    url = reverse(
        "analytics:sheet",
        kwargs={"org": cast.org_b.slug, "project": "shop", "app": "web", "sheet": "overview"},
    )
    assert login(cast.alice).get(url).status_code == 404


def test_details_filters(cast, login, warehouse):
    url = reverse("analytics:details", kwargs={"org": cast.org_a.slug, "project": "shop", "app": "web"})
    response = login(cast.bob).get(url + "?event_name=purchase&start=2026-11-01T00:00&end=2026-11-21T00:00")
    html = response.content.decode()
    assert (
        response.status_code == 200
        and "purchase" in html
        and "_page_view" not in html.split("event-details")[1]
    )


def app_url(cast, name: str, **kwargs) -> str:
    return reverse(
        f"analytics:{name}", kwargs={"org": cast.org_a.slug, "project": "shop", "app": "web", **kwargs}
    )


@pytest.fixture
def scanned(cast, warehouse):
    from analytics.metadata import metadata_scan

    metadata_scan(project=cast.project_a, warehouse=warehouse.warehouse)
    return cast


FUNNEL_FORM = {"type": "funnel", "start": "2026-11-01", "end": "2026-11-20", "event_1": "view_item",
               "event_2": "add_to_cart", "event_3": "purchase", "window_type": "custom", "window_value": "30",
               "window_unit": "minute", "count": "users", "granularity": "day", "session_type": "session",
               "node": "event", "cohort": "day", "model": "first"}  # fmt: skip


def test_explore_funnel_then_save_it_to_a_dashboard(scanned, login):
    from analytics.models import CustomDashboard

    client = login(scanned.ann)
    response = client.post(app_url(scanned, "explore"), FUNNEL_FORM, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="explore-table"' in html and "data-chart=" in html
    board = CustomDashboard.objects.unscoped().create(
        organization=scanned.org_a, app=scanned.app_a, name="Sales"
    )
    spec = client.post(app_url(scanned, "explore"), FUNNEL_FORM).context["spec_json"]
    saved = client.post(
        app_url(scanned, "explore_save"), {"dashboard": str(board.uuid), "title": "Buy", "spec": spec}
    )
    assert saved.status_code == 302 and saved["Location"] == board.get_absolute_url()
    page = login(scanned.bob).get(board.get_absolute_url()).content.decode()  # a reader sees it
    assert "Buy" in page and "data-chart=" in page


def test_explore_errors_name_the_field(scanned, login):
    response = login(scanned.ann).post(
        app_url(scanned, "explore"), {**FUNNEL_FORM, "event_2": "", "event_3": ""}
    )
    assert "steps: A funnel has 2 to 10 steps." in response.content.decode()


def test_explore_csv_export(scanned, login):
    response = login(scanned.ann).post(app_url(scanned, "explore"), {**FUNNEL_FORM, "export": "csv"})
    assert response["Content-Type"] == "text/csv"
    assert (
        response.content.decode().splitlines()[0]
        == "group,step,event,count,rate_from_previous,rate_from_first"
    )


def test_reader_cannot_explore_or_edit(scanned, login):
    from analytics.models import EventMetadata

    client = login(scanned.bob)
    assert client.get(app_url(scanned, "explore")).status_code == 403
    event = EventMetadata.objects.for_organization(scanned.org_a).get(name="purchase")
    assert (
        client.post(app_url(scanned, "eventmetadata_edit", pk=event.uuid), {"display_name": "x"}).status_code
        == 403
    )
    assert client.post(app_url(scanned, "dashboard_list"), {"name": "x"}).status_code == 403


def test_analyst_edits_metadata_and_explore_shows_it(scanned, login):
    from analytics.models import EventMetadata

    event = EventMetadata.objects.for_organization(scanned.org_a).get(name="purchase")
    client = login(scanned.ann)
    response = client.post(app_url(scanned, "eventmetadata_edit", pk=event.uuid),
                           {"display_name": "Purchase", "description": "Checkout done"})  # fmt: skip
    assert response.status_code == 302
    assert "Purchase (purchase)" in client.get(app_url(scanned, "explore")).content.decode()
    assert "Checkout done" in client.get(app_url(scanned, "metadata")).content.decode()


def test_admin_edits_metadata_display_names(scanned, staff_client):
    from analytics.models import AttributeMetadata, EventMetadata

    event = EventMetadata.objects.for_organization(scanned.org_a).get(name="purchase")
    url = reverse("admin:analytics_eventmetadata_change", args=[event.pk])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"display_name": "Bought", "description": "", "count": 0})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.display_name == "Bought" and event.count > 0
    attribute = AttributeMetadata.objects.for_organization(scanned.org_a).first()
    assert (
        staff_client.get(reverse("admin:analytics_attributemetadata_change", args=[attribute.pk])).status_code
        == 200
    )
    assert staff_client.get(reverse("admin:analytics_customdashboard_changelist")).status_code == 200
