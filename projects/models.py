"""Projects and the apps registered in them."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.urls import reverse

from portal.models import OrganizationOwned
from projects.choices import Environment, Platform
from projects.validators import (
    split_emails,
    validate_android_package,
    validate_app_id,
    validate_emails,
    validate_ios_bundle_id,
    validate_not_reserved,
    validate_project_id,
    validate_time_zone,
)


class Project(OrganizationOwned):
    """A product being measured; its id names its database, lake prefix and topic, so it never changes."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project_id = models.CharField(
        "project id",
        max_length=127,
        validators=[validate_project_id, validate_not_reserved],
        help_text="Lowercase letters, digits and underscores; starts with a letter. Cannot change later.",
    )
    name = models.CharField(max_length=255)
    description = models.TextField(max_length=1024, blank=True)
    emails = models.CharField(
        "notification emails",
        max_length=2000,
        validators=[validate_emails],
        help_text="Comma-separated addresses that receive alarm notifications.",
    )
    environment = models.CharField(max_length=10, choices=Environment.choices, blank=True)
    delete_requested = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When someone asked to delete the project; it goes once its pipeline's resources are gone.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "project_id"],
                name="project_unique_id_per_org",
                violation_error_message="A project with this id already exists in this organization.",
            ),
            models.CheckConstraint(
                condition=models.Q(project_id__regex=r"^[a-z][a-z0-9_]{0,126}$"),
                name="project_id_pattern",
                violation_error_message="The project id does not match its pattern.",
            ),
        ]

    def __str__(self) -> str:
        return self.project_id

    def get_absolute_url(self) -> str:
        return reverse("projects:project", kwargs={"org": self.organization.slug, "project": self.project_id})

    @property
    def deleting(self) -> bool:
        """Being deleted: its pipeline's resources go first, then it (with its apps). It takes no edits."""
        return self.delete_requested is not None

    @property
    def has_pipeline(self) -> bool:
        try:
            self.pipeline  # type: ignore[attr-defined]  # noqa: B018
        except ObjectDoesNotExist:
            return False
        return True

    @property
    def pipeline_status(self) -> str:
        """The pipeline column of project lists; the pipeline reports its own status once it has one."""
        try:
            pipeline = self.pipeline  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return "No pipeline"
        return str(getattr(pipeline, "status_label", "Configured"))

    @property
    def email_list(self) -> list[str]:
        return split_emails(self.emails)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.emails = ", ".join(split_emails(self.emails))
        super().save(*args, **kwargs)


class App(OrganizationOwned):
    """An application (web site, Android or iOS app…) whose SDK sends events to the project's pipeline."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="apps")
    app_id = models.CharField(
        "app id",
        max_length=127,
        validators=[validate_app_id, validate_not_reserved],
        help_text="Letters, digits and underscores; starts with a letter. Cannot change later.",
    )
    name = models.CharField(max_length=255)
    description = models.TextField(max_length=1024, blank=True)
    platforms = models.JSONField(default=list, blank=True, help_text="Web, Android, iOS…")
    android_package = models.CharField(
        max_length=255, blank=True, validators=[validate_android_package], help_text="e.g. com.example.shop"
    )
    ios_bundle_id = models.CharField(
        "iOS bundle id", max_length=255, blank=True, validators=[validate_ios_bundle_id]
    )
    timezone = models.CharField(
        "reporting time zone",
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Days in reports start at midnight in this zone. Cannot change once data has arrived.",
    )
    data_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When processed data first arrived for this app (set by the pipeline).",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "app_id"],
                name="app_unique_id_per_project",
                violation_error_message="An app with this id already exists in this project.",
            ),
            models.CheckConstraint(
                condition=models.Q(app_id__regex=r"^[a-zA-Z][a-zA-Z0-9_]{0,126}$"),
                name="app_id_pattern",
                violation_error_message="The app id does not match its pattern.",
            ),
        ]

    def __str__(self) -> str:
        return self.app_id

    @property
    def platform_labels(self) -> list[str]:
        """The platforms as people name them ("React Native", not "ReactNative")."""
        return [Platform(p).label for p in self.platforms or [] if p in Platform.values]

    def get_absolute_url(self) -> str:
        return reverse(
            "projects:app",
            kwargs={"org": self.organization.slug, "project": self.project.project_id, "app": self.app_id},
        )

    def clean(self) -> None:
        unknown = [p for p in self.platforms or [] if p not in Platform.values]
        if not isinstance(self.platforms, list) or unknown:
            raise ValidationError({"platforms": f"Choose platforms from {', '.join(Platform.values)}."})
        if self.project_id is not None and self.organization_id != self.project.organization_id:
            raise ValidationError({"project": "The project belongs to another organization."})
        if self.pk and self.data_since:
            old = App.objects.unscoped().filter(pk=self.pk).values_list("timezone", flat=True).first()
            if old is not None and old != self.timezone:
                raise ValidationError(
                    {"timezone": "The reporting time zone cannot change once data has arrived for this app."}
                )
