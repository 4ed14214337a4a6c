"""Background work as Job rows on django-q2: a registry of job kinds, crash-safe runs, retries and cancel.

A job kind is registered once, where its function lives (a domain app's `tasks.py`, imported at start-up):

    @job_kind("etl.local", retries=2)
    def etl_run_local(*, job: Job, project_pk: int) -> dict: ...

and started with `job_enqueue(organization=…, kind="etl.local", name=…, kwargs=…, obj=project)`. A kind's
function has the signature `func(*, job: Job, **kwargs) -> dict | None`; it may call `job.add_log()`,
`job.set_progress()` and `job.check_in()` as it goes, and is stopped at such a call when the job is cancelled.

How a run survives crashes:
- at most one busy job of a kind per object (a partial unique index): a second enqueue returns the busy one;
- a worker claims a pending job with a conditional UPDATE, so two workers never both run it;
- while it runs, a heartbeat renews its lease; `job_sweep` (a django-q2 schedule, every minute) reclaims a
  job whose lease expired — its worker died — and retries it, or fails it with "worker lost";
- a transient error (throttling, timeouts, connection errors, `TransientJobError`) is retried after an
  exponential backoff with jitter, up to the kind's limit; `PermanentJobError` fails the job at once; either
  final failure calls the kind's failure hook so the object worked on can record it.
"""

from __future__ import annotations

import logging
import random
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from portal.choices import JobStatus, LogLevel
from portal.models import Job, Organization
from portal.models.jobs import JobCancelled, JobLost
from portal.roles import Perm

logger = logging.getLogger(__name__)

JobFunction = Callable[..., dict[str, Any] | None]
FailureHook = Callable[[Job, str], None]
SWEEP_SCHEDULE = "portal: reclaim jobs whose worker was lost"
WORKER_LOST = "worker lost"
CANCEL_PERMISSION = Perm.MANAGE_PROJECTS  # who may cancel a job (UI, API): those who may start the work

# AWS error codes that mean "slow down" or "try again", not "you asked for something wrong".
TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
    }
)


class PermanentJobError(Exception):
    """A failure a person must act on (bad configuration, missing input): no retry will fix it.

    Its message is shown as the job's error, so say what to do: "project shop has no apps: register one".
    """


class TransientJobError(Exception):
    """A failure that may pass by itself (a busy service, a lock held elsewhere): retry after a while."""


@dataclass(frozen=True)
class JobKind:
    """What the registry knows of a kind of work: its function, retry policy, lease and failure hook."""

    name: str
    func: JobFunction
    retries: int = 3
    backoff_base: float = 30.0
    backoff_cap: float = 900.0
    lease: int | None = None
    on_failure: FailureHook | None = None

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    @property
    def lease_seconds(self) -> int:
        return self.lease or settings.CLICKSTREAM_JOB_LEASE_SECONDS


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    retries: int = 3,
    backoff_base: float = 30.0,
    backoff_cap: float = 900.0,
    lease: int | None = None,
    on_failure: FailureHook | None = None,
) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function as the job kind `name`.

    `retries` is how many times a transient error is retried after the first attempt; `lease` (seconds)
    overrides `CLICKSTREAM_JOB_LEASE_SECONDS`; `on_failure(job, reason)` runs once when the job fails for
    good, so the object it works on can record why.
    """

    def register(func: JobFunction) -> JobFunction:
        existing = _KINDS.get(name)
        if existing is not None and existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"job kind {name!r} is already registered by {existing.func.__module__}")
        _KINDS[name] = JobKind(name, func, retries, backoff_base, backoff_cap, lease, on_failure)
        return func

    return register


def get_job_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(
            f"no job kind {name!r} is registered (is the app that defines it installed, "
            f"with the kind in its tasks.py?)"
        ) from None


def job_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


def retry_delay(*, attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retrying after the `attempt`-th failure: exponential, capped, with jitter.

    "Equal jitter": half the exponential delay is kept, the other half is random, so retries of many jobs
    throttled at once spread out but none comes back almost at once.
    """
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def is_transient(exc: BaseException) -> bool:
    """Whether an error may pass by itself: throttling, timeouts, dropped connections (or their cause)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(
            seen,
            TransientJobError | TimeoutError | ConnectionError | BotocoreConnectionError | HTTPClientError,
        ):
            return True
        if (
            isinstance(seen, ClientError)
            and seen.response.get("Error", {}).get("Code") in TRANSIENT_AWS_CODES
        ):
            return True
        seen = seen.__cause__
    return False


def job_enqueue(
    *,
    organization: Organization,
    kind: str,
    name: str,
    kwargs: dict[str, Any] | None = None,
    obj: models.Model | None = None,
) -> Job:
    """Record a pending job and hand it to the task queue once the surrounding transaction commits.

    If `obj` already has a pending or running job of this kind, that job is returned instead: the database
    refuses a second one (the partial unique index), so this holds across processes too.
    """
    spec = get_job_kind(kind)  # fail now, in the caller, if the kind does not exist
    for _ in range(3):
        job = Job(
            organization=organization,
            kind=kind,
            name=name,
            kwargs=kwargs or {},
            max_attempts=spec.max_attempts,
            lease_seconds=spec.lease_seconds,
        )
        if obj is not None:
            job.object = obj
        try:
            with transaction.atomic():
                job.save()
        except IntegrityError:
            if obj is None:
                raise
            busy = busy_job(kind=kind, obj=obj)
            if busy is None:
                continue  # the busy job settled meanwhile: try the insert again
            return busy
        _dispatch(job)
        return job
    raise RuntimeError(f"could not enqueue a {kind} job for {obj!r}: it kept conflicting")


def busy_job(*, kind: str, obj: models.Model) -> Job | None:
    return (
        Job.objects.unscoped()
        .filter(
            kind=kind,
            object_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            status__in=JobStatus.busy(),
        )
        .first()
    )


def _dispatch(job: Job) -> None:
    transaction.on_commit(
        lambda: async_task("portal.jobs.job_run", job.pk, task_name=f"job-{job.uuid}-{job.attempts + 1}")
    )


def job_cancel(*, job: Job) -> bool:
    """Cancel a pending job at once, or ask a running one to stop at its next check-in.

    Returns False if the job had already finished. A running job stays running (and busy) until its worker
    acknowledges, so a new run of the same work cannot start beside one still winding down.
    """
    now = timezone.now()
    rows = Job.objects.unscoped().filter(pk=job.pk)
    if rows.filter(status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, finished=now, next_try=None, cancel_requested=now
    ):
        job.add_log("cancelled before it started", level=LogLevel.WARNING)
    elif rows.filter(status=JobStatus.RUNNING, cancel_requested__isnull=True).update(cancel_requested=now):
        job.add_log("cancel requested; the job stops at its next check-in", level=LogLevel.WARNING)
    elif not rows.filter(status=JobStatus.RUNNING).exists():
        job.refresh_from_db()
        return False
    job.refresh_from_db()
    return True


def job_run(job_pk: int) -> None:
    """The django-q2 task: claim the job, run its kind's function with a heartbeat, record the outcome."""
    job = _claim(job_pk)
    if job is None:
        logger.info("job %s is not due or not pending; nothing to do", job_pk)
        return
    try:
        spec = get_job_kind(job.kind)
    except LookupError as exc:
        _fail(job, str(exc), spec=None)
        return
    if job.attempts > 1:
        job.add_log(f"attempt {job.attempts} of {job.max_attempts} started")
    heartbeat = _Heartbeat(job)
    heartbeat.start()
    try:
        result = spec.func(job=job, **job.kwargs)
    except JobCancelled:
        _settle(job, status=JobStatus.CANCELLED, message="stopped: the job was cancelled")
    except JobLost as exc:
        logger.warning("%s; this worker stops and records nothing", exc)
    except Exception as exc:
        _handle_error(job, exc, spec)
    else:
        _settle(job, status=JobStatus.SUCCEEDED, result=result or {}, progress=100, error="")
    finally:
        heartbeat.stop()


def _claim(job_pk: int) -> Job | None:
    now = timezone.now()
    lease = Job.objects.unscoped().filter(pk=job_pk).values_list("lease_seconds", flat=True).first()
    if lease is None:
        return None
    claimed = (
        Job.objects.unscoped()
        .filter(pk=job_pk, status=JobStatus.PENDING, cancel_requested__isnull=True)
        .filter(Q(next_try__isnull=True) | Q(next_try__lte=now))
        .update(
            status=JobStatus.RUNNING,
            attempts=F("attempts") + 1,
            started=now,
            next_try=None,
            lease_expires=now + timedelta(seconds=lease),
        )
    )
    return Job.objects.unscoped().get(pk=job_pk) if claimed else None


def _handle_error(job: Job, exc: Exception, spec: JobKind) -> None:
    reason = str(exc) or exc.__class__.__name__
    if isinstance(exc, PermanentJobError) or not is_transient(exc):
        if not isinstance(exc, PermanentJobError):
            job.add_log(traceback.format_exc(limit=5), level=LogLevel.ERROR)
        _fail(job, reason, spec=spec)
    elif job.attempts >= job.max_attempts:
        _fail(job, f"{reason} (gave up after {job.attempts} attempts)", spec=spec)
    else:
        delay = retry_delay(attempt=job.attempts, base=spec.backoff_base, cap=spec.backoff_cap)
        next_try = timezone.now() + timedelta(seconds=delay)
        _settle(
            job,
            status=JobStatus.PENDING,
            next_try=next_try,
            error=reason,
            level=LogLevel.WARNING,
            message=f"transient error: {reason}; retrying in {delay:.0f} s",
        )


def _fail(job: Job, reason: str, *, spec: JobKind | None) -> None:
    if _settle(job, status=JobStatus.FAILED, error=reason, level=LogLevel.ERROR, message=reason):
        _call_failure_hook(job, reason, spec)


def _settle(job: Job, *, status: str, message: str = "", level: str = LogLevel.INFO, **fields: Any) -> bool:
    """Record the attempt's outcome, but only while this attempt still holds the job (the fencing token)."""
    finished = None if status == JobStatus.PENDING else timezone.now()
    recorded = (
        Job.objects.unscoped()
        .filter(pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts)
        .update(status=status, finished=finished, lease_expires=None, **fields)
    )
    if not recorded:
        logger.warning("job %s attempt %s was reclaimed; its outcome is dropped", job.pk, job.attempts)
        return False
    if message:
        job.add_log(message, level=level)
    job.refresh_from_db()
    return True


def _call_failure_hook(job: Job, reason: str, spec: JobKind | None) -> None:
    if spec is None or spec.on_failure is None:
        return
    try:
        spec.on_failure(job, reason)
    except Exception:  # the job has failed either way; a broken hook must not hide why
        logger.exception("the failure hook of %s failed", job.kind)
        job.add_log(f"the failure hook failed: {traceback.format_exc(limit=3)}", level=LogLevel.ERROR)


class _Heartbeat(threading.Thread):
    """Renews the running job's lease every third of it, so a long step without progress calls keeps it.

    It only renews; stopping is the job's business at its next check-in. It runs on its own database
    connection and stops renewing once the job is no longer this attempt's.
    """

    def __init__(self, job: Job) -> None:
        super().__init__(name=f"heartbeat-{job.pk}", daemon=True)
        self.job_pk, self.attempts, self.lease = job.pk, job.attempts, job.lease_seconds
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(self.lease / 3):
                expires = timezone.now() + timedelta(seconds=self.lease)
                held = Job.objects.unscoped().filter(
                    pk=self.job_pk, status=JobStatus.RUNNING, attempts=self.attempts
                )
                try:
                    if not held.update(lease_expires=expires):
                        return
                except DatabaseError:  # a locked SQLite file, a dropped connection: try again next beat
                    logger.warning("heartbeat of job %s failed; retrying", self.job_pk, exc_info=True)
                    connection.close()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=5)


def job_sweep() -> dict[str, int]:
    """The scheduled sweeper: reclaim running jobs whose lease expired and dispatch retries that are due."""
    now = timezone.now()
    reclaimed = sum(
        _reclaim(job, now=now)
        for job in Job.objects.unscoped().filter(status=JobStatus.RUNNING, lease_expires__lt=now)
    )
    due = 0
    for job in Job.objects.unscoped().filter(status=JobStatus.PENDING, next_try__lte=now):
        # Clearing next_try is the dispatch's claim, so each retry is queued once however often we sweep.
        if (
            Job.objects.unscoped()
            .filter(pk=job.pk, status=JobStatus.PENDING, next_try=job.next_try)
            .update(next_try=None)
        ):
            _dispatch(job)
            due += 1
    return {"reclaimed": reclaimed, "dispatched": due}


def _reclaim(job: Job, *, now: datetime) -> bool:
    """Take a job back from a worker that stopped renewing its lease: retry it, or fail it."""
    held = Job.objects.unscoped().filter(
        pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts, lease_expires__lt=now
    )
    expired = (
        f"{WORKER_LOST}: attempt {job.attempts} stopped renewing its lease at {job.lease_expires:%H:%M:%S}"
    )
    if job.cancel_requested is not None:
        if not held.update(status=JobStatus.CANCELLED, finished=now, lease_expires=None):
            return False
        job.add_log(f"{expired}; it had been cancelled", level=LogLevel.WARNING)
    elif job.attempts < job.max_attempts:
        if not held.update(status=JobStatus.PENDING, lease_expires=None, next_try=None):
            return False
        job.add_log(f"{expired}; retrying", level=LogLevel.WARNING)
        _dispatch(job)
    else:
        if not held.update(status=JobStatus.FAILED, finished=now, lease_expires=None, error=WORKER_LOST):
            return False
        job.add_log(f"{expired}; no attempts left", level=LogLevel.ERROR)
        _call_failure_hook(job, WORKER_LOST, _KINDS.get(job.kind))
    return True


def job_sweeper_schedule_ensure() -> None:
    """Create (or correct) the every-minute schedule that runs `job_sweep`; safe to call any number of times."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": "portal.jobs.job_sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
