from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from portal import services
from portal.models import ApiToken, Membership
from portal.models.tokens import hash_token

PROJECTS = "/api/v1/organizations/org-a/projects/"


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.django_db
def test_token_is_stored_hashed_and_shown_once(cast, login):
    client = login(cast.alice)
    response = client.post("/o/org-a/tokens/add/", {"name": "ci", "read_only": ""})
    raw = response.context["secret"]
    token = ApiToken.objects.for_organization(cast.org_a).get(name="ci")
    assert token.digest == hash_token(raw) and raw not in (token.digest, token.hint)
    assert raw not in client.get("/o/org-a/tokens/").content.decode()
    assert bearer(raw).get(PROJECTS).status_code == 200


@pytest.mark.django_db
def test_invalid_expired_and_revoked_tokens_are_401(cast):
    assert bearer("cst_nope").get(PROJECTS).status_code == 401
    token, raw = services.api_token_create(
        organization=cast.org_a, user=cast.alice, name="t", read_only=False
    )
    token.expires = timezone.now() - timedelta(seconds=1)
    token.save()
    response = bearer(raw).get(PROJECTS)
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    token.delete()
    assert bearer(raw).get(PROJECTS).status_code == 401


@pytest.mark.django_db
def test_token_is_bound_to_its_organization(cast):
    _, raw = services.api_token_create(organization=cast.org_a, user=cast.alice, name="t", read_only=False)
    Membership.objects.create(user=cast.alice, organization=cast.org_b, roles=["admin"])
    client = bearer(raw)
    assert client.get("/api/v1/organizations/org-b/projects/").status_code == 404
    assert [o["slug"] for o in client.get("/api/v1/organizations/").json()["results"]] == ["org-a"]


@pytest.mark.django_db
def test_read_only_token_cannot_write(cast):
    _, raw = services.api_token_create(organization=cast.org_a, user=cast.alice, name="t", read_only=True)
    response = bearer(raw).patch(f"{PROJECTS}shop/", {"name": "x"}, format="json")
    assert response.status_code == 403 and "read-only" in response.json()["detail"]


@pytest.mark.django_db
def test_token_acts_with_its_owners_roles(cast):
    _, raw = services.api_token_create(organization=cast.org_a, user=cast.bob, name="t", read_only=False)
    assert bearer(raw).get(PROJECTS).status_code == 403  # analyst readers do not read projects


@pytest.mark.django_db
def test_tokens_api_returns_the_secret_once(cast, api):
    client = api(cast.ann, cast.org_a)
    created = client.post(
        "/api/v1/organizations/org-a/tokens/", {"name": "etl", "read_only": True}, format="json"
    )
    assert created.status_code == 201
    listed = client.get("/api/v1/organizations/org-a/tokens/").json()["results"]
    assert created.json()["token"].startswith("cst_") and all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/organizations/org-a/tokens/{created.json()['id']}/").status_code == 204


@pytest.mark.django_db
def test_createuser_bootstraps_and_prints_a_token_last(capsys):
    call_command(
        "createuser",
        "ops@example.com",
        "--password",
        "s3cret-Pass!",
        "--org",
        "acme",
        "--roles",
        "admin,operator",
        "--token",
    )
    out = capsys.readouterr().out.strip().splitlines()
    membership = Membership.objects.get(user__email="ops@example.com", organization__slug="acme")
    assert membership.roles == ["admin", "operator"]
    assert bearer(out[-1]).get("/api/v1/organizations/acme/projects/").status_code == 200
    call_command("createuser", "ops@example.com", "--org", "acme", "--roles", "analyst")  # idempotent
    membership.refresh_from_db()
    assert membership.roles == ["analyst"]


@pytest.mark.django_db
def test_createuser_rejects_unknown_roles():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown role"):
        call_command("createuser", "x@example.com", "--org", "acme", "--roles", "superuser")
