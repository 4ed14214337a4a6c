from __future__ import annotations

import re

import pytest

from portal import services
from projects.models import App, Project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, *, roles):
    services.user_bootstrap(
        email="olga@example.com", password="A-long-pass-123", org_slug="acme", roles=roles
    )
    page.goto("/")  # an anonymous visitor is sent to the sign-in page
    page.fill("input[name=login]", "olga@example.com")
    page.fill("input[name=password]", "A-long-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))


def test_sign_in_create_project_and_app_and_read_the_guide(page):
    services.user_bootstrap(
        email="olga@example.com", password="A-long-pass-123", org_slug="acme", roles=["operator"]
    )

    page.goto("/")
    page.fill("input[name=login]", "olga@example.com")
    page.fill("input[name=password]", "A-long-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))

    page.click("text=New project")
    page.fill("#id_name", "Web Shop")
    page.press("#id_name", "Tab")  # leaving the name suggests an id
    suggested = page.input_value("#id_project_id")
    assert re.fullmatch(r"web_shop_[a-z]{4}", suggested), suggested  # suggested from the name, editable
    page.fill("#id_project_id", "web_shop")
    page.fill("#id_emails", "ops@example.com")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r"/o/acme/projects/web_shop/$"))

    page.click("text=Register app")
    page.fill("#id_name", "Shop Android")
    page.press("#id_name", "Tab")  # leaving the name suggests an id
    assert page.input_value("#id_app_id") == "Shop_Android"
    page.check("input[value=Android]")
    page.fill("#id_android_package", "com.example.shop")
    page.select_option("#id_timezone", "Asia/Shanghai")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r"/apps/Shop_Android/$"))

    assert page.text_content("#guide-app-id") == "Shop_Android"
    # An Android app: its tab first and active, then HTTP; no Web tab.
    assert page.locator("#sdk-tabs button[role=tab]").all_text_contents() == ["Android", "HTTP API"]
    assert page.is_visible("#sdk-code-1") and '"appId": "Shop_Android"' in page.text_content("#sdk-code-1")
    with page.expect_download() as download:
        page.click("#sdk-1 .sdk-config-download")
    assert download.value.suggested_filename == "amplifyconfiguration.json"
    page.click("button[role=tab]:has-text('HTTP API')")
    assert page.is_visible("#sdk-code-2") and "platform=Android" in page.text_content("#sdk-code-2")
    assert Project.objects.unscoped().filter(project_id="web_shop").exists()
    assert App.objects.unscoped().get(app_id="Shop_Android").timezone == "Asia/Shanghai"


def test_form_errors_show_next_to_the_field(page):
    services.user_bootstrap(
        email="olga@example.com", password="A-long-pass-123", org_slug="acme", roles=["admin"]
    )
    page.goto("/accounts/login/")
    page.fill("input[name=login]", "olga@example.com")
    page.fill("input[name=password]", "A-long-pass-123")
    page.click("button[type=submit]")
    page.goto("/o/acme/projects/add/")
    page.fill("#id_name", "X")
    page.fill("#id_project_id", "Bad-Id")
    page.fill("#id_emails", "not-an-email")
    page.click("button:has-text('Create')")
    assert "starts with a lowercase letter" in page.text_content("[data-field=project_id]")
    assert "Not a valid email address" in page.text_content("[data-field=emails]")
