"""A new user's walk in Chromium: the sign-in page, a forbidden page and a missing page all in the product's
layout, each with a way back."""

from __future__ import annotations

import re

import pytest

from portal import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "A-long-pass-123"


def in_layout(page) -> bool:  # type: ignore[no-untyped-def]
    """The portal's navbar and stylesheet are there, and Bootstrap styled the page (not a bare HTML page)."""
    brand = page.locator("nav.navbar .navbar-brand")
    styled = page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).display") == "flex"
    return brand.is_visible() and "Clickstream" in brand.text_content() and styled


def test_sign_in_forbidden_and_missing_pages_stay_in_the_layout(page):
    services.user_bootstrap(email="rita@example.com", password=PASSWORD, org_slug="acme", roles=["analyst"])
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    assert in_layout(page)
    assert page.locator("h1").text_content().strip() == "Sign in"
    assert page.locator("main.entrance input[name=login].form-control").is_visible()
    assert page.get_by_role("link", name="Sign up").is_visible()
    page.fill("input[name=login]", "rita@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))

    response = page.goto("/o/acme/members/")  # an analyst may not manage the organization
    assert response is not None and response.status == 403
    assert in_layout(page)
    assert "You cannot open this page" in page.locator("h1").text_content()
    page.get_by_role("link", name="Back to the organization").click()
    page.wait_for_url(re.compile(r"/o/acme/$"))

    response = page.goto("/o/acme/projects/no_such_project/")
    assert response is not None and response.status == 404
    assert in_layout(page)
    assert "This page does not exist" in page.locator("h1").text_content()
    page.get_by_role("link", name="Back to the start page").click()
    page.wait_for_url(re.compile(r"/o/acme/$"))
    assert violations == []
