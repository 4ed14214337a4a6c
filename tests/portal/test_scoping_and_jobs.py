from __future__ import annotations

import pytest

from portal.choices import JobStatus
from portal.jobs import job_enqueue, job_kind, job_run
from portal.models import Job, UnscopedQueryError
from projects.models import Project


@pytest.mark.django_db
def test_scoped_manager_fails_closed(cast):
    with pytest.raises(UnscopedQueryError):
        list(Project.objects.all())
    with pytest.raises(UnscopedQueryError):
        Project.objects.filter(project_id="shop")
    assert list(Project.objects.for_organization(cast.org_a)) == [cast.project_a]
    assert Project.objects.unscoped().count() == 2


@job_kind("test.count")
def count_to(*, job: Job, n: int) -> dict[str, int]:
    for i in range(n):
        job.set_progress(int(100 * (i + 1) / n), step=f"step {i + 1}")
    job.add_log("counted")
    return {"counted": n}


@job_kind("test.explode")
def explode(*, job: Job) -> None:
    raise ValueError("the input folder does not exist")


@pytest.mark.django_db
def test_job_records_progress_log_and_result(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the ORM broker runs tasks inline in tests
        job = job_enqueue(organization=cast.org_a, kind="test.count", name="count", kwargs={"n": 3})
    job.refresh_from_db()
    assert (job.status, job.progress, job.step, job.result) == (
        JobStatus.SUCCEEDED,
        100,
        "step 3",
        {"counted": 3},
    )
    assert job.log_lines.last().message == "counted" and job.finished >= job.started
    assert (job.attempts, job.lease_expires) == (1, None)


@pytest.mark.django_db
def test_failed_job_keeps_the_reason_and_is_not_run_twice(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(organization=cast.org_a, kind="test.explode", name="boom")
    job.refresh_from_db()
    # A ValueError is not transient: no retry, although the kind allows three.
    assert job.status == JobStatus.FAILED and job.error == "the input folder does not exist"
    assert (job.attempts, job.max_attempts) == (1, 4)
    job_run(job.pk)  # a redelivered task finds the job settled and does nothing
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert job.log_lines.filter(level="error", message__contains="Traceback").count() == 1


@pytest.mark.django_db
def test_enqueue_refuses_an_unknown_kind(cast):
    with pytest.raises(LookupError, match=r"no job kind 'portal\.nope'"):
        job_enqueue(organization=cast.org_a, kind="portal.nope", name="x")
