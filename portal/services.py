"""Writes with side effects for tenancy, invitations and tokens."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from portal.models import ApiToken, Invitation, Membership, Organization
from portal.models.tenancy import INVITATION_LIFETIME, validate_roles
from portal.roles import Role


def unique_org_slug(name: str) -> str:
    base = slugify(name)[:40] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(*, name: str, owner: Any, slug: str = "") -> Organization:
    """A new organization with `owner` as its first admin."""
    organization = Organization(name=name, slug=slug or unique_org_slug(name))
    organization.full_clean()
    organization.save()
    Membership.objects.create(user=owner, organization=organization, roles=[Role.ADMIN])
    return organization


def membership_set(*, organization: Organization, user: Any, roles: list[str]) -> Membership:
    """Give `user` exactly `roles` in `organization`, creating the membership if needed."""
    validate_roles(roles)
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"roles": roles}
    )
    if not created and membership.roles != roles:
        membership.roles = roles
        membership.save()
    return membership


def last_admin_guard(*, membership: Membership, new_roles: list[str] | None) -> None:
    """An organization always keeps at least one admin."""
    if Role.ADMIN not in membership.roles or (new_roles is not None and Role.ADMIN in new_roles):
        return
    admins = Membership.objects.filter(organization=membership.organization, roles__icontains='"admin"')
    if admins.exclude(pk=membership.pk).count() == 0:
        raise ValidationError("This is the organization's last admin; make someone else an admin first.")


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, roles: list[str], invited_by: Any, accept_url: Any
) -> Invitation:
    """Record the invitation and email its link; `accept_url(invitation)` builds the absolute link.

    Inviting an address again replaces its open invitation (the old link stops working), so an address has
    one set of roles waiting for it, not several links that each grant something else.
    """
    invitation = Invitation(
        organization=organization, email=email.strip().lower(), roles=roles, invited_by=invited_by
    )
    invitation.full_clean()
    if Membership.objects.filter(organization=organization, user__email__iexact=invitation.email).exists():
        raise ValidationError({"email": "This person is already a member."})
    Invitation.objects.for_organization(organization).filter(
        email__iexact=invitation.email, accepted_at=None
    ).delete()
    invitation.save()
    transaction.on_commit(lambda: invitation_send(invitation=invitation, accept_url=accept_url))
    return invitation


@transaction.atomic
def invitation_resend(*, invitation: Invitation, accept_url: Any) -> Invitation:
    """Send an open invitation again with a fresh link and a fresh week; the old link stops working."""
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation was already accepted.")
    invitation.key = secrets.token_urlsafe()
    invitation.expires = timezone.now() + INVITATION_LIFETIME
    invitation.save(update_fields=["key", "expires"])
    transaction.on_commit(lambda: invitation_send(invitation=invitation, accept_url=accept_url))
    return invitation


def invitation_send(*, invitation: Invitation, accept_url: Any) -> None:
    organization, roles = invitation.organization, invitation.roles
    inviter = invitation.invited_by.email if invitation.invited_by else "An administrator"
    send_mail(
        subject=f"You are invited to {organization.name} on Clickstream",
        message=(
            f"{inviter} invited you to join {organization.name} on Clickstream "
            f"as {', '.join(Role(r).label for r in roles)}.\n\nAccept the invitation: {accept_url(invitation)}\n\n"
            f"The link works until {invitation.expires:%Y-%m-%d %H:%M} UTC."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: Any) -> Membership:
    """Make `user` a member, if they own the invited address.

    The address must be one of the user's addresses (allauth's EmailAddress, not merely the account's email
    field), verified, and verified by nobody else. Following the link proves the address as a confirmation
    link would (the link was sent to it), so an unverified address of the user's own is verified here.
    """
    from allauth.account.models import EmailAddress

    if not invitation.is_usable:
        raise ValidationError("This invitation has expired or was already used; ask an admin for a new one.")
    address = EmailAddress.objects.filter(user=user, email__iexact=invitation.email).first()
    taken = EmailAddress.objects.filter(email__iexact=invitation.email, verified=True).exclude(user=user)
    if address is None or (not address.verified and taken.exists()):
        raise ValidationError(
            f"This invitation is for {invitation.email}; sign in with that address to accept it."
        )
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    existing = Membership.objects.filter(organization=invitation.organization, user=user).first()
    roles = sorted(set(invitation.roles) | set(existing.roles if existing else []), key=Role.values.index)
    membership = membership_set(organization=invitation.organization, user=user, roles=roles)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def membership_tokens_delete(*, membership: Membership) -> int:
    """A member's API tokens for the organization go with the membership (connected to its post_delete).

    The API already refuses a token whose holder is no longer a member, but a token left behind would come
    back to life if the person were ever added again, with whatever roles they then get.
    """
    deleted, _ = (
        ApiToken.objects.for_organization(membership.organization).filter(user=membership.user).delete()
    )
    return deleted


def _membership_deleted(sender: Any, instance: Membership, **kwargs: Any) -> None:
    membership_tokens_delete(membership=instance)


def connect_signals() -> None:
    from django.db.models.signals import post_delete

    post_delete.connect(_membership_deleted, sender=Membership, dispatch_uid="membership_tokens_delete")


def api_token_create(
    *,
    organization: Organization,
    user: Any,
    name: str,
    read_only: bool = True,
    expires: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for a member and return it with its secret, which is never stored or shown again."""
    if not Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError("Only members of the organization can hold its tokens.")
    token = ApiToken(organization=organization, user=user, name=name, read_only=read_only, expires=expires)
    raw = token.set_new_secret()
    token.full_clean()
    token.save()
    return token, raw


@transaction.atomic
def user_bootstrap(
    *, email: str, password: str | None, org_slug: str, roles: list[str]
) -> tuple[Any, Organization]:
    """Create what is missing (user, organization, membership) — used by `createuser` and `make run`."""
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        user = user_model(username=email[:150], email=email)
        user.set_password(password) if password else user.set_unusable_password()
        user.full_clean()
        user.save()
        _mark_email_verified(user)
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    organization = Organization.objects.filter(slug=org_slug).first()
    if organization is None:
        organization = Organization(name=org_slug, slug=org_slug)
        organization.full_clean()
        organization.save()
    membership_set(organization=organization, user=user, roles=roles)
    return user, organization


def _mark_email_verified(user: Any) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
