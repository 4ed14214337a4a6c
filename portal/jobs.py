"""Run background work as Job rows on django-q2: enqueue on commit, record status, progress and errors.

A job function has the signature `func(*, job: Job, **kwargs) -> dict` and returns its result. It may call
`job.add_log()` and `job.set_progress()` as it goes. Running the same job twice is safe: a job that is not
pending any more is left alone, so a redelivered task does nothing.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.tasks import async_task

from portal.choices import JobStatus
from portal.models import Job, Organization

logger = logging.getLogger(__name__)


class PermanentJobError(Exception):
    """A failure a person must act on (bad configuration, missing input): no retry will fix it."""


def job_enqueue(
    *,
    organization: Organization,
    kind: str,
    name: str,
    func: str,
    kwargs: dict[str, Any] | None = None,
    obj: models.Model | None = None,
) -> Job:
    """Record a pending job and hand it to the task queue once the surrounding transaction commits."""
    import_string(func)  # fail now, in the caller, if the function does not exist
    job = Job(organization=organization, kind=kind, name=name, func=func, kwargs=kwargs or {})
    if obj is not None:
        job.object = obj
    job.save()
    transaction.on_commit(lambda: async_task("portal.jobs.job_run", job.pk, task_name=f"job-{job.uuid}"))
    return job


def job_run(job_pk: int) -> None:
    """The django-q2 task: claim the pending job, run its function, record the outcome."""
    claimed = (
        Job.objects.unscoped()
        .filter(pk=job_pk, status=JobStatus.PENDING)
        .update(status=JobStatus.RUNNING, started=timezone.now())
    )
    if not claimed:
        logger.info("job %s is not pending any more; nothing to do", job_pk)
        return
    job = Job.objects.unscoped().get(pk=job_pk)
    try:
        result = import_string(job.func)(job=job, **job.kwargs)
    except Exception as exc:
        job.refresh_from_db(fields=["log", "progress", "step"])
        job.status = JobStatus.FAILED
        job.error = str(exc) or exc.__class__.__name__
        job.add_log(traceback.format_exc(limit=5), level="error")
    else:
        job.refresh_from_db(fields=["log", "step"])
        job.status = JobStatus.SUCCEEDED
        job.result = result or {}
        job.progress = 100
    job.finished = timezone.now()
    job.save(update_fields=["status", "error", "result", "progress", "finished"])
