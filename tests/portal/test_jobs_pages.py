from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.choices import JobStatus
from portal.models import Job


@pytest.fixture
def jobs(cast):
    running = Job.objects.unscoped().create(
        organization=cast.org_a,
        kind="etl.local",
        name="ETL shop",
        status=JobStatus.RUNNING,
        progress=40,
        step="enriching",
    )
    running.add_log("read 10 files")
    done = Job.objects.unscoped().create(
        organization=cast.org_a,
        kind="etl.local",
        name="ETL done",
        status=JobStatus.SUCCEEDED,
        progress=100,
        result={"rows_in": 10},
    )
    other = Job.objects.unscoped().create(organization=cast.org_b, kind="etl.local", name="B job")
    return running, done, other


@pytest.mark.django_db
def test_running_job_polls_and_settled_job_does_not(cast, jobs, login):
    running, done, _ = jobs
    client = login(cast.olivia)
    page = client.get(running.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in page and "enriching" in page and 'data-progress="40"' in page
    assert "read 10 files" in page
    fragment = client.get(running.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="job-progress"') and "<nav" not in fragment
    page = client.get(done.get_absolute_url()).content.decode()
    assert "every 2s" not in page and "rows_in" in page


@pytest.mark.django_db
def test_jobs_api_lists_only_the_organizations_jobs(cast, jobs, api):
    body = api(cast.olivia, cast.org_a).get("/api/v1/organizations/org-a/jobs/?status=running").json()
    assert [j["name"] for j in body["results"]] == ["ETL shop"]
    assert body["results"][0]["progress"] == 40 and body["results"][0]["step"] == "enriching"
    all_names = {
        j["name"]
        for j in api(cast.olivia, cast.org_a).get("/api/v1/organizations/org-a/jobs/").json()["results"]
    }
    assert all_names == {"ETL shop", "ETL done"}


@pytest.fixture
def waiting(cast):
    """A job waiting to retry after a transient error."""
    job = Job.objects.unscoped().create(
        organization=cast.org_a,
        kind="etl.local",
        name="ETL retry",
        attempts=1,
        max_attempts=3,
        next_try=timezone.now() + timedelta(seconds=40),
        error="Rate exceeded",
    )
    job.add_log("transient error: Rate exceeded; retrying in 40 s", level="warning")
    return job


@pytest.mark.django_db
def test_the_job_page_shows_attempts_next_try_lease_and_log_levels(cast, jobs, waiting, login):
    running, _, _ = jobs
    Job.objects.unscoped().filter(pk=running.pk).update(
        attempts=2, max_attempts=4, lease_expires=timezone.now() + timedelta(seconds=50)
    )
    client = login(cast.olivia)
    page = client.get(running.get_absolute_url()).content.decode()
    assert 'data-attempts="2"' in page and "2 of 4" in page and 'id="job-lease"' in page
    assert 'id="job-cancel"' in page  # an operator may cancel
    page = client.get(waiting.get_absolute_url()).content.decode()
    assert 'id="job-next-try"' in page and "Pending (retry 2 waiting)" in page
    assert 'data-level="warning"' in page and "Last attempt: Rate exceeded" in page
    listing = client.get(f"/o/{cast.org_a.slug}/jobs/?status=pending").content.decode()
    assert "ETL retry" in listing and "1 of 3" in listing and "Next try" in listing
    assert 'id="job-cancel"' not in login(cast.ann).get(running.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_cancel_from_the_job_page(cast, waiting, login):
    url = reverse("job_cancel", kwargs={"org": cast.org_a.slug, "pk": waiting.uuid})
    assert login(cast.ann).post(url).status_code == 403  # an analyst may look, not cancel
    client = login(cast.olivia)
    assert "Cancel job ETL retry?" in client.get(url).content.decode()
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == waiting.get_absolute_url()
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.CANCELLED
    response = client.post(url, follow=True)
    assert "has already finished (cancelled)" in response.content.decode()


@pytest.mark.django_db
def test_cancel_through_the_api(cast, jobs, waiting, api):
    running, done, _ = jobs
    base = "/api/v1/organizations/org-a/jobs"
    assert api(cast.ann, cast.org_a).post(f"{base}/{waiting.uuid}/cancel/").status_code == 403
    assert (
        api(cast.olivia, cast.org_a, read_only=True).post(f"{base}/{waiting.uuid}/cancel/").status_code == 403
    )
    client = api(cast.olivia, cast.org_a)
    body = client.post(f"{base}/{waiting.uuid}/cancel/").json()
    assert body["status"] == "cancelled" and body["log"][-1]["level"] == "warning"
    body = client.post(f"{base}/{running.uuid}/cancel/").json()  # running: asked to stop
    assert (body["status"], body["cancelling"]) == ("running", True) and body["cancel_requested"]
    response = client.post(f"{base}/{done.uuid}/cancel/")
    assert response.status_code == 409 and "already finished (succeeded)" in response.json()["detail"]
    assert client.post(f"{base}/").status_code == 405  # jobs are started by their work, not created here


@pytest.mark.django_db
def test_the_api_shows_attempts_next_try_lease_and_log_lines(cast, waiting, api):
    client = api(cast.ann, cast.org_a)
    listed = client.get("/api/v1/organizations/org-a/jobs/?status=pending").json()["results"][0]
    assert (listed["attempts"], listed["max_attempts"], listed["error"]) == (1, 3, "Rate exceeded")
    assert listed["next_try"] and "log" not in listed
    detail = client.get(f"/api/v1/organizations/org-a/jobs/{waiting.uuid}/").json()
    assert detail["lease_seconds"] == 60 and detail["lease_expires"] is None
    assert detail["log"] == [
        {
            "at": detail["log"][0]["at"],
            "attempt": 1,
            "level": "warning",
            "message": waiting.log_lines.get().message,
        }
    ]


@pytest.mark.django_db
def test_admin_shows_log_lines_and_cancels(cast, waiting, staff_client):
    page = staff_client.get(reverse("admin:portal_job_change", args=[waiting.pk])).content.decode()
    assert "transient error: Rate exceeded" in page and "Next try" in page
    response = staff_client.post(
        reverse("admin:portal_job_changelist"),
        {"action": "cancel_jobs", "_selected_action": [waiting.pk]},
        follow=True,
    )
    assert "Cancelled or asked to stop 1 of 1 jobs." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.CANCELLED
