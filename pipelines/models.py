"""Data pipelines: one per project, a versioned desired spec (`pipelines.spec`) that providers make real."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from pipelines.choices import AlarmState, Provider, SubscriptionState
from portal.models import OrganizationOwned


class Pipeline(OrganizationOwned):
    """The data pipeline of one project. A project with a pipeline cannot be deleted before it.

    The pipeline row is the stable identity (its uuid names the stacks); what it should be lives in its
    versions, and `current_version` is the one providers make real.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # RESTRICT, not PROTECT: the project alone cannot go while its pipeline exists, but deleting the whole
    # organization (which cascades to both) is not blocked.
    project = models.OneToOneField("projects.Project", on_delete=models.RESTRICT, related_name="pipeline")
    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.LOCAL)
    current_version = models.ForeignKey(
        "PipelineVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    ingestion_endpoint = models.URLField(blank=True, help_text="Where the SDKs send events.")
    delete_requested = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When someone asked to delete the pipeline; the provider removes its resources, then it.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"pipeline of {self.project}"

    def get_absolute_url(self) -> str:
        return reverse(
            "pipelines:pipeline", kwargs={"org": self.organization.slug, "project": self.project.project_id}
        )

    @property
    def pipeline_id(self) -> str:
        """The id in stack names: 32 hex characters, as the original's pipelineId."""
        return self.uuid.hex

    @property
    def version_number(self) -> int:
        return self.current_version.number if self.current_version else 0

    @property
    def status_label(self) -> str:
        """The project list's pipeline column until the providers report a status of their own."""
        if self.delete_requested:
            return "Deletion requested"
        return f"{self.get_provider_display().split(' ')[0]} · version {self.version_number}"

    @property
    def spec(self) -> dict:
        return self.current_version.spec if self.current_version else {}


class PipelineVersion(OrganizationOwned):
    """One saved spec of a pipeline. Versions are never changed or deleted while the pipeline lives: the
    history page diffs them, and a provider can always tell what was asked for and by whom."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=500, blank=True, help_text="What changed, in a few words.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "number"],
                name="pipelineversion_unique_number",
                violation_error_message="This version number exists already: someone else saved first.",
            ),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="pipelineversion_number_positive"),
        ]

    def __str__(self) -> str:
        return f"version {self.number}"  # no lookup: the audit log names it while its pipeline goes

    def get_absolute_url(self) -> str:
        project = self.pipeline.project
        return reverse(
            "pipelines:version",
            kwargs={"org": self.organization.slug, "project": project.project_id, "number": self.number},
        )


class Alarm(OrganizationOwned):
    """A CloudWatch alarm of one of the pipeline's stacks, as the scheduled refresh last read it.

    Named by AWS (`Clickstream|<projectId> <Alarm>_<stackShortId>`); the refresh creates, updates and removes
    these rows. Only `actions_enabled` is changed from the portal, by EnableAlarmActions/DisableAlarmActions.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="alarms")
    name = models.CharField(max_length=255)
    arn = models.CharField("ARN", max_length=1600, blank=True)
    region = models.CharField(max_length=32)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=AlarmState.choices, default=AlarmState.INSUFFICIENT_DATA)
    reason = models.TextField(blank=True, help_text="CloudWatch's StateReason.")
    state_changed = models.DateTimeField(null=True, blank=True, help_text="When the state last changed.")
    actions_enabled = models.BooleanField(default=True, help_text="Whether it notifies the alarm topic.")
    refreshed = models.DateTimeField(default=timezone.now, help_text="When the refresh last read it.")

    class Meta(OrganizationOwned.Meta):
        ordering = ["pipeline", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "name"],
                name="alarm_unique_name_per_pipeline",
                violation_error_message="The pipeline has an alarm of this name already.",
            )
        ]

    def __str__(self) -> str:
        return self.short_name

    def get_absolute_url(self) -> str:
        return reverse("provisioning:alarm", kwargs={"org": self.organization.slug, "pk": self.uuid})

    @property
    def project(self) -> Any:
        return self.pipeline.project

    @property
    def short_name(self) -> str:
        """The name without `Clickstream|<projectId> `, as the original's table shows it."""
        head, _, rest = self.name.partition(" ")
        return rest if head.startswith("Clickstream|") and rest else self.name

    @property
    def badge(self) -> str:
        return AlarmState(self.state).badge if self.state in AlarmState.values else "secondary"

    @property
    def console_url(self) -> str:
        return f"{console_home(self.region)}/cloudwatch/home?region={self.region}#alarmsV2:alarm/" + quote(
            self.name, safe=""
        )


class AlarmSubscription(OrganizationOwned):
    """One e-mail address on the pipeline's alarm topic (SNS), as the notification sync last saw it."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="alarm_subscriptions")
    email = models.EmailField(max_length=320)
    state = models.CharField(max_length=20, choices=SubscriptionState.choices)
    arn = models.CharField("ARN", max_length=1600, blank=True, help_text="Empty while pending.")
    refreshed = models.DateTimeField(default=timezone.now)

    class Meta(OrganizationOwned.Meta):
        ordering = ["pipeline", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "email"],
                name="alarmsubscription_unique_email",
                violation_error_message="This address is on the pipeline's alarm topic already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.state})"

    @property
    def pending(self) -> bool:
        return self.state != SubscriptionState.CONFIRMED


def console_home(region: str) -> str:
    """The AWS console of the region's partition (China and GovCloud have their own)."""
    if region.startswith("cn-"):
        return "https://console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return f"https://{region}.console.aws.amazon.com"
