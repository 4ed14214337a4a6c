"""Security review, item 8: a member's API tokens end with their membership, through every door."""

from __future__ import annotations

import pytest

from portal import services
from portal.models import ApiToken, Membership
from portal.oidc import services as sso_services

pytestmark = pytest.mark.django_db

ORGS = "/api/v1/organizations/"


def tokens_of(user, organization) -> int:  # type: ignore[no-untyped-def]
    return ApiToken.objects.for_organization(organization).filter(user=user).count()


def test_removing_a_member_in_the_ui_deletes_their_tokens_and_a_re_invite_does_not_revive_them(
    cast, login, api
):
    bob_api = api(cast.bob, cast.org_a)
    bob = Membership.objects.get(user=cast.bob, organization=cast.org_a)
    response = login(cast.alice).post(f"/o/org-a/members/{bob.uuid}/delete/")
    assert response.status_code == 302
    assert tokens_of(cast.bob, cast.org_a) == 0
    services.membership_set(organization=cast.org_a, user=cast.bob, roles=["admin"])  # added back later
    assert bob_api.get(ORGS).status_code == 401  # the old token stays dead


def test_removing_a_member_through_the_api_deletes_only_their_tokens_for_that_organization(cast, api):
    Membership.objects.create(user=cast.bob, organization=cast.org_b, roles=["analyst"])
    api(cast.bob, cast.org_a)
    bob_in_b = api(cast.bob, cast.org_b)
    api(cast.ann, cast.org_a)
    bob = Membership.objects.get(user=cast.bob, organization=cast.org_a)
    response = api(cast.alice, cast.org_a).delete(f"/api/v1/organizations/org-a/members/{bob.uuid}/")
    assert response.status_code == 204
    assert tokens_of(cast.bob, cast.org_a) == 0
    assert tokens_of(cast.ann, cast.org_a) == 1 and tokens_of(cast.bob, cast.org_b) == 1
    assert bob_in_b.get(ORGS).status_code == 200


def test_removal_by_staff_in_django_admin_and_by_single_sign_on_deletes_tokens(cast, staff_client):
    api_token = services.api_token_create(organization=cast.org_a, user=cast.bob, name="t")[0]
    bob = Membership.objects.get(user=cast.bob, organization=cast.org_a)
    response = staff_client.post(f"/admin/portal/membership/{bob.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiToken.objects.unscoped().filter(pk=api_token.pk).exists()

    Membership.objects.create(user=cast.ann, organization=cast.org_b, roles=["analyst"], from_sso=True)
    services.api_token_create(organization=cast.org_b, user=cast.ann, name="t")
    sso_services.sso_memberships_apply(user=cast.ann, groups=[])  # their groups no longer give org B
    assert tokens_of(cast.ann, cast.org_b) == 0 and tokens_of(cast.ann, cast.org_a) == 0
