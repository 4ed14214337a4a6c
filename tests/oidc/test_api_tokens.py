"""The provider's access tokens on /api/v1/, beside personal tokens: valid, expired, tampered, for another
audience, signed by a rotated key, for an unknown subject, and with the provider down."""

from __future__ import annotations

import base64
import json
import time

import pytest
from rest_framework.test import APIClient

from portal.models import Membership
from portal.oidc import provider
from tests.oidc.idp import OTHER_AUDIENCE, SHORT_CLIENT_ID, free_port

pytestmark = pytest.mark.django_db

ORGS = "/api/v1/organizations/"


def call(token: str, url: str = ORGS):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(url)


def assert_refused(response, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": "Invalid token."}  # nothing more in the body
    header = response["WWW-Authenticate"]
    assert header.startswith('Bearer realm="api", error="invalid_token"') and reason in header, header


def test_a_valid_access_token_acts_as_the_mapped_user(sso, mappings):
    token = sso.tokens("ada@corp.example")["access_token"]
    response = call(token)
    assert response.status_code == 200, response.content
    assert [(o["slug"], o["roles"]) for o in response.json()["results"]] == [("org-a", ["admin"])]
    assert call(token, "/api/v1/organizations/org-a/members/").status_code == 200
    assert Membership.objects.get(user__email="ada@corp.example").from_sso


def test_roles_follow_the_token_groups(sso, mappings):
    token = sso.tokens("ben@corp.example")["access_token"]
    assert call(token).json()["results"][0]["roles"] == ["analyst"]
    assert call(token, "/api/v1/organizations/org-a/members/").status_code == 403


def test_personal_tokens_work_side_by_side(sso, mappings, api):
    assert api(mappings.alice, mappings.org_a).get(ORGS).status_code == 200


def test_an_expired_token_is_refused(sso, mappings, settings):
    settings.OIDC_CLOCK_SKEW_SECONDS = 0
    token = sso.tokens("ada@corp.example", client_id=SHORT_CLIENT_ID)["access_token"]
    assert call(token).status_code == 200
    time.sleep(3.1)
    assert_refused(call(token), "The token has expired.")


def test_clock_skew_is_tolerated(sso, mappings, settings):
    settings.OIDC_CLOCK_SKEW_SECONDS = 30
    token = sso.tokens("ada@corp.example", client_id=SHORT_CLIENT_ID)["access_token"]
    time.sleep(3.1)
    assert call(token).status_code == 200


def test_a_tampered_token_is_refused(sso, mappings):
    header, payload, signature = sso.tokens("ben@corp.example")["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["clickstream-admins"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_refused(call(f"{header}.{forged}.{signature}"), "The token signature is invalid.")
    assert not Membership.objects.filter(user__email="ben@corp.example").exists()


def test_a_token_for_another_audience_is_refused(sso, mappings):
    token = sso.tokens("ada@corp.example", resource=OTHER_AUDIENCE)["access_token"]
    assert_refused(call(token), "The token is meant for another audience.")


def test_an_id_token_is_not_an_api_token(sso, mappings, settings):
    """Security review, item 9: the ID token the portal's client receives never opens the API."""
    tokens = sso.tokens("ada@corp.example")
    assert call(tokens["access_token"]).status_code == 200  # at+jwt for the API's audience
    for audiences in ([], [sso.settings()["OIDC_API_AUDIENCES"][0]], [sso.settings()["OIDC_RP_CLIENT_ID"]]):
        settings.OIDC_API_AUDIENCES = audiences
        assert_refused(call(tokens["id_token"]), "Send an access token, not an ID token.")


def test_keys_rotated_at_the_provider_are_picked_up(sso, mappings):
    before = sso.tokens("ada@corp.example")["access_token"]
    assert call(before).status_code == 200  # the first key set is now cached
    sso.rotate_keys()
    after = sso.tokens("ada@corp.example")["access_token"]
    assert after.split(".")[0] != before.split(".")[0]  # another kid
    provider.JWKS_MIN_REFRESH_INTERVAL, saved = 0.0, provider.JWKS_MIN_REFRESH_INTERVAL
    try:
        assert call(after).status_code == 200
        assert call(before).status_code == 200  # the old key is still published during the rotation
    finally:
        provider.JWKS_MIN_REFRESH_INTERVAL = saved


def test_an_unverified_subject_without_an_account_is_refused(sso, mappings):
    token = sso.tokens("dee@corp.example")["access_token"]
    assert_refused(call(token), "no account here")


def test_garbage_and_unknown_tokens_are_refused(sso):
    assert_refused(call("a.b.c"), "The token is malformed.")
    assert_refused(call("not-a-token"), "not recognised")


def test_provider_down_is_a_503_not_a_pass(sso, mappings, settings):
    token = sso.tokens("ada@corp.example")["access_token"]
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    provider.reset_caches()
    response = call(token)
    assert response.status_code == 503


def test_a_token_without_the_groups_claim_leaves_memberships_alone(sso, mappings, settings):
    token = sso.tokens("ada@corp.example")["access_token"]
    assert call(token).status_code == 200
    settings.OIDC_ROLES_CLAIM = "no_such_claim"  # many providers put groups in the ID token only
    assert call(token).json()["results"][0]["roles"] == ["admin"]
