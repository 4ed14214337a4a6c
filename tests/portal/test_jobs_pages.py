from __future__ import annotations

import pytest

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
