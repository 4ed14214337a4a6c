"""Custom dashboards with saved analyses, and the metadata catalog of each app's events and attributes."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.urls import reverse

from analytics.choices import ATTRIBUTE_CATEGORIES, AttributeKind, ValueType
from portal.models import OrganizationOwned


class CustomDashboard(OrganizationOwned):
    """A named board of saved explorations for one app (spec §3.7: name, description, sheets of visuals)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    app = models.ForeignKey("projects.App", on_delete=models.CASCADE, related_name="dashboards")
    name = models.CharField(max_length=255)
    description = models.TextField(max_length=1024, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "name"],
                name="dashboard_unique_name_per_app",
                violation_error_message="A dashboard with this name already exists for this app.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def validate_constraints(self, exclude: Any = None) -> None:
        """The per-app name clash is reported on the name (the portal's helper knows project parents only)."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict({})
            if NON_FIELD_ERRORS in errors and "name" not in errors:
                errors["name"] = errors.pop(NON_FIELD_ERRORS)
            raise ValidationError(errors) from None

    def get_absolute_url(self) -> str:
        return reverse("analytics:customdashboard_detail", kwargs={
            "org": self.organization.slug, "project": self.app.project.project_id, "app": self.app.app_id,
            "pk": self.uuid,
        })  # fmt: skip


class SavedAnalysis(OrganizationOwned):
    """An exploration saved to a custom dashboard: its spec (the API's JSON) is run again on every view."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dashboard = models.ForeignKey(CustomDashboard, on_delete=models.CASCADE, related_name="analyses")
    title = models.CharField(max_length=255)
    spec = models.JSONField(help_text="The explore query, as sent to the explore API.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["created"]
        verbose_name_plural = "saved analyses"

    def __str__(self) -> str:
        return self.title


class EventMetadata(OrganizationOwned):
    """One event name seen in an app, from the scan after each load; display name and description are ours."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    app = models.ForeignKey("projects.App", on_delete=models.CASCADE, related_name="event_metadata")
    name = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    description = models.TextField(max_length=1024, blank=True)
    count = models.BigIntegerField(default=0)
    platforms = models.JSONField(default=list, blank=True)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    scanned = models.DateTimeField(null=True, blank=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["name"]
        verbose_name_plural = "event metadata"
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="event_metadata_unique_name")]

    def __str__(self) -> str:
        return self.display_name or self.name

    @property
    def is_preset(self) -> bool:
        return self.name.startswith("_")


class AttributeMetadata(OrganizationOwned):
    """An event parameter or user attribute seen in an app: its type, count, top values, platforms."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    app = models.ForeignKey("projects.App", on_delete=models.CASCADE, related_name="attribute_metadata")
    kind = models.CharField(max_length=20, choices=AttributeKind.choices)
    name = models.CharField(max_length=255)
    value_type = models.CharField(max_length=10, choices=ValueType.choices, default=ValueType.STRING)
    display_name = models.CharField(max_length=255, blank=True)
    description = models.TextField(max_length=1024, blank=True)
    count = models.BigIntegerField(default=0)
    top_values = models.JSONField(
        default=list, blank=True, help_text="[[value, count], …], most frequent first."
    )
    platforms = models.JSONField(default=list, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Events that carry this parameter.")
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    scanned = models.DateTimeField(null=True, blank=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["kind", "name"]
        verbose_name_plural = "attribute metadata"
        constraints = [
            models.UniqueConstraint(fields=["app", "kind", "name"], name="attribute_metadata_unique")
        ]

    def __str__(self) -> str:
        return self.display_name or f"[{self.get_kind_display()}] {self.name}"

    @property
    def category(self) -> str:
        """The explore condition category this attribute is filtered with (spec §3.1)."""
        return ATTRIBUTE_CATEGORIES[AttributeKind(self.kind)]
