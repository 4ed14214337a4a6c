"""AWS accounts an organization connected: a role we assume there, guarded by an external id we generated."""

from __future__ import annotations

import re
import secrets
import uuid
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from portal.models.scoping import OrganizationOwned

ROLE_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):"
    r"role/(?P<path>(?:[\x21-\x7e]+/)?)(?P<name>[\w+=,.@-]{1,64})$"
)
validate_role_arn = RegexValidator(
    ROLE_ARN_PATTERN,
    "Give an IAM role ARN such as arn:aws:iam::123456789012:role/ClickstreamPortal "
    "(arn:aws-cn:… and arn:aws-us-gov:… work too).",
)


def new_external_id() -> str:
    """256 random bits: nobody can guess another connection's id and assume its role through us."""
    return secrets.token_urlsafe(32)


def default_region() -> str:
    return settings.CLICKSTREAM_AWS_REGION


@cache
def partition_regions(partition: str) -> frozenset[str]:
    import boto3

    return frozenset(boto3.Session().get_available_regions("cloudformation", partition_name=partition))


class AwsAccount(OrganizationOwned):
    """An AWS account an organization connected, by the role we assume there.

    The external id is generated per connection (not per organization, as DESIGN.md §4 first said): it is
    still unique to the tenant, which is what stops another tenant from pointing us at this role (the
    confused deputy), and it means that re-creating or rotating one connection never breaks another.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, help_text="How this account is shown in the portal.")
    role_arn = models.CharField(
        "role ARN",
        max_length=2048,
        validators=[validate_role_arn],
        help_text="The role the portal assumes in your account; our CloudFormation template creates it.",
    )
    region = models.CharField(
        max_length=32,
        default=default_region,
        help_text="The region the role's stack is created in and where the connection is tested.",
    )
    external_id = models.CharField(
        "external ID", max_length=64, unique=True, default=new_external_id, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    last_tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_message = models.TextField(blank=True, editable=False)

    class Meta(OrganizationOwned.Meta):
        ordering = ["name"]
        verbose_name = "AWS account"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="awsaccount_unique_name_per_org",
                violation_error_message="An AWS account with this name is already connected.",
            ),
            models.UniqueConstraint(
                fields=["organization", "role_arn"],
                name="awsaccount_unique_role_per_org",
                violation_error_message="This role is already connected.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("awsaccount", kwargs={"org": self.organization.slug, "pk": self.uuid})

    def _arn_part(self, group: str) -> str:
        match = ROLE_ARN_PATTERN.match(self.role_arn)
        return match.group(group) if match else ""

    @property
    def account_id(self) -> str:
        return self._arn_part("account")

    @property
    def partition(self) -> str:
        return self._arn_part("partition")

    @property
    def role_name(self) -> str:
        return self._arn_part("name")

    @property
    def role_path(self) -> str:
        return "/" + self._arn_part("path")

    def clean(self) -> None:
        super().clean()
        if self.partition and self.region not in partition_regions(self.partition):
            raise ValidationError(
                {"region": f"{self.region!r} is not a region of the {self.partition} partition of the role."}
            )
