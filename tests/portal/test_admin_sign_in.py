"""Security review, item 2: Django admin signs in through allauth, so every door has the same rules.

Before, /admin/login/ took a password alone from a user with two-factor, had no rate limit, and let in a
staff user whom the local sign-in policy refuses.
"""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(cast):  # type: ignore[no-untyped-def]
    cast.bob.is_staff = True
    cast.bob.save()
    return cast.bob


def admin_password_sign_in(client, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/login/?next=/admin/", {"username": "bob@example.com", "password": password, "next": "/admin/"}
    )


def test_the_admin_sign_in_page_is_allauths(client, staff):
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "bob@example.com", "password": PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == "/admin/" and client.get("/admin/").status_code == 200


def test_a_user_with_two_factor_cannot_enter_admin_with_the_password_alone(client, staff):
    TOTP.activate(staff, generate_totp_secret())
    response = admin_password_sign_in(client)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "bob@example.com", "password": PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == "/accounts/2fa/authenticate/" and "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_a_staff_user_the_local_sign_in_policy_refuses_stays_out(client, staff, settings):
    settings.LOCAL_SIGNIN_ENABLED = False  # bob is staff, but neither a superuser nor break-glass
    admin_password_sign_in(client)
    assert "_auth_user_id" not in client.session
    client.post("/accounts/login/?next=/admin/", {"login": "bob@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_admin_sign_in_attempts_are_rate_limited(client, staff):
    for _ in range(5):
        admin_password_sign_in(client, "wrong")
        client.post("/accounts/login/?next=/admin/", {"login": "bob@example.com", "password": "wrong"})
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "bob@example.com", "password": PASSWORD}
    )
    assert b"Too many failed login attempts" in response.content
    admin_password_sign_in(client)
    assert "_auth_user_id" not in client.session
