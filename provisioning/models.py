"""What the provider made of a pipeline: its resources as last recorded, and the last change asked of them.

Nothing here is the desired state — that is the pipeline's current version. These rows are what the
reconciler compares it with, and what the status function reads.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from portal.models import OrganizationOwned
from provisioning.choices import Action, DriftState, PipelineStatus, ResourceState, RunState, resource_badge

EVENTS_KEPT = 20


class Deployment(OrganizationOwned):
    """The last change asked of a pipeline's resources (the original's `lastAction` and execution)."""

    pipeline = models.OneToOneField("pipelines.Pipeline", on_delete=models.CASCADE, related_name="deployment")
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.CREATE)
    run_state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.RUNNING)
    reason = models.TextField(blank=True, help_text="Why the last run failed, if it did.")
    delete_data = models.BooleanField(
        default=False, help_text="Deleting also removes the lake and warehouse."
    )
    requested = models.DateTimeField(default=timezone.now, help_text="When the last change was asked for.")
    finished = models.DateTimeField(null=True, blank=True)

    class Meta(OrganizationOwned.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.action} of {self.pipeline_id}: {self.run_state}"


class PipelineResource(OrganizationOwned):
    """One resource of a pipeline (a stack on AWS, a step here) as the provider last recorded it.

    `inputs_hash` is the hash of the inputs last tried, `applied_hash` of the inputs that last succeeded: the
    reconciler acts on a resource only when the desired inputs' hash differs from what was tried, so
    applying the same version twice does nothing, and a failed one waits for a retry or a new version.
    """

    pipeline = models.ForeignKey("pipelines.Pipeline", on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0, help_text="Its place in the plan, for display.")
    depends_on = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=32, choices=ResourceState.choices, default=ResourceState.PENDING,
                             blank=True)  # fmt: skip
    reason = models.TextField(blank=True)
    inputs = models.JSONField(default=dict, blank=True, help_text="The inputs last tried.")
    inputs_hash = models.CharField(max_length=64, blank=True)
    applied_hash = models.CharField(max_length=64, blank=True)
    applied_version = models.PositiveIntegerField(default=0)
    template_version = models.CharField(max_length=64, blank=True)
    outputs = models.JSONField(default=dict, blank=True)
    events = models.JSONField(default=list, blank=True, help_text=f"The last {EVENTS_KEPT} events.")
    operation = models.JSONField(
        default=dict, blank=True,
        help_text="The provider's change in flight (on AWS: its change set, client token and what it waits for).",
    )  # fmt: skip
    drift = models.CharField(max_length=16, choices=DriftState.choices, default=DriftState.NOT_CHECKED,
                             blank=True, help_text="Whether it still matches what was applied (the refresh).")  # fmt: skip
    drift_reason = models.TextField(blank=True, help_text="What drifted, when it did.")
    drift_checked = models.DateTimeField(null=True, blank=True, help_text="When drift was last detected.")
    updated = models.DateTimeField(auto_now=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "name"],
                name="pipelineresource_unique_name",
                violation_error_message="The pipeline has a resource of this name already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state or 'pending'})"

    @property
    def badge(self) -> str:
        return resource_badge(self.state)

    @property
    def state_label(self) -> str:
        return self.state or "PENDING"

    @property
    def stack_outputs(self) -> list[tuple[str, Any]]:
        """The outputs to show (a stack's; the console link and id are shown apart)."""
        return sorted((k, v) for k, v in self.outputs.items() if k not in ("console", "StackId"))

    def add_event(self, message: str, **extra: Any) -> None:
        event = {
            "at": timezone.now().isoformat(timespec="seconds"),
            "state": self.state_label,
            "message": message,
        }
        self.events = [*self.events, {**event, **extra}][-EVENTS_KEPT:]


__all__ = ["Deployment", "PipelineResource", "PipelineStatus"]
