from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from portal import services
from portal.models import Invitation, Membership, Organization

MEMBERS = "/api/v1/organizations/org-a/members/"


def invite(client, capture, email: str = "dave@example.com", roles: tuple[str, ...] = ("analyst",)) -> str:  # type: ignore[no-untyped-def]
    """Invite through the UI; returns the link from the email (its path)."""
    with capture(execute=True):
        response = client.post("/o/org-a/invitations/add/", {"email": email, "roles": list(roles)})
    assert response.status_code == 302, response.content
    return link_in(mail.outbox[-1])


def link_in(message) -> str:  # type: ignore[no-untyped-def]
    line = next(line for line in message.body.splitlines() if "/invitations/" in line)
    return line.split(": ", 1)[1].removeprefix("http://testserver")


SIGN_UP = {"email": "dave@example.com", "password1": "A-long-pass-123", "password2": "A-long-pass-123"}


@pytest.mark.django_db
def test_invitation_email_link_makes_a_member(
    cast, login, client, django_capture_on_commit_callbacks, settings
):
    """Sign-up through the link: open even when sign-up is invitation-only, the address taken as verified
    (the link was sent to it), and no organization of the invitee's own."""
    settings.CLICKSTREAM_SIGNUP = "invite"
    link = invite(login(cast.alice), django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["dave@example.com"]
    client.logout()
    response = client.get(link)
    assert response.status_code == 302 and response["Location"].startswith(
        "/accounts/login/?next=/invitations/"
    )
    response = client.post("/accounts/signup/", SIGN_UP)
    assert response.status_code == 302 and response["Location"] == link  # signed in, no verification round
    assert client.post(link).status_code == 302
    dave = Membership.objects.get(user__email="dave@example.com")  # one membership: no extra organization
    assert dave.organization == cast.org_a and dave.roles == ["analyst"]
    assert EmailAddress.objects.get(email="dave@example.com").verified


@pytest.mark.django_db
def test_invitation_only_sign_up_needs_the_link_and_the_invited_address(
    cast, login, client, django_capture_on_commit_callbacks, settings
):
    settings.CLICKSTREAM_SIGNUP = "invite"
    assert b"Sign-up closed" in client.get("/accounts/signup/").content
    link = invite(login(cast.alice), django_capture_on_commit_callbacks)
    client.logout()
    client.get(link)
    response = client.post("/accounts/signup/", {**SIGN_UP, "email": "mallory@example.com"})
    assert (
        "Sign up with dave@example.com, the address this invitation was sent to." in response.content.decode()
    )
    assert not Membership.objects.filter(user__email="mallory@example.com").exists()


@pytest.mark.django_db
def test_open_sign_up_is_the_default_outside_production(tmp_path):
    from tests.oidc.test_deploy import PRODUCTION, manage

    code = "from django.conf import settings as s; print(s.CLICKSTREAM_SIGNUP)"
    result = manage("shell", "-c", code, CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1] == "open", result.stderr
    result = manage("shell", "-c", code, **PRODUCTION, CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.stdout.strip().splitlines()[-1] == "invite", result.stderr
    result = manage("check", CLICKSTREAM_SIGNUP="anyone", CLICKSTREAM_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "CLICKSTREAM_SIGNUP must be open or invite" in result.stderr


def person(user_model, username: str, *, verified: bool):  # type: ignore[no-untyped-def]
    """An account whose address is dave@example.com, verified or not."""
    user = user_model.objects.create_user(username, "dave@example.com", "A-long-pass-123")
    EmailAddress.objects.create(user=user, email="dave@example.com", verified=verified, primary=True)
    return user


@pytest.mark.django_db
def test_an_invitation_is_accepted_only_by_a_verified_owner_of_the_address(
    cast, login, django_capture_on_commit_callbacks, django_user_model
):
    """Security review, item 7: the account's email field is not proof; before, it was all that was checked."""
    link = invite(login(cast.alice), django_capture_on_commit_callbacks)
    dave = person(django_user_model, "dave", verified=True)
    mallory = person(django_user_model, "mallory", verified=False)  # her account claims dave's address
    response = login(mallory).post(link, follow=True)  # the link leaked to her
    assert "sign in with that address" in response.content.decode()
    assert not Membership.objects.filter(user=mallory).exists()
    assert login(dave).post(link).status_code == 302
    assert Membership.objects.get(user=dave).organization == cast.org_a


@pytest.mark.django_db
def test_the_link_verifies_the_invitees_own_unverified_address(
    cast, login, django_capture_on_commit_callbacks, django_user_model
):
    link = invite(login(cast.alice), django_capture_on_commit_callbacks)
    dave = person(django_user_model, "dave", verified=False)
    assert login(dave).post(link).status_code == 302
    assert EmailAddress.objects.get(user=dave).verified and Membership.objects.filter(user=dave).exists()


@pytest.mark.django_db
def test_re_inviting_replaces_the_open_invitation(cast, login, django_capture_on_commit_callbacks):
    admin = login(cast.alice)
    first = invite(admin, django_capture_on_commit_callbacks, roles=("admin",))
    second = invite(admin, django_capture_on_commit_callbacks, roles=("analyst_reader",))
    open_ones = Invitation.objects.for_organization(cast.org_a).filter(email="dave@example.com")
    assert [i.roles for i in open_ones] == [["analyst_reader"]]
    anonymous = Client()
    assert anonymous.get(first).status_code == 404 and anonymous.get(second).status_code == 302


@pytest.mark.django_db
def test_pending_invitations_are_listed_resent_and_revoked_in_the_ui(
    cast, login, django_capture_on_commit_callbacks
):
    admin = login(cast.alice)
    old_link = invite(admin, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.for_organization(cast.org_a).get()
    page = admin.get("/o/org-a/members/").content.decode()
    assert "dave@example.com" in page and "Analyst" in page
    assert f"/o/org-a/invitations/{invitation.uuid}/resend/" in page
    assert f"/o/org-a/invitations/{invitation.uuid}/delete/" in page
    assert admin.get(f"/o/org-a/invitations/{invitation.uuid}/resend/").status_code == 200  # asks first
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/o/org-a/invitations/{invitation.uuid}/resend/")
    assert response.status_code == 302 and response["Location"] == "/o/org-a/members/"
    new_link = link_in(mail.outbox[-1])
    assert new_link != old_link and mail.outbox[-1].to == ["dave@example.com"]
    assert Client().get(old_link).status_code == 404  # the old link no longer works
    admin.post(f"/o/org-a/invitations/{invitation.uuid}/delete/")
    assert not Invitation.objects.for_organization(cast.org_a).exists()
    assert "No invitation is waiting" in admin.get("/o/org-a/members/").content.decode()


@pytest.mark.django_db
def test_invitations_are_resent_and_revoked_through_the_api_and_django_admin(
    cast, api, staff_client, django_capture_on_commit_callbacks
):
    client = api(cast.carol, cast.org_b)
    url = "/api/v1/organizations/org-b/invitations/"
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(url, {"email": "erin@example.com", "roles": ["analyst"]}, format="json").json()
    first_key = Invitation.objects.unscoped().get().key
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(f"{url}{created['id']}/resend/")
    assert resent.status_code == 200 and resent.json()["email"] == "erin@example.com"
    assert Invitation.objects.unscoped().get().key != first_key and len(mail.outbox) == 2
    assert (
        api(cast.alice, cast.org_a)
        .post(f"/api/v1/organizations/org-b/invitations/{created['id']}/resend/")
        .status_code
        == 404
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/portal/invitation/",
            {"action": "resend", "_selected_action": [Invitation.objects.unscoped().get().pk]},
        )
    assert response.status_code == 302 and len(mail.outbox) == 3
    assert client.delete(f"{url}{created['id']}/").status_code == 204  # revoked
    assert not Invitation.objects.unscoped().exists()


@pytest.mark.django_db
def test_invitation_for_someone_else_is_refused(cast, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(cast.alice).post(
            "/o/org-a/invitations/add/", {"email": "dave@example.com", "roles": ["analyst"]}
        )
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/invitations/" in line).split(": ", 1)[
        1
    ]
    response = login(cast.carol).post(link, follow=True)
    assert "sign in with that address" in response.content.decode()
    assert not Membership.objects.filter(user=cast.carol, organization=cast.org_a).exists()


@pytest.mark.django_db
def test_sign_up_creates_the_users_own_organization(client):
    client.post(
        "/accounts/signup/",
        {"email": "eve@example.com", "password1": "A-long-pass-123", "password2": "A-long-pass-123"},
    )
    membership = Membership.objects.get(user__email="eve@example.com")
    assert (
        membership.roles == ["admin"] and Organization.objects.filter(pk=membership.organization_id).exists()
    )


@pytest.mark.django_db
def test_roles_are_edited_through_the_api(cast, api):
    client = api(cast.alice, cast.org_a)
    bob = Membership.objects.get(user=cast.bob)
    response = client.patch(f"{MEMBERS}{bob.uuid}/", {"roles": ["analyst", "analyst_reader"]}, format="json")
    assert response.status_code == 200 and response.json()["roles"] == ["analyst", "analyst_reader"]
    response = client.patch(f"{MEMBERS}{bob.uuid}/", {"roles": ["owner"]}, format="json")
    assert response.status_code == 400 and "not a valid choice" in str(response.json()["roles"])


@pytest.mark.django_db
def test_the_last_admin_cannot_leave_or_be_demoted(cast, api):
    client = api(cast.alice, cast.org_a)
    alice = Membership.objects.get(user=cast.alice)
    response = client.patch(f"{MEMBERS}{alice.uuid}/", {"roles": ["analyst"]}, format="json")
    assert response.status_code == 400 and "last admin" in str(response.json())
    assert client.delete(f"{MEMBERS}{alice.uuid}/").status_code == 400


@pytest.mark.django_db
def test_a_user_can_switch_between_organizations(cast, login):
    Membership.objects.create(user=cast.alice, organization=cast.org_b, roles=["analyst"])
    client = login(cast.alice)
    page = client.get("/o/org-a/").content.decode()
    assert 'href="/o/org-b/"' in page  # the switcher lists both
    client.get("/o/org-b/")
    assert client.get("/").url == "/o/org-b/"  # home remembers the last organization


@pytest.mark.django_db
def test_login_is_rate_limited(cast, client):
    for _ in range(6):
        client.post("/accounts/login/", {"login": "alice@example.com", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"login": "alice@example.com", "password": "correct-horse-battery-staple"}
    )
    assert response.status_code == 429 or "Too many failed login attempts" in response.content.decode()


@pytest.mark.django_db
def test_the_sign_in_pages_know_whether_this_visitor_may_sign_up(cast, client, settings, login):
    settings.CLICKSTREAM_SIGNUP = "invite"
    assert client.get("/accounts/login/").context["sso"]["signup_open"] is False
    invitation = services.invitation_create(
        organization=cast.org_a,
        email="dave@example.com",
        roles=["analyst"],
        invited_by=cast.alice,
        accept_url=str,
    )
    client.get(f"/invitations/{invitation.key}/")
    assert client.get("/accounts/login/").context["sso"]["signup_open"] is True


@pytest.mark.django_db
def test_sign_in_page_offers_sign_up_only_when_it_is_open(client, settings):
    settings.CLICKSTREAM_SIGNUP = "invite"
    page = client.get("/accounts/login/").content.decode()
    assert "/accounts/signup/" not in page and "by invitation" in page
    settings.CLICKSTREAM_SIGNUP = "open"
    assert "/accounts/signup/" in client.get("/accounts/login/").content.decode()
