"""Headless Chromium signs in through the test provider, lands in the mapped organization, and signs out of
both; the portal's own pages raise no content-security-policy violation on the way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.oidc.idp import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.csp_violations = []
    page.on(
        "console",
        lambda message: page.csp_violations.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    yield page
    context.close()


def provider_sign_in(page: Any, email: str) -> None:
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/interaction/"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_sign_in_through_the_provider_lands_in_the_mapped_organization(page, sso, mappings):
    page.goto("/accounts/login/")
    page.click("#sso-sign-in")
    provider_sign_in(page, "ada@corp.example")
    page.wait_for_url(re.compile(r"/o/org-a/$"))
    assert page.is_visible("a.nav-link:has-text('Members')")  # the admin role came from the group
    for path in (
        "/o/org-a/members/",
        "/o/org-a/sign-in/",
        "/o/org-a/sign-in/groups/add/",
        "/o/org-a/tokens/",
    ):
        page.goto(path)
        assert page.title() and "Server Error" not in page.title()
    page.goto("/o/org-a/sign-in/groups/add/")
    page.fill("#id_group", "staff")
    page.check("input[name=roles][value=operator]")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r"/o/org-a/sign-in/$"))
    assert page.is_visible("td:has-text('staff')")

    page.click("a.nav-link:has-text('ada@corp.example')")
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/session/end"))
    page.click("button[value=yes]")  # the provider's own confirmation of RP-initiated logout
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    assert page.is_visible("#sso-sign-in")

    page.click("#sso-sign-in")  # the provider's session ended too: it asks for the password again
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/interaction/"))
    assert page.is_visible("input[name=password]")
    assert not page.csp_violations, page.csp_violations


def test_a_person_without_mapped_groups_is_told_whom_to_ask(page, sso, mappings):
    page.goto("/oidc/authenticate/")
    provider_sign_in(page, "cy@corp.example")
    page.wait_for_url(re.compile(r"/sign-in/no-access/$"))
    assert "no organization is open to you yet" in page.text_content("h1")
    assert "staff" in page.text_content("#groups-received")
    assert not page.csp_violations, page.csp_violations
