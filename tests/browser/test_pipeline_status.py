"""A local pipeline created in Chromium through the project page and the wizard; the pipeline page follows
it live (htmx polling) from Creating to Active, step by step, and stops polling once it is settled."""

from __future__ import annotations

import re

import pytest

from pipelines.models import Pipeline
from pipelines.signals import pipeline_saved
from portal import services
from projects.models import App, Project
from provisioning.models import Deployment
from provisioning.receivers import on_pipeline_saved
from provisioning.reconciler import reconcile_step
from tests.provisioning import conftest as provisioning_fixtures

machine = provisioning_fixtures.machine  # this machine's lake and allow-list, in a temporary folder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_local_pipeline_and_watch_it_become_active(page, machine):
    user, _ = services.user_bootstrap(
        email="olga@example.com", password="A-long-pass-123", org_slug="acme", roles=["operator"]
    )
    org = user.memberships.get().organization
    project = Project.objects.unscoped().create(organization=org, project_id="shop", name="Shop",
                                                emails="ops@example.com")  # fmt: skip
    App.objects.unscoped().create(organization=org, project=project, app_id="web", name="Web")
    page.goto("/")
    page.fill("input[name=login]", "olga@example.com")
    page.fill("input[name=password]", "A-long-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/o/acme/$"))
    page.goto(project.get_absolute_url())
    page.click("#create-pipeline")
    page.click("#review")
    # The worker is held back so the page can be seen following it: the save records, the steps come later.
    pipeline_saved.disconnect(on_pipeline_saved)
    try:
        page.click("#save")
        page.wait_for_selector("#pipeline-status")
    finally:
        pipeline_saved.connect(on_pipeline_saved)
    pipeline = Pipeline.objects.unscoped().get(project=project)
    Deployment.objects.unscoped().create(organization=org, pipeline=pipeline)  # the change is asked for…
    page.wait_for_selector("#pipeline-status[data-status=Creating]")
    done = 0
    while reconcile_step(pipeline_pk=pipeline.pk) is not None:  # …and the worker takes one step at a time
        done += 1
        if done < 4:  # the page shows each step done, unreloaded
            page.wait_for_selector(f"#pipeline-status:has-text('{done} of 4 steps done, {4 - done} to go')")
    page.wait_for_selector("#pipeline-status[data-status=Active]", timeout=10000)
    assert page.get_attribute("#pipeline-status", "hx-trigger") is None  # settled: no more polling
    assert "CREATE_COMPLETE" in (page.text_content("#resource-warehouse") or "")
    assert machine.allowlist() == {"web": "shop"}
