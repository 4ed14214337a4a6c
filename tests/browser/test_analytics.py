"""Every dashboard sheet and a funnel, drawn by ECharts in Chromium, with data."""

from __future__ import annotations

import re

import pytest

from analytics.dashboards import SHEETS
from portal import services
from projects.models import App, Project
from tests.analytics.conftest import generated, lake_root, warehouse  # noqa: F401  (the generated lake)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RANGE = "?start=2026-11-01&end=2026-11-20"


@pytest.fixture
def shop(warehouse):  # type: ignore[no-untyped-def]  # noqa: F811
    from analytics.metadata import metadata_scan

    user, _ = services.user_bootstrap(email="ann@example.com", password="A-long-pass-123", org_slug="acme",
                                      roles=["analyst"])  # fmt: skip
    org = user.memberships.get().organization
    project = Project.objects.unscoped().create(
        organization=org, project_id="shop", name="Shop", emails="o@x.io"
    )
    App.objects.unscoped().create(
        organization=org, project=project, app_id="web", name="Web", timezone="Asia/Tokyo"
    )
    metadata_scan(project=project, warehouse=warehouse.warehouse)
    return project


def sign_in(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.fill("input[name=login]", "ann@example.com")
    page.fill("input[name=password]", "A-long-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))


def test_every_sheet_draws_its_charts(page, shop, tmp_path):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page)
    page.click("text=Analytics")
    page.click("text=Web")
    page.wait_for_url(re.compile(r"/analytics/web/dashboards/overview/$"))
    for slug, sheet in SHEETS.items():
        page.goto(f"/o/acme/projects/shop/analytics/web/dashboards/{slug}/{RANGE}")
        charts = page.locator("[data-chart]")
        expected = sum(1 for v in sheet.visuals if v.chart not in ("table", "kpi"))
        assert charts.count() == expected, slug
        for i in range(expected):
            charts.nth(i).locator("canvas").wait_for()  # ECharts drew it
        assert "Latest data: 2026-11-21 0" in page.inner_text(
            "#latest-data"
        )  # the evening of the 20th (UTC) in Tokyo
        page.screenshot(path=str(tmp_path / f"{slug}.png"), full_page=True)
    page.goto("/o/acme/projects/shop/analytics/web/details/?event_name=purchase")
    assert page.locator("#event-details tbody tr").count() > 1
    assert errors == []


def test_a_funnel_renders(page, shop, tmp_path):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page)
    page.goto("/o/acme/projects/shop/analytics/web/explore/")
    page.select_option("#id_type", "funnel")
    page.fill("#id_start", "2026-11-01")
    page.fill("#id_end", "2026-11-20")
    page.select_option("#id_event_1", "view_item")
    page.select_option("#id_event_2", "add_to_cart")
    page.select_option("#id_event_3", "purchase")
    page.fill("#id_window_value", "30")
    page.click("#explore-run")
    page.locator("#explore-result [data-chart] canvas").wait_for()
    rows = page.locator("#explore-table tbody tr")
    assert rows.count() == 3
    assert rows.nth(0).inner_text().split("\t")[2] == "view_item"
    page.screenshot(path=str(tmp_path / "funnel.png"), full_page=True)
    assert errors == []
