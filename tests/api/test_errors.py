"""Bad or partial input to the API is answered with a 4xx a person can act on, never a server error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import ApiToken, Membership

MEMBERS = "/api/v1/organizations/org-a/members/"
TOKENS = "/api/v1/organizations/org-a/tokens/"


@pytest.mark.django_db
@pytest.mark.parametrize("format", ["json", "multipart"])
def test_patching_a_member_with_nothing_changes_nothing(cast, api, format):
    """Was a 500: the last-admin guard read the roles that a partial update had not sent."""
    membership = Membership.objects.get(user=cast.olivia)
    response = api(cast.alice, cast.org_a).patch(f"{MEMBERS}{membership.uuid}/", {}, format=format)
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == ["operator"]
    membership.refresh_from_db()
    assert membership.roles == ["operator"]


@pytest.mark.django_db
def test_patching_the_last_admin_without_roles_is_allowed_and_removing_admin_is_refused(cast, api):
    membership = Membership.objects.get(user=cast.alice)
    client = api(cast.alice, cast.org_a)
    assert client.patch(f"{MEMBERS}{membership.uuid}/", {}, format="json").status_code == 200
    response = client.patch(f"{MEMBERS}{membership.uuid}/", {"roles": ["analyst"]}, format="json")
    assert response.status_code == 400 and "last admin" in str(response.json())


@pytest.mark.django_db
def test_a_token_expiry_already_past_is_refused_on_the_field(cast, api):
    client = api(cast.alice, cast.org_a)
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = client.post(TOKENS, {"name": "late", "expires": past}, format="json")
    assert response.status_code == 400
    assert "already passed" in response.json()["expires"][0]
    assert not ApiToken.objects.for_organization(cast.org_a).filter(name="late").exists()
    future = (timezone.now() + timedelta(days=1)).isoformat()
    assert client.post(TOKENS, {"name": "soon", "expires": future}, format="json").status_code == 201


@pytest.mark.django_db
def test_the_token_form_refuses_a_past_expiry_too(cast, login):
    past = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = login(cast.alice).post("/o/org-a/tokens/add/", {"name": "late", "expires": past})
    assert response.status_code == 200
    assert "already passed" in str(response.context["form"].errors["expires"])
    assert not ApiToken.objects.for_organization(cast.org_a).filter(name="late").exists()
