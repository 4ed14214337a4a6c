"""Organizations (tenants), their members and the invitations that bring people in."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from portal.models.scoping import OrganizationOwned
from portal.roles import Role, roles_grant


def validate_roles(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Give at least one role.")
    unknown = [r for r in value if r not in Role.values]
    if unknown:
        raise ValidationError(
            f"Unknown role(s) {', '.join(map(str, unknown))}; choose from {', '.join(Role.values)}."
        )
    if len(set(value)) != len(value):
        raise ValidationError("A role is listed twice.")


class Organization(models.Model):
    """A tenant: it owns projects, pipelines and everything below them."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        help_text="Lowercase letters, digits and hyphens; used in URLs.",
        error_messages={"unique": "An organization with this slug already exists."},
    )
    require_mfa = models.BooleanField(
        "require two-factor authentication",
        default=False,
        help_text="Members who sign in with a password must set up an authenticator app before they can "
        "open this organization. Single sign-on users are covered by their identity provider.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class Membership(models.Model):
    """A user's place in an organization, with the roles they hold there (one or several)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    roles = models.JSONField(default=list, validators=[validate_roles])
    from_sso = models.BooleanField(
        "from single sign-on",
        default=False,
        help_text="Granted by the identity provider's groups and re-applied at every sign-in. A membership "
        "given in the portal (by an invitation) is left alone by single sign-on.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                name="membership_unique_user_per_org",
                violation_error_message="This person is already a member.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"

    def has_perm(self, perm: str) -> bool:
        return roles_grant(self.roles, perm)

    @property
    def role_labels(self) -> list[str]:
        return [Role(r).label for r in self.roles if r in Role.values]


INVITATION_LIFETIME = timedelta(days=7)


def _invitation_expiry() -> object:
    return timezone.now() + INVITATION_LIFETIME


class Invitation(OrganizationOwned):
    """An admin's invitation for an email address to join an organization with given roles."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe, editable=False)
    email = models.EmailField(max_length=254)
    roles = models.JSONField(default=list, validators=[validate_roles])
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(OrganizationOwned.Meta):
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.expires > timezone.now()

    @property
    def role_labels(self) -> list[str]:
        return [Role(r).label for r in self.roles if r in Role.values]

    def get_absolute_url(self) -> str:
        return reverse("members", kwargs={"org": self.organization.slug}) + "#invitations"
