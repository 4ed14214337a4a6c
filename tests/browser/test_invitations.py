"""A new admin invites a colleague, sees the invitation waiting on the members page, resends and revokes it;
the colleague signs up through the link and lands in the organization, with no organization of their own."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from portal import services
from portal.models import Invitation, Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "A-long-pass-123"


def sign_in(page: object, email: str) -> None:
    page.goto("/accounts/login/")  # type: ignore[attr-defined]
    page.fill("input[name=login]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def invitation_link() -> str:
    line = next(line for line in mail.outbox[-1].body.splitlines() if "/invitations/" in line)
    return line.split(": ", 1)[1]


def test_invite_see_resend_and_revoke_then_join_through_the_link(page, settings):
    settings.CLICKSTREAM_SIGNUP = "invite"
    services.user_bootstrap(email="olga@example.com", password=PASSWORD, org_slug="acme", roles=["admin"])
    sign_in(page, "olga@example.com")
    page.wait_for_url(re.compile(r"/o/acme/$"))
    page.goto("/o/acme/members/")
    page.click("text=Invite someone")
    page.fill("#id_email", "pat@example.com")
    page.check("input[value=analyst]")
    page.click("button[type=submit]:has-text('Create')")
    page.wait_for_url(re.compile(r"/o/acme/members/$"))
    row = page.locator("#invitations + div tr", has_text="pat@example.com")
    assert "Analyst" in row.text_content()
    first_link = invitation_link()

    row.locator("button:has-text('Resend')").click()
    page.wait_for_url(re.compile(r"/o/acme/members/$"))
    assert "again, with a new link" in page.text_content("body")
    second_link = invitation_link()
    assert second_link != first_link

    page.locator("#invitations + div tr", has_text="pat@example.com").locator("text=Revoke").click()
    page.click("button:has-text('Delete')")
    page.wait_for_url(re.compile(r"/o/acme/members/$"))
    assert "No invitation is waiting" in page.text_content("body")
    assert not Invitation.objects.unscoped().exists()

    services.invitation_create(
        organization=Membership.objects.get().organization,
        email="pat@example.com",
        roles=["analyst"],
        invited_by=None,
        accept_url=lambda inv: f"{page.url.split('/o/')[0]}/invitations/{inv.key}/",
    )
    page.click("a.nav-link:has-text('olga@example.com')")
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/accounts/login/$"))
    page.goto(invitation_link())
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    page.click("a:has-text('Sign up')")
    page.fill("input[name=email]", "pat@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/invitations/"))
    page.click("button:has-text('Accept and join')")
    page.wait_for_url(re.compile(r"/o/acme/$"))
    assert [m.organization.slug for m in Membership.objects.filter(user__email="pat@example.com")] == ["acme"]
