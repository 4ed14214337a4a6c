"""Background work: one Job row per run, with status, attempts, lease, progress, log lines and a result.

The row is the truth and the task queue only a nudge: a worker claims a job with a conditional UPDATE, holds
it by renewing a lease, and every write it makes is conditional on still holding that claim (the attempt
number is the fencing token). So a worker whose lease was taken away can neither keep running nor overwrite
what the next attempt records.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone

from portal.choices import BADGE_COLOURS, LOG_LEVEL_COLOURS, JobStatus, LogLevel
from portal.models.scoping import OrganizationOwned

SHOWN_LOG_LINES = 500


def default_lease_seconds() -> int:
    return settings.CLICKSTREAM_JOB_LEASE_SECONDS


class JobStopped(Exception):
    """Raised inside a job function when its worker must stop: the run is no longer this worker's."""


class JobCancelled(JobStopped):
    """Someone cancelled the job; the runner records it as cancelled."""


class JobLost(JobStopped):
    """The lease expired and the job was reclaimed (or removed): another attempt owns it now."""


class Job(OrganizationOwned):
    """A run of background work (provisioning, an ETL run, a scan), shown with its progress in the UI.

    `kind` names a registered job kind (`portal.jobs.job_kind`), which gives the function and its retry
    policy. At most one busy job of a kind exists per object: the partial unique constraint below, so two
    concurrent enqueues cannot both insert one.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(
        max_length=50, db_index=True, help_text="The registered job kind, e.g. etl.local."
    )
    name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict, blank=True)
    object_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.CharField(max_length=64, blank=True)
    object = GenericForeignKey("object_type", "object_id")
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts started so far.")
    max_attempts = models.PositiveSmallIntegerField(default=1, help_text="The kind's limit, set on enqueue.")
    next_try = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When a retry waiting after a transient error is due."
    )
    lease_seconds = models.PositiveIntegerField(default=default_lease_seconds)
    lease_expires = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="The running worker's claim lasts until then."
    )
    cancel_requested = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    step = models.CharField(max_length=200, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started = models.DateTimeField(null=True, blank=True, help_text="When the latest attempt started.")
    finished = models.DateTimeField(null=True, blank=True)

    class Meta(OrganizationOwned.Meta):
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id"],
                condition=models.Q(status__in=[JobStatus.PENDING, JobStatus.RUNNING]),
                name="portal_job_one_busy_per_object",
                violation_error_message="This object already has a job of this kind pending or running.",
            )
        ]

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
    def status_text(self) -> str:
        if self.is_cancelling:
            return f"{self.get_status_display()} (cancelling)"
        if self.status == JobStatus.PENDING and self.next_try is not None:
            return f"{self.get_status_display()} (retry {self.attempts + 1} waiting)"
        return self.get_status_display()

    @property
    def attempts_text(self) -> str:
        return f"{self.attempts} of {self.max_attempts}"

    @property
    def is_busy(self) -> bool:
        return self.status in JobStatus.busy()

    @property
    def is_cancelling(self) -> bool:
        return self.status == JobStatus.RUNNING and self.cancel_requested is not None

    @property
    def recent_log(self) -> list[JobLog]:
        """The latest log lines, oldest first."""
        return list(reversed(self.log_lines.order_by("-pk")[:SHOWN_LOG_LINES]))

    def get_absolute_url(self) -> str:
        return reverse("job", kwargs={"org": self.organization.slug, "pk": self.uuid})

    def add_log(self, message: str, *, level: str = LogLevel.INFO) -> None:
        """Append a log line as a row of its own, so concurrent writers never overwrite each other."""
        JobLog.objects.create(job=self, attempt=self.attempts, level=level, message=message)

    def set_progress(self, percent: int, step: str = "") -> None:
        """Record progress; it also renews the lease and is where a running job learns it must stop."""
        self.progress = max(0, min(100, percent))
        self.step = step or self.step
        self.check_in(progress=self.progress, step=self.step)

    def check_in(self, **fields: Any) -> None:
        """Renew the lease (writing `fields` with it), or raise `JobStopped` if this run must stop."""
        self.lease_expires = timezone.now() + timedelta(seconds=self.lease_seconds)
        held = Job.all_tenants.filter(
            pk=self.pk, status=JobStatus.RUNNING, attempts=self.attempts, cancel_requested__isnull=True
        )
        if not held.update(lease_expires=self.lease_expires, **fields):
            raise self.why_stopped()

    def why_stopped(self) -> JobStopped:
        current = Job.all_tenants.filter(pk=self.pk).values("status", "attempts", "cancel_requested").first()
        if current and current["attempts"] == self.attempts and current["cancel_requested"] is not None:
            return JobCancelled(f"job {self.uuid} was cancelled")
        return JobLost(f"job {self.uuid} attempt {self.attempts} lost its lease")


class JobLog(models.Model):
    """One log line of a job, with its level and the attempt that wrote it."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="log_lines")
    at = models.DateTimeField(default=timezone.now)
    attempt = models.PositiveSmallIntegerField(default=0)
    level = models.CharField(max_length=10, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.TextField()

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["job", "id"], name="portal_joblog_job_id")]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.level.upper()} {self.message[:80]}"

    @property
    def level_colour(self) -> str:
        return LOG_LEVEL_COLOURS[self.level]
