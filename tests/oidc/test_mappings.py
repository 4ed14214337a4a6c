"""Group mappings through the UI and the API, the rules of re-applying them, 2FA enforcement, Cognito logout."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.mfa.models import Authenticator
from django.test import RequestFactory

from portal.models import GroupMapping, Membership
from portal.oidc import services, views

pytestmark = pytest.mark.django_db


def test_admins_map_groups_through_the_api_with_validation(cast, api):
    client = api(cast.alice, cast.org_a)
    url = "/api/v1/organizations/org-a/group-mappings/"
    created = client.post(url, {"group": "ops", "roles": ["operator"]}, format="json")
    assert created.status_code == 201, created.content
    assert client.post(url, {"group": "ops", "roles": ["admin"]}, format="json").json() == {
        "group": ["This group is already mapped in this organization."]
    }
    assert client.post(url, {"group": "x", "roles": ["root"]}, format="json").status_code == 400
    detail = f"{url}{created.json()['id']}/"
    assert client.patch(detail, {"roles": ["analyst"]}, format="json").json()["roles"] == ["analyst"]
    assert api(cast.carol, cast.org_b).get(url).status_code == 404  # another organization's token
    assert client.delete(detail).status_code == 204


def test_admins_map_groups_in_the_ui(cast, login):
    client = login(cast.alice)
    response = client.post("/o/org-a/sign-in/groups/add/", {"group": "ops", "roles": ["operator", "analyst"]})
    assert response.status_code == 302 and response["Location"] == "/o/org-a/sign-in/"
    assert GroupMapping.objects.for_organization(cast.org_a).get(group="ops").roles == ["operator", "analyst"]
    page = client.get("/o/org-a/sign-in/").content.decode()
    assert ">ops<" in page and "Operator, Analyst" in page


def test_only_an_admin_with_two_factor_can_require_it(cast, login):
    from allauth.account.models import EmailAddress

    client = login(cast.alice)
    response = client.post("/o/org-a/sign-in/", {"require_mfa": "on"})
    assert response.status_code == 200 and "Set up two-factor authentication for yourself first" in (
        page := response.content.decode()
    )
    assert (
        'href="/accounts/2fa/totp/activate/">set up an authenticator app' in page
        and "verify your email" not in page
    )
    cast.org_a.refresh_from_db()
    assert not cast.org_a.require_mfa
    EmailAddress.objects.create(user=cast.alice, email="alice@old.example", verified=False)
    page = client.get("/o/org-a/sign-in/").content.decode()  # allauth needs every address verified first
    assert 'first <a href="/accounts/email/">verify your email address</a>' in page

    Authenticator.objects.create(user=cast.alice, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.post("/o/org-a/sign-in/", {"require_mfa": "on"})
    cast.org_a.refresh_from_db()
    assert cast.org_a.require_mfa
    client.post("/o/org-a/sign-in/", {})  # switching it off is always allowed
    cast.org_a.refresh_from_db()
    assert not cast.org_a.require_mfa


def test_portal_memberships_win_and_the_last_admin_stays(cast):
    GroupMapping.objects.unscoped().create(
        organization=cast.org_a, group="g", roles=["analyst_reader"], approved=True
    )
    services.sso_memberships_apply(
        user=cast.alice, groups=["g"]
    )  # alice's admin role was given in the portal
    assert Membership.objects.get(user=cast.alice, organization=cast.org_a).roles == ["admin"]
    GroupMapping.objects.unscoped().create(
        organization=cast.org_b, group="boss", roles=["admin"], approved=True
    )
    Membership.objects.filter(organization=cast.org_b).delete()
    services.sso_memberships_apply(user=cast.bob, groups=["boss"])
    services.sso_memberships_apply(user=cast.bob, groups=[])  # bob is org B's only admin now: kept
    assert Membership.objects.get(user=cast.bob, organization=cast.org_b).roles == ["admin"]


def test_an_organization_cannot_capture_another_organizations_group(
    cast, api, staff_client, django_user_model
):
    """Security review, item 3: group names are one namespace for the deployment. Org A's admin maps org B's
    group; before, org B's people then became admins of org A (and A saw their emails)."""
    GroupMapping.objects.unscoped().create(
        organization=cast.org_b,
        group="globex-staff",
        roles=["analyst"],
        approved=True,  # staff approved it
    )
    url = "/api/v1/organizations/org-a/group-mappings/"
    client = api(cast.alice, cast.org_a)
    grab = {"group": "globex-staff", "roles": ["admin"], "approved": True}
    created = client.post(url, grab, format="json")
    assert created.status_code == 201 and created.json()["approved"] is False  # not the org's to say
    listed = api(cast.alice, cast.org_a).get(url).json()["results"][0]
    assert listed["group"] == "globex-staff" and listed["approved"] is False

    gus = django_user_model.objects.create_user("gus", "gus@globex.example")
    services.sso_memberships_apply(user=gus, groups=["globex-staff"])
    assert {m.organization.slug: m.roles for m in gus.memberships.all()} == {"org-b": ["analyst"]}
    members = client.get("/api/v1/organizations/org-a/members/").json()["results"]
    assert "gus@globex.example" not in {m["email"] for m in members}

    # Staff approve org A's claim to the group (it is shared, say): from then on it applies there too.
    mapping = GroupMapping.objects.for_organization(cast.org_a).get()
    staff_client.post("/admin/portal/groupmapping/", {"action": "approve", "_selected_action": [mapping.pk]})
    services.sso_memberships_apply(user=gus, groups=["globex-staff"])
    assert {m.organization.slug for m in gus.memberships.all()} == {"org-a", "org-b"}
    # Renaming the group is a new claim: the approval goes, and with it what the mapping gave.
    detail = f"{url}{mapping.uuid}/"
    assert client.patch(detail, {"group": "globex-admins"}, format="json").json()["approved"] is False
    assert client.patch(detail, {"roles": ["analyst"]}, format="json").json()["approved"] is False
    services.sso_memberships_apply(user=gus, groups=["globex-staff", "globex-admins"])
    assert {m.organization.slug for m in gus.memberships.all()} == {"org-b"}


def test_the_ui_shows_mappings_awaiting_approval_and_cannot_approve(cast, login):
    client = login(cast.alice)
    client.post("/o/org-a/sign-in/groups/add/", {"group": "ops", "roles": ["operator"], "approved": "on"})
    mapping = GroupMapping.objects.for_organization(cast.org_a).get(group="ops")
    assert not mapping.approved
    assert "awaiting approval by support staff" in client.get("/o/org-a/sign-in/").content.decode()
    mapping.approved = True
    mapping.save()
    client.post(f"/o/org-a/sign-in/groups/{mapping.uuid}/edit/", {"group": "ops2", "roles": ["operator"]})
    mapping.refresh_from_db()
    assert mapping.group == "ops2" and not mapping.approved


def test_required_mfa_blocks_password_sessions_until_enrolled(cast, login):
    cast.org_a.require_mfa = True
    cast.org_a.save()
    client = login(cast.bob)
    assert client.get("/o/org-a/")["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/api/v1/organizations/org-a/projects/").status_code == 403
    assert client.get("/o/org-b/").status_code == 404  # not a member: nothing revealed
    Authenticator.objects.create(user=cast.bob, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert client.get("/o/org-a/").status_code == 200


def test_required_mfa_sends_an_unverified_member_to_verify_their_address_first(cast, login):
    from allauth.account.models import EmailAddress

    cast.org_a.require_mfa = True
    cast.org_a.save()
    EmailAddress.objects.filter(user=cast.bob).update(verified=False)
    client = login(cast.bob)
    response = client.get("/o/org-a/", follow=True)
    assert response.redirect_chain[0][0] == "/accounts/email/"
    assert "after verifying your email address below" in response.content.decode()


def test_provider_sessions_are_left_to_the_provider(cast, login):
    cast.org_a.require_mfa = True
    cast.org_a.save()
    client = login(cast.bob)
    session = client.session
    session[views.SESSION_METHOD] = "oidc"
    session.save()
    assert client.get("/o/org-a/").status_code == 200


def test_cognito_logout_goes_to_the_hosted_ui(settings, rf: RequestFactory):
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "cid"
    settings.OIDC_LOGOUT_URL = "https://auth.example.com/logout"
    settings.OIDC_LOGOUT_STYLE = "cognito"
    request = rf.get("/")
    request.session = {views.SESSION_METHOD: "oidc"}  # type: ignore[assignment]  # a dict is enough here
    logout = views.logout_url(request)
    assert logout is not None
    url = urlsplit(logout)
    assert url.netloc == "auth.example.com" and url.path == "/logout"
    assert parse_qs(url.query) == {"client_id": ["cid"], "logout_uri": ["http://testserver/accounts/login/"]}
    request.session = {}  # type: ignore[assignment]
    assert views.logout_url(request) is None  # a password session has no provider session to end


def test_a_recovery_code_signs_in_once(cast, client):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.conftest import PASSWORD

    TOTP.activate(cast.bob, generate_totp_secret())
    code = RecoveryCodes.activate(cast.bob).get_unused_codes()[0]
    response = client.post("/accounts/login/", {"login": "bob@example.com", "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/" and "_auth_user_id" not in client.session
    client.post("/accounts/2fa/authenticate/", {"code": code})
    assert client.session["_auth_user_id"] == str(cast.bob.pk)
    client.logout()
    client.post("/accounts/login/", {"login": "bob@example.com", "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": code})  # used up
    assert "_auth_user_id" not in client.session
