"""Security review, item 1: an address nobody proved never links a provider identity to an account.

Before the fix, anyone could sign up locally as the victim's address (never verified); the victim's first
sign-in through the provider was then linked to the attacker's account, which kept its password.
"""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from portal.models import ExternalIdentity, Membership
from tests.oidc.test_sign_in import sign_in

pytestmark = pytest.mark.django_db

ATTACKER_PASSWORD = "An-attacker-pass-123"


def sign_up(client, email: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/accounts/signup/", {"email": email, "password1": ATTACKER_PASSWORD, "password2": ATTACKER_PASSWORD}
    )


def test_local_sign_up_must_verify_the_address_before_signing_in(client, settings):
    response = sign_up(client, "eve@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session
    assert mail.outbox[-1].to == ["eve@example.com"] and "/accounts/confirm-email/" in mail.outbox[-1].body
    response = client.post("/accounts/login/", {"login": "eve@example.com", "password": ATTACKER_PASSWORD})
    assert "_auth_user_id" not in client.session  # still unproven: allauth sends the link again
    link = next(w for w in mail.outbox[-1].body.split() if "/accounts/confirm-email/" in w)
    client.post(link.removeprefix("http://testserver"))
    assert EmailAddress.objects.get(email="eve@example.com").verified


def test_an_unverified_local_account_does_not_capture_the_provider_identity(client, sso, mappings):
    sign_up(client, "ada@corp.example")  # the attacker, who cannot read ada's mail
    attacker = EmailAddress.objects.get(email="ada@corp.example").user
    _, response = sign_in(client, sso, "ada@corp.example")  # the real ada, through the provider
    assert response.status_code == 302
    ada = ExternalIdentity.objects.get(subject="u-ada").user
    assert ada != attacker and not ada.has_usable_password()
    assert Membership.objects.get(organization=mappings.org_a, user=ada).roles == ["admin"]
    assert not Membership.objects.filter(user=attacker, organization=mappings.org_a).exists()
    # The attacker's claim to the address is gone: it can no longer be verified into a second owner.
    assert list(
        EmailAddress.objects.filter(email__iexact="ada@corp.example").values_list("user", "verified")
    ) == [(ada.pk, True)]


def test_linking_an_account_with_a_password_says_so_and_ends_its_other_sessions(client, sso, mappings):
    from django.test import Client

    from tests.conftest import PASSWORD

    elsewhere = Client()
    elsewhere.post("/accounts/login/", {"login": "carol@example.com", "password": PASSWORD})
    assert elsewhere.get("/o/org-b/").status_code == 200  # carol's (or someone's) password session

    _, response = sign_in(client, sso, "carol@example.com")
    page = client.get(response["Location"], follow=True).content.decode()
    assert "is now linked to the account carol@example.com, which also has a password" in page
    assert ExternalIdentity.objects.get(subject="u-carol").user == mappings.carol
    assert elsewhere.get("/o/org-b/")["Location"].startswith("/accounts/login/")  # signed out
    assert client.get("/o/org-b/").status_code == 200  # the new sign-in stays
    client.logout()
    sign_in(client, sso, "carol@example.com")  # already linked: no second notice
    assert "is now linked" not in client.get("/o/org-b/").content.decode()


def test_an_invitation_followed_before_single_sign_on_is_accepted_after_it(client, sso, mappings):
    from portal import services

    invitation = services.invitation_create(
        organization=mappings.org_b, email="cy@corp.example", roles=["analyst"], invited_by=mappings.carol,
        accept_url=str,
    )  # fmt: skip
    link = f"/invitations/{invitation.key}/"
    assert client.get(link)["Location"].startswith("/accounts/login/")
    response = client.get(f"/oidc/authenticate/?next={link}")
    callback = sso.sign_in(response["Location"], "cy@corp.example")  # cy's groups map to nothing
    response = client.get(callback.removeprefix("http://testserver"))
    assert response["Location"] == link  # not the "no access" page: the invitation is waiting
    assert client.post(link)["Location"] == "/o/org-b/"
    assert Membership.objects.get(user__email="cy@corp.example").roles == ["analyst"]
