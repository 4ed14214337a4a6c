"""Single sign-on: which identity-provider groups give which roles, and who a provider's subject is here."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from portal.models.scoping import OrganizationOwned
from portal.models.tenancy import validate_roles


class GroupMapping(OrganizationOwned):
    """An identity-provider group whose members get `roles` in the organization, applied at every sign-in.

    Group names come from the deployment's one identity provider, a namespace no organization owns: an admin
    of one organization could otherwise map another's group and receive its people. So a mapping applies only
    once support staff have approved that the group belongs to this organization (`approved`, set in Django
    admin only); renaming the group withdraws the approval.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.CharField(
        max_length=255,
        help_text="The group name exactly as the identity provider sends it in the roles claim.",
    )
    roles = models.JSONField(default=list, validators=[validate_roles])
    approved = models.BooleanField(
        default=False,
        help_text="Support staff confirmed that this group's members belong to this organization. Until then "
        "the mapping gives nobody anything.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["group"]
        verbose_name = "group mapping"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "group"],
                name="groupmapping_unique_group_per_org",
                violation_error_message="This group is already mapped in this organization.",
            )
        ]

    def __str__(self) -> str:
        return self.group

    def get_absolute_url(self) -> str:
        return reverse("groupmapping_edit", kwargs={"org": self.organization.slug, "pk": self.uuid})


class ExternalIdentity(models.Model):
    """A user's account at the identity provider (issuer + subject), so a changed email never loses them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True, help_text="The groups received at the last sign-in.")
    created = models.DateTimeField(auto_now_add=True)
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issuer", "subject"]
        verbose_name = "external identity"
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"],
                name="externalidentity_unique_subject",
                violation_error_message="This identity is already linked to a user.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
