"""How a job runs: retries with backoff, permanent errors and the failure hook, cancel, the sweeper and the
fencing of a stale attempt. Tasks run inline here (`Q_CLUSTER["sync"]`); the crash test uses a real worker."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from portal.choices import JobStatus
from portal.jobs import (
    SWEEP_SCHEDULE,
    TransientJobError,
    get_job_kind,
    is_transient,
    job_cancel,
    job_enqueue,
    job_kind,
    job_run,
    job_sweep,
    retry_delay,
)
from portal.models import Job
from portal.settings.env import env_int
from tests.portal import job_kinds  # noqa: F401  registers the test kinds


def enqueue(cast, kind: str, capture, **kwargs) -> Job:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        job = job_enqueue(organization=cast.org_a, kind=kind, name=kind, kwargs=kwargs, obj=cast.project_a)
    job.refresh_from_db()
    return job


def come_due(job: Job) -> None:
    """Let the retry's wait pass: its next try moves into the past."""
    Job.objects.unscoped().filter(pk=job.pk).update(next_try=timezone.now() - timedelta(seconds=1))


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap():
    def delays(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [retry_delay(attempt=a, base=30, cap=900, rng=rng) for a in range(1, 8)]

    for attempt, delay in enumerate(delays(7), start=1):
        ceiling = min(900, 30 * 2 ** (attempt - 1))  # 30, 60, 120 … then capped at 900
        assert ceiling / 2 <= delay <= ceiling, (attempt, delay)
    assert [round(d, 2) for d in delays(7)] == [19.86, 34.53, 99.06, 128.69, 368.61, 614.56, 476.1]
    # Jitter spreads jobs throttled together: ten of them do not all come back at the same second.
    assert len({round(retry_delay(attempt=3, base=30, cap=900, rng=random.Random(s))) for s in range(10)}) > 5


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ClientError({"Error": {"Code": "Throttling"}}, "DescribeStacks"), True),
        (ClientError({"Error": {"Code": "ThrottlingException"}}, "StartJobRun"), True),
        (ClientError({"Error": {"Code": "RequestLimitExceeded"}}, "RunInstances"), True),
        (ClientError({"Error": {"Code": "AccessDenied"}}, "AssumeRole"), False),
        (ClientError({"Error": {"Code": "ValidationError"}}, "CreateStack"), False),
        (EndpointConnectionError(endpoint_url="https://sts.amazonaws.com"), True),
        (ReadTimeoutError(endpoint_url="https://sts.amazonaws.com"), True),
        (ConnectionResetError("reset by peer"), True),
        (TimeoutError(), True),
        (TransientJobError("locked"), True),
        (ValueError("bad input"), False),
        (KeyError("app_ids"), False),
    ],
)
def test_transient_errors_are_told_apart(error, transient):
    assert is_transient(error) is transient


def test_a_wrapped_transient_error_is_transient():
    try:
        try:
            raise TimeoutError("read timed out")
        except TimeoutError as exc:
            raise RuntimeError("refreshing the stack failed") from exc
    except RuntimeError as wrapped:
        assert is_transient(wrapped)


def test_a_kind_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        job_kind("test.steps")(lambda *, job: None)
    assert get_job_kind("test.flaky").max_attempts == 3


@pytest.mark.django_db
@pytest.mark.parametrize("error", ["throttling", "endpoint", "timeout", "transient"])
def test_a_transient_error_is_retried_after_a_backoff(cast, django_capture_on_commit_callbacks, error):
    before = timezone.now()
    job = enqueue(cast, "test.flaky", django_capture_on_commit_callbacks, failures=2, error=error)
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.PENDING, 1, 3)
    assert before + timedelta(seconds=5) <= job.next_try <= timezone.now() + timedelta(seconds=10)
    assert job.error and job.finished is None

    job_run(job.pk)  # a task delivered before the retry is due does nothing
    assert Job.objects.unscoped().get(pk=job.pk).attempts == 1

    for attempt in (2, 3):
        come_due(job)
        with django_capture_on_commit_callbacks(execute=True):
            assert job_sweep() == {"reclaimed": 0, "dispatched": 1}
        job.refresh_from_db()
        assert job.attempts == attempt
    assert job.status == JobStatus.SUCCEEDED and job.result == {"succeeded_on_attempt": 3}
    assert job.error == "" and job.next_try is None
    warnings = job.log_lines.filter(level="warning", message__startswith="transient error")
    assert [line.attempt for line in warnings] == [1, 2]


@pytest.mark.django_db
def test_retries_stop_at_the_kinds_limit_and_the_hook_records_it(cast, django_capture_on_commit_callbacks):
    job = enqueue(cast, "test.flaky", django_capture_on_commit_callbacks, failures=9, error="throttling")
    for _ in range(2):
        come_due(job)
        with django_capture_on_commit_callbacks(execute=True):
            job_sweep()
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert "Rate exceeded" in job.error and "gave up after 3 attempts" in job.error
    cast.project_a.refresh_from_db()
    assert cast.project_a.description == f"last run failed: {job.error}"


@pytest.mark.django_db
def test_a_permanent_error_fails_at_once_and_calls_the_hook(cast, django_capture_on_commit_callbacks):
    job = enqueue(cast, "test.permanent", django_capture_on_commit_callbacks)
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.FAILED, 1, 4)
    assert job.error == "the bucket clickstream-lake does not exist: create it or choose another"
    assert job.next_try is None and job.finished is not None
    cast.project_a.refresh_from_db()
    assert cast.project_a.description == f"last run failed: {job.error}"


@pytest.mark.django_db
def test_cancel_a_pending_job_and_it_never_runs(cast):
    job = job_enqueue(organization=cast.org_a, kind="test.steps", name="x", kwargs={"n": 1, "pause": 0})
    assert job_cancel(job=job) and job.status == JobStatus.CANCELLED
    job_run(job.pk)  # the queued task arrives afterwards
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.CANCELLED, 0)
    assert not job_cancel(job=job)  # settled: nothing to cancel


@pytest.mark.django_db
def test_a_running_job_stops_at_its_next_progress_call_once_cancelled(
    cast, django_capture_on_commit_callbacks
):
    job = enqueue(cast, "test.cancelled_midway", django_capture_on_commit_callbacks, cancel_at=3)
    assert job.status == JobStatus.CANCELLED and job.finished is not None
    assert job.step == "step 2" and job.result == {}
    messages = list(job.log_lines.values_list("message", flat=True))
    assert messages[-1] == "stopped: the job was cancelled" and "step 3" not in messages


@pytest.mark.django_db
def test_a_cancelled_job_whose_worker_died_is_settled_as_cancelled(cast):
    job = job_enqueue(organization=cast.org_a, kind="test.steps", name="x", kwargs={"n": 1, "pause": 0})
    Job.objects.unscoped().filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=1, lease_expires=timezone.now() + timedelta(seconds=30)
    )
    assert job_cancel(job=job) and job.is_cancelling  # running: it is asked, not stopped
    Job.objects.unscoped().filter(pk=job.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
    assert job_sweep()["reclaimed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


@pytest.mark.django_db
def test_the_sweeper_fails_a_lost_job_without_attempts_left(cast):
    job = job_enqueue(
        organization=cast.org_a, kind="test.steps", name="x", kwargs={"n": 1, "pause": 0}, obj=cast.project_a
    )
    Job.objects.unscoped().filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=2, lease_expires=timezone.now() - timedelta(seconds=1)
    )
    assert job_sweep()["reclaimed"] == 1
    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "worker lost")
    cast.project_a.refresh_from_db()
    assert cast.project_a.description == "last run failed: worker lost"
    assert job_sweep() == {"reclaimed": 0, "dispatched": 0}  # settled jobs are left alone


@pytest.mark.django_db
def test_a_stale_attempt_stops_and_records_nothing(cast, django_capture_on_commit_callbacks):
    """The fencing token: attempt 1 stalls past its lease, is reclaimed, and then wakes up."""
    job = job_enqueue(organization=cast.org_a, kind="test.stalls_once", name="x")
    job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.progress, job.result) == (JobStatus.PENDING, 1, 0, {})
    messages = list(job.log_lines.values_list("message", flat=True))
    assert any(m.startswith("worker lost: attempt 1") for m in messages)
    assert "the stale attempt carried on" not in messages
    job_run(job.pk)  # the sweeper's dispatch of attempt 2
    job.refresh_from_db()
    assert (job.status, job.attempts, job.result) == (JobStatus.SUCCEEDED, 2, {"attempt": 2})


@pytest.mark.django_db
def test_enqueue_for_a_busy_object_returns_the_busy_job(cast):
    from etl.tasks import etl_run_enqueue

    first = etl_run_enqueue(project=cast.project_a)
    assert etl_run_enqueue(project=cast.project_a) == first
    assert Job.objects.for_organization(cast.org_a).filter(kind="etl.local").count() == 1
    assert etl_run_enqueue(project=cast.project_b) != first  # another object: its own job
    job_cancel(job=first)
    assert etl_run_enqueue(project=cast.project_a) != first  # once settled, a new run may start


@pytest.mark.django_db
def test_the_sweeper_schedule_is_created_once_by_migrate_and_runs_the_sweep(cast):
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    schedule = Schedule.objects.get(name=SWEEP_SCHEDULE)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("portal.jobs.job_sweep", "I", 1)

    job = job_enqueue(organization=cast.org_a, kind="test.steps", name="x", kwargs={"n": 1, "pause": 0})
    Job.objects.unscoped().filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=2, lease_expires=timezone.now() - timedelta(seconds=1)
    )
    Schedule.objects.filter(pk=schedule.pk).update(next_run=timezone.now() - timedelta(seconds=1))
    scheduler()  # django-q2's own scheduler loop, as the cluster calls it (inline here)
    job.refresh_from_db()
    assert (job.status, job.error) == (JobStatus.FAILED, "worker lost")


@pytest.mark.django_db
def test_the_lease_comes_from_the_setting_unless_the_kind_sets_its_own(cast, settings):
    settings.CLICKSTREAM_JOB_LEASE_SECONDS = 17
    job = job_enqueue(
        organization=cast.org_a, kind="test.flaky", name="x", kwargs={"failures": 0, "error": ""}
    )
    assert job.lease_seconds == 17 and get_job_kind("test.steps").lease_seconds == 3


@pytest.mark.parametrize(("raw", "message"), [("2", "at least 3, not 2"), ("soon", "an integer, not 'soon'")])
def test_a_bad_lease_setting_stops_start_up(monkeypatch, raw, message):
    monkeypatch.setenv("CLICKSTREAM_JOB_LEASE_SECONDS", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_int("CLICKSTREAM_JOB_LEASE_SECONDS", 60, minimum=3)
