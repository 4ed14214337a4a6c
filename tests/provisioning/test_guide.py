"""The app page's guide once the local pipeline is Active: a test event the portal sends to the real collector
(and what it says when the collector refuses or is down), the events received in the last minutes, the
process-now button, and the demo button of an empty organization."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import Job
from tests.ingestion.conftest import CollectorProcess, wait_until
from tests.pipelines.specs import local_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def collector(machine, tmp_path, settings):  # type: ignore[no-untyped-def]
    args = ["--sink", f"file://{machine.lake}", "--allowlist-file", str(machine.allowlist_file),
            "--batch-seconds", "1"]  # fmt: skip
    started = CollectorProcess(args, tmp_path).start()
    settings.CLICKSTREAM_INGESTION_ENDPOINT = f"{started.url}/collect"
    yield started
    started.stop()


def urls(name: str) -> str:
    return reverse(f"provisioning:{name}", kwargs={"org": "org-a", "project": "shop", "app": "web"})


def test_a_test_event_reaches_the_lake_and_shows_as_received(cast, collector, save, login):
    save(cast.project_a, local_spec())
    ui = login(cast.alice)
    panel = ui.get(urls("app_traffic")).content.decode()
    assert 'id="send-test-event"' in panel and 'id="process-now"' in panel
    assert '<span id="app-recent-events">0</span>' in panel
    answers: list[str] = []

    def accepted() -> bool:
        # The collector re-reads the allow-list once a second: the app saved a moment ago may not be in yet.
        answers.append(ui.post(urls("app_test_event"), HTTP_HX_REQUEST="true").content.decode())
        return "alert-success" in answers[-1]

    wait_until(accepted, timeout=10, interval=0.5)
    assert collector.url in answers[-1]
    wait_until(
        lambda: '<span id="app-recent-events">1</span> event in 1 request'
        in ui.get(urls("app_traffic")).content.decode(),
        timeout=15,
        interval=0.3,
    )


def test_a_refused_or_missing_collector_is_explained(cast, collector, save, login, settings):
    save(cast.project_a, local_spec())
    collector.stop()
    answer = login(cast.alice).post(urls("app_test_event")).content.decode()
    assert "does not answer" in answer and "make run" in answer


def test_the_buttons_wait_for_an_active_pipeline_and_a_manager(cast, machine, save, login):
    ui = login(cast.bob)
    save(cast.project_a, local_spec())
    assert 'id="send-test-event"' not in ui.get(urls("app_traffic")).content.decode()  # a reader
    assert ui.post(urls("app_test_event")).status_code == 403


def test_process_now_starts_the_projects_processing(
    cast, machine, save, login, django_capture_on_commit_callbacks
):
    save(cast.project_a, local_spec())
    url = reverse("provisioning:process_now", kwargs={"org": "org-a", "project": "shop"})
    response = login(cast.alice).post(url)
    job = Job.objects.unscoped().get(kind="etl.local")
    assert response.status_code == 302 and str(job.uuid) in response["Location"]


def test_an_empty_organization_is_offered_the_demo(cast, login):
    from portal import services

    newcomer, fresh = services.user_bootstrap(
        email="new@example.com", password="A-long-pass-123", org_slug="fresh", roles=["admin"]
    )
    ui = login(newcomer)
    assert 'id="start-demo"' in ui.get(reverse("org_home", kwargs={"org": "fresh"})).content.decode()
    home_a = login(cast.alice).get(reverse("org_home", kwargs={"org": "org-a"})).content.decode()
    assert 'id="start-demo"' not in home_a  # it has a project already
    response = login(newcomer).post(reverse("provisioning:demo", kwargs={"org": "fresh"}))
    job = Job.objects.unscoped().get(kind="provisioning.demo")
    assert job.organization == fresh and str(job.uuid) in response["Location"]
