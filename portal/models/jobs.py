"""Background work: one Job row per run, with status, progress, log lines and a result."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone

from portal.choices import BADGE_COLOURS, JobStatus
from portal.models.scoping import OrganizationOwned

MAX_LOG_LINES = 1000


class Job(OrganizationOwned):
    """A run of background work (provisioning, an ETL run, a scan), shown with its progress in the UI."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=50, db_index=True, help_text="What sort of work, e.g. etl.local.")
    name = models.CharField(max_length=200)
    func = models.CharField(max_length=200, help_text="Dotted path of the function that does the work.")
    kwargs = models.JSONField(default=dict, blank=True)
    object_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.CharField(max_length=64, blank=True)
    object = GenericForeignKey("object_type", "object_id")
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    step = models.CharField(max_length=200, blank=True)
    log = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name

    @property
    def badge_colour(self) -> str:
        return BADGE_COLOURS[self.status]

    @property
    def duration_seconds(self) -> float | None:
        if self.started is None:
            return None
        return ((self.finished or timezone.now()) - self.started).total_seconds()

    @property
    def duration_text(self) -> str:
        seconds = self.duration_seconds
        if seconds is None:
            return "—"
        minutes, secs = divmod(int(seconds), 60)
        return f"{minutes} min {secs} s" if minutes else f"{seconds:.1f} s"

    @property
    def is_busy(self) -> bool:
        return self.status in JobStatus.busy()

    def get_absolute_url(self) -> str:
        return reverse("job", kwargs={"org": self.organization.slug, "pk": self.uuid})

    def add_log(self, message: str, *, level: str = "info") -> None:
        """Append a log line and save it at once, so the UI shows it while the job runs."""
        entry: dict[str, Any] = {"at": timezone.now().isoformat(), "level": level, "message": message}
        self.log = [*self.log, entry][-MAX_LOG_LINES:]
        self.save(update_fields=["log"])

    def set_progress(self, percent: int, step: str = "") -> None:
        self.progress = max(0, min(100, percent))
        self.step = step or self.step
        self.save(update_fields=["progress", "step"])
