"""Two-factor authentication in the browser: an organization requires it, the member enrols an authenticator
app (TOTP), and the next sign-in asks for its code."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

from portal import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "A-long-pass-123"


def code(secret: str, step: int = 0) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2] + step))


def password_sign_in(page: object) -> None:
    page.goto("/accounts/login/")  # type: ignore[attr-defined]
    page.fill("input[name=login]", "mia@example.com")  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_required_mfa_enrolment_and_sign_in_with_totp(page, settings):
    settings.MFA_TOTP_TOLERANCE = 1  # the second sign-in uses the next period's code (a used code is refused)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    _, organization = services.user_bootstrap(
        email="mia@example.com", password=PASSWORD, org_slug="acme", roles=["admin"]
    )
    organization.require_mfa = True
    organization.save()

    password_sign_in(page)
    page.wait_for_url(
        re.compile(r"/accounts/reauthenticate/")
    )  # allauth confirms the password before 2FA changes
    assert "requires two-factor authentication" in page.text_content("main")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", code(secret))
    page.click("button:has-text('Activate')")
    page.wait_for_url(re.compile(r"/accounts/2fa/"))
    page.goto("/o/acme/")
    assert page.url.endswith("/o/acme/")  # enrolled: the organization opens

    page.click("a.nav-link:has-text('mia@example.com')")
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    password_sign_in(page)
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.fill("input[name=code]", "000000" if code(secret, 1) != "000000" else "111111")
    page.click("main button[type=submit]")
    assert page.url.endswith("/accounts/2fa/authenticate/")  # a wrong code keeps you out
    page.fill("input[name=code]", code(secret, 1))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))
    assert not violations, violations  # the allauth pages (QR code included) satisfy the policy too


def test_the_switch_is_in_the_sign_in_settings_and_needs_the_admins_own_two_factor(page):
    services.user_bootstrap(email="mia@example.com", password=PASSWORD, org_slug="acme", roles=["admin"])
    password_sign_in(page)
    page.wait_for_url(re.compile(r"/o/acme/$"))
    page.goto("/o/acme/sign-in/")
    page.check("#id_require_mfa")
    page.click("#require-mfa-form button[type=submit]")
    assert "Set up two-factor authentication for yourself first" in page.text_content("#require-mfa-form")
    page.click("#mfa-first a:has-text('set up an authenticator app')")
    page.wait_for_url(re.compile(r"/accounts/reauthenticate/"))  # allauth confirms the password first
