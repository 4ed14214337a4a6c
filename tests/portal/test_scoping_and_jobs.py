from __future__ import annotations

import pytest

from portal.choices import JobStatus
from portal.jobs import job_enqueue, job_run
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


def count_to(*, job: Job, n: int) -> dict[str, int]:
    for i in range(n):
        job.set_progress(int(100 * (i + 1) / n), step=f"step {i + 1}")
    job.add_log("counted")
    return {"counted": n}


def explode(*, job: Job) -> None:
    raise ValueError("the input folder does not exist")


@pytest.mark.django_db
def test_job_records_progress_log_and_result(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the ORM broker runs tasks inline in tests
        job = job_enqueue(
            organization=cast.org_a, kind="test", name="count", func=f"{__name__}.count_to", kwargs={"n": 3}
        )
    job.refresh_from_db()
    assert (job.status, job.progress, job.step, job.result) == (
        JobStatus.SUCCEEDED,
        100,
        "step 3",
        {"counted": 3},
    )
    assert job.log[-1]["message"] == "counted" and job.finished >= job.started


@pytest.mark.django_db
def test_failed_job_keeps_the_reason_and_is_not_run_twice(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(organization=cast.org_a, kind="test", name="boom", func=f"{__name__}.explode")
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "the input folder does not exist"
    job_run(job.pk)  # a redelivered task finds the job settled and does nothing
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and len([e for e in job.log if e["level"] == "error"]) == 1


@pytest.mark.django_db
def test_enqueue_refuses_an_unknown_function(cast):
    with pytest.raises(ImportError):
        job_enqueue(organization=cast.org_a, kind="test", name="x", func="portal.nope.missing")
