"""The job page in Chromium: log lines and status arrive live (htmx polling), and an operator cancels."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal import services
from portal.choices import JobStatus
from portal.jobs import job_sweep
from portal.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_job_page_follows_a_running_job_and_cancels_it(page):
    user, _ = services.user_bootstrap(
        email="olga@example.com", password="A-long-pass-123", org_slug="acme", roles=["operator"]
    )
    job = Job.objects.unscoped().create(
        organization=user.memberships.get().organization,
        kind="etl.local",
        name="Data processing — shop",
        status=JobStatus.RUNNING,
        attempts=1,
        max_attempts=3,
        lease_expires=timezone.now() + timedelta(seconds=60),
    )
    page.goto("/")
    page.fill("input[name=login]", "olga@example.com")
    page.fill("input[name=password]", "A-long-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))
    page.goto(job.get_absolute_url())
    assert "1 of 3" in page.text_content("#job-attempts")

    job.add_log("writing event_v2", level="warning")  # the worker writes; the page shows it unreloaded
    page.wait_for_selector("#job-log [data-level=warning]:has-text('writing event_v2')")

    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm asks first
    page.click("#job-cancel")
    page.wait_for_selector("#job-status:has-text('Running (cancelling)')")
    assert Job.objects.unscoped().get(pk=job.pk).cancel_requested is not None

    # The worker died before it saw the cancel: once its lease is over the sweeper settles the job.
    Job.objects.unscoped().filter(pk=job.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
    job_sweep()
    page.wait_for_selector("#job-status:text-is('Cancelled')")
    assert page.get_attribute("#job-progress", "hx-trigger") is None  # settled: polling stops
