"""Job kinds that exist only for the tests: imported by the test modules, and by the worker subprocess the
crash test starts (through `worker_settings`)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError
from django.utils import timezone

from portal.jobs import PermanentJobError, TransientJobError, job_kind
from portal.models import Job
from projects.models import Project


def record_failure_on_project(job: Job, reason: str) -> None:
    """The failure hook: the object the job works on records why (here, in the project's description)."""
    Project.objects.unscoped().filter(pk=job.object_id).update(description=f"last run failed: {reason}")


@job_kind("test.steps", retries=1, lease=3, on_failure=record_failure_on_project)
def steps(*, job: Job, n: int, pause: float) -> dict[str, Any]:
    """Takes `n` steps of `pause` seconds each, reporting progress (its heartbeat) after each."""
    for i in range(n):
        time.sleep(pause)
        job.set_progress(int(100 * (i + 1) / n), step=f"step {i + 1} of {n}")
        job.add_log(f"step {i + 1}")
    job.add_log("finished")
    return {"finished_by_attempt": job.attempts}


def transient_error(name: str) -> Exception:
    if name == "throttling":
        return ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks")
    if name == "endpoint":
        return EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com")
    if name == "timeout":
        return TimeoutError("read timed out")
    return TransientJobError("the lake is locked by another run")


@job_kind("test.flaky", retries=2, backoff_base=10, backoff_cap=60, on_failure=record_failure_on_project)
def flaky(*, job: Job, failures: int, error: str) -> dict[str, Any]:
    """Fails with a transient `error` on its first `failures` attempts, then succeeds."""
    if job.attempts <= failures:
        raise transient_error(error)
    return {"succeeded_on_attempt": job.attempts}


@job_kind("test.permanent", retries=3, on_failure=record_failure_on_project)
def permanent(*, job: Job) -> None:
    raise PermanentJobError("the bucket clickstream-lake does not exist: create it or choose another")


@job_kind("test.silent", lease=3)
def silent(*, job: Job, seconds: float) -> dict[str, Any]:
    """A long step that reports nothing: only the heartbeat keeps its lease."""
    time.sleep(seconds)
    return {"slept": seconds}


@job_kind("test.cancelled_midway")
def cancelled_midway(*, job: Job, cancel_at: int) -> dict[str, Any]:
    """Someone cancels the job while it runs (here the job itself, at step `cancel_at`); it stops at the next
    progress call."""
    from portal.jobs import job_cancel

    for i in range(10):
        if i == cancel_at:
            job_cancel(job=Job.objects.unscoped().get(pk=job.pk))
        job.set_progress(i * 10, step=f"step {i}")
        job.add_log(f"step {i}")
    return {"steps": 10}


@job_kind("test.stalls_once")
def stalls_once(*, job: Job) -> dict[str, Any]:
    """On its first attempt the worker stalls past its lease and the sweeper reclaims the job: the stale
    attempt must stop at its next check-in and record nothing."""
    from portal.jobs import job_sweep

    if job.attempts == 1:
        Job.objects.unscoped().filter(pk=job.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
        job_sweep()
        job.set_progress(50, "after the stall")
        job.add_log("the stale attempt carried on")  # never reached
    return {"attempt": job.attempts}
