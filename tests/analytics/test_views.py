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
