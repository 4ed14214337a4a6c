"""Every sign-in, sign-up, password, e-mail and two-factor page (allauth's) is in the portal's layout and
style, and says "Sign in" / "Sign up" / "Change password" as the rest of the portal does."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from tests.conftest import PASSWORD

TITLE_CASE = re.compile(
    r"\b(Sign (In|Up|Out)|Change Password|Email Addresses|Two-Factor Authentication|"
    r"Password Reset|Remember Me|Make Primary|Set Password|Authenticator App)\b"
)


def assert_in_portal_style(response, name: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, (name, response.status_code, response.get("Location"))
    templates = [t.name for t in response.templates]
    assert "base.html" in templates, (name, templates)
    page = response.content.decode()
    assert 'class="navbar-brand"' in page and "css/portal.css" in page, name
    assert "Menu:" not in page, name  # allauth's own bare layout
    assert re.search(r'<h1 class="h3', page), name  # headings and forms styled as ours, not bare HTML
    for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page):
        if 'type="hidden"' not in control:
            assert "form-control" in control or "form-check-input" in control or "form-select" in control, (
                control
            )
    assert not TITLE_CASE.search(page), (name, TITLE_CASE.search(page))
    return page


def sign_in_and_reauthenticate(client: Client, user) -> None:  # type: ignore[no-untyped-def]
    """Two-factor settings ask for the password again (allauth's re-authentication) before they open."""
    client.force_login(user)
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        "/accounts/password/reset/key/x-bad/",
        "/accounts/confirm-email/",
        "/accounts/confirm-email/bad-key/",
    ],
)
def test_entrance_pages_are_in_the_layout(client, url):
    page = assert_in_portal_style(client.get(url, follow=True), url)
    if url == "/accounts/login/":
        assert ">Sign up</a>" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/accounts/password/change/",
        "/accounts/email/",
        "/accounts/logout/",
        "/accounts/reauthenticate/",
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
    ],
)
def test_account_pages_are_in_the_layout(cast, client, url):
    sign_in_and_reauthenticate(client, cast.alice)
    assert_in_portal_style(client.get(url), url)


@pytest.mark.django_db
def test_two_factor_pages_are_in_the_layout(cast, client):
    TOTP.activate(cast.alice, generate_totp_secret())
    RecoveryCodes.activate(cast.alice)
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    page = assert_in_portal_style(client.get("/accounts/2fa/authenticate/"), "authenticate")
    assert "Sign in" in page or "Two-factor" in page

    sign_in_and_reauthenticate(client, cast.alice)
    for url in (
        "/accounts/2fa/",
        "/accounts/2fa/recovery-codes/",
        "/accounts/2fa/recovery-codes/generate/",
        "/accounts/2fa/totp/deactivate/",
    ):
        assert_in_portal_style(client.get(url), url)


@pytest.mark.django_db
def test_the_password_reset_walk_is_in_the_layout(cast, client, mailoutbox):
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[-1].body).group(1)
    response = client.get(link, follow=True)  # allauth moves the key into the session, then shows the form
    page = assert_in_portal_style(response, "reset form")
    assert 'name="password1"' in page
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_url, {"password1": "A-new-long-pass-987", "password2": "A-new-long-pass-987"})
    assert_in_portal_style(client.get(response["Location"]), "reset done")


@pytest.mark.django_db
def test_setting_a_first_password_and_confirming_an_address_are_in_the_layout(cast, client):
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC

    cast.bob.set_unusable_password()  # an SSO user who never had a password here
    cast.bob.save()
    client.force_login(cast.bob)
    assert_in_portal_style(client.get("/accounts/password/set/"), "password set")
    address, _ = EmailAddress.objects.get_or_create(user=cast.bob, email="bob@example.com")
    key = EmailConfirmationHMAC(address).key
    assert_in_portal_style(client.get(f"/accounts/confirm-email/{key}/"), "confirm email")


def test_the_compiled_wording_matches_its_source():
    """locale/en/LC_MESSAGES/django.mo is compiled from django.po: every entry of the .po is in effect."""
    from pathlib import Path

    from django.conf import settings
    from django.utils import translation

    po = (Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po").read_text()
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', po, re.M)
    assert len(pairs) > 20
    with translation.override("en"):
        for msgid, msgstr in pairs:
            assert translation.gettext(msgid) == msgstr, (msgid, "run msgfmt on django.po")
