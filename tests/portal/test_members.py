from __future__ import annotations

import pytest
from django.core import mail

from portal.models import Membership, Organization

MEMBERS = "/api/v1/organizations/org-a/members/"


@pytest.mark.django_db
def test_invitation_email_link_makes_a_member(cast, login, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        login(cast.alice).post(
            "/o/org-a/invitations/add/", {"email": "dave@example.com", "roles": ["analyst"]}
        )
    assert mail.outbox[-1].to == ["dave@example.com"]
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/invitations/" in line).split(": ", 1)[
        1
    ]
    client.logout()
    client.post(
        "/accounts/signup/",
        {"email": "dave@example.com", "password1": "A-long-pass-123", "password2": "A-long-pass-123"},
    )
    response = client.post(link, follow=True)
    assert response.status_code == 200
    dave = Membership.objects.get(user__email="dave@example.com", organization=cast.org_a)
    assert dave.roles == ["analyst"]


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
