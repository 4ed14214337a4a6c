"""Sign-in through the test provider with Django's test client: users and roles from the group claim, and
every way a sign-in response can be wrong."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from portal.models import ExternalIdentity, GroupMapping, Membership
from tests.conftest import PASSWORD
from tests.oidc.idp import free_port

pytestmark = pytest.mark.django_db


def start(client):  # type: ignore[no-untyped-def]
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    return response["Location"]


def sign_in(client, sso, email):  # type: ignore[no-untyped-def]
    callback = sso.sign_in(start(client), email)
    return callback, client.get(callback.removeprefix("http://testserver"))


def test_the_request_carries_state_nonce_and_pkce(client, sso):
    query = parse_qs(urlsplit(start(client)).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["response_type"] == ["code"]
    assert query["scope"] == ["openid email profile groups"]


def test_first_sign_in_creates_the_user_with_mapped_roles(client, sso, mappings):
    _, response = sign_in(client, sso, "ada@corp.example")
    assert response.status_code == 302 and response["Location"] == "/"
    membership = Membership.objects.get(user__email="ada@corp.example")
    assert membership.organization == mappings.org_a and membership.roles == ["admin"] and membership.from_sso
    assert ExternalIdentity.objects.get(subject="u-ada").groups == ["clickstream-admins"]
    assert client.get("/o/org-a/members/").status_code == 200
    assert not membership.user.has_usable_password()


def test_mapping_is_reapplied_at_every_sign_in(client, sso, mappings):
    sign_in(client, sso, "ben@corp.example")
    assert Membership.objects.get(user__email="ben@corp.example").roles == ["analyst"]
    GroupMapping.objects.unscoped().create(
        organization=mappings.org_a, group="staff", roles=["operator"], approved=True
    )
    GroupMapping.objects.unscoped().create(
        organization=mappings.org_b, group="staff", roles=["analyst_reader"], approved=True
    )
    client.logout()
    sign_in(client, sso, "ben@corp.example")
    roles = {m.organization.slug: m.roles for m in Membership.objects.filter(user__email="ben@corp.example")}
    assert roles == {"org-a": ["operator", "analyst"], "org-b": ["analyst_reader"]}
    GroupMapping.objects.unscoped().filter(group="staff").delete()
    GroupMapping.objects.unscoped().filter(group="analysts").delete()
    client.logout()
    sign_in(client, sso, "ben@corp.example")
    assert not Membership.objects.filter(user__email="ben@corp.example").exists()


def test_existing_user_is_matched_by_verified_email_and_keeps_portal_memberships(client, sso, mappings):
    sign_in(client, sso, "carol@example.com")
    carol = mappings.carol
    assert ExternalIdentity.objects.get(subject="u-carol").user == carol
    roles = {m.organization.slug: (m.roles, m.from_sso) for m in carol.memberships.all()}
    assert roles == {"org-a": (["analyst"], True), "org-b": (["admin"], False)}


def test_unverified_email_is_never_matched_nor_used(client, sso, mappings):
    _, response = sign_in(client, sso, "dee@corp.example")
    assert response.status_code == 403
    assert b"has not verified the email address dee@corp.example" in response.content
    assert not ExternalIdentity.objects.filter(subject="u-dee").exists()
    assert "_auth_user_id" not in client.session


def test_no_mapped_membership_shows_whom_to_ask(client, sso, mappings, settings):
    settings.CLICKSTREAM_SUPPORT_CONTACT = "it-help@corp.example"
    _, response = sign_in(client, sso, "cy@corp.example")
    assert response.status_code == 302 and response["Location"] == "/sign-in/no-access/"
    page = client.get("/sign-in/no-access/")
    assert page.status_code == 200
    assert b"it-help@corp.example" in page.content and b"<code>staff</code>" in page.content


def test_state_mismatch_is_refused(client, sso, mappings):
    callback = sso.sign_in(start(client), "ada@corp.example")
    forged = callback.replace("state=", "state=forged")
    response = client.get(forged.removeprefix("http://testserver"))
    assert response.status_code == 400 and b"did not match a sign-in started here" in response.content
    assert "_auth_user_id" not in client.session


def test_a_replayed_code_is_refused(client, sso, mappings, django_user_model):
    callback, response = sign_in(client, sso, "ada@corp.example")
    assert response.status_code == 302
    client.logout()
    assert client.get(callback.removeprefix("http://testserver")).status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_nonce_mismatch_is_refused(client, sso, mappings):
    location = start(client)
    session = client.session
    state = parse_qs(urlsplit(location).query)["state"][0]
    session["oidc_states"][state]["nonce"] = "not-the-one-sent"
    session.save()
    callback = sso.sign_in(location, "ada@corp.example")
    response = client.get(callback.removeprefix("http://testserver"))
    assert response.status_code == 400 and "_auth_user_id" not in client.session


def test_provider_error_is_shown(client, sso):
    start(client)
    response = client.get("/oidc/callback/?error=access_denied&error_description=Nope&state=x")
    assert response.status_code == 400 and b"refused the sign-in: Nope" in response.content


def test_provider_down_shows_an_error_and_local_break_glass_still_works(client, sso, cast, settings):
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    settings.LOCAL_SIGNIN_ENABLED = False
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 502 and b"cannot be reached right now" in response.content
    cast.alice.is_superuser = True
    cast.alice.save()
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(cast.alice.pk)


def test_local_sign_in_off_refuses_everyone_but_break_glass(client, sso, cast, settings):
    settings.LOCAL_SIGNIN_ENABLED = False
    settings.BREAK_GLASS_EMAILS = ["carol@example.com"]
    assert b"Sign-up closed" in client.get("/accounts/signup/").content  # our wording (locale/en)
    page = client.get("/accounts/login/").content
    assert b"Password sign-in is for break-glass administrators only" in page and b"Sign up</a>" not in page
    response = client.post(
        "/accounts/login/", {"login": "bob@example.com", "password": PASSWORD}, follow=True
    )
    assert "_auth_user_id" not in client.session
    assert b"reserved for break-glass administrators" in response.content
    client.post("/accounts/login/", {"login": "carol@example.com", "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(cast.carol.pk)


def test_sign_out_ends_the_provider_session_too(client, sso, mappings):
    sign_in(client, sso, "ada@corp.example")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{sso.issuer}/session/end"
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert "_auth_user_id" not in client.session


def test_the_login_page_offers_the_provider(client, sso):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Test IdP" in page and 'href="/oidc/authenticate/"' in page


def test_without_configuration_the_provider_routes_send_you_to_the_login_page(client):
    assert client.get("/oidc/authenticate/")["Location"] == "/accounts/login/"
    assert b"Sign in with" not in client.get("/accounts/login/").content
