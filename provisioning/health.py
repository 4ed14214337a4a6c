"""The local processing part of the health report: the latest processing run on this machine."""

from __future__ import annotations

from django.utils import timezone

from portal.choices import JobStatus
from portal.health import DEGRADED, OK, PartState
from portal.models import Job

PROCESSING_KIND = "etl.local"  # etl.tasks.JOB_KIND, named here so provisioning need not import the runner


def processing_check() -> PartState:
    """Ok before the first run and while the latest settled run succeeded; the public sentence says when,
    never whose."""
    latest = Job.objects.unscoped().filter(kind=PROCESSING_KIND).order_by("-created").first()
    if latest is None:
        return PartState(OK, "no processing run yet")
    busy = Job.objects.unscoped().filter(kind=PROCESSING_KIND, status__in=JobStatus.busy()).count()
    settled = (
        Job.objects.unscoped()
        .filter(kind=PROCESSING_KIND, status__in=JobStatus.settled())
        .order_by("-finished")
        .select_related("organization")
        .first()
    )
    staff: dict[str, object] = {"running_or_pending": busy}
    if settled is None:
        return PartState(OK, f"{busy} run{'s' * (busy != 1)} pending or running, none finished yet", staff)
    ago = timezone.now() - (settled.finished or settled.created)
    when = f"{int(ago.total_seconds() // 60)} min ago" if ago.total_seconds() >= 60 else "just now"
    staff |= {"organization": settled.organization.slug, "job": str(settled.uuid), "error": settled.error}
    state = OK if settled.status == JobStatus.SUCCEEDED else DEGRADED
    return PartState(state, f"the latest run {settled.get_status_display().lower()} {when}", staff)
