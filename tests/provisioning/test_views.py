"""Status on the pipeline page (htmx fragment, polling while busy), in the API and in admin; retry and
delete-with-data through the UI and the API; a busy pipeline refuses edits with what runs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from provisioning.models import Deployment, PipelineResource
from tests.pipelines.specs import local_spec
from tests.provisioning.test_reconciler import other_project

pytestmark = pytest.mark.django_db


def status_url(project) -> str:  # type: ignore[no-untyped-def]
    return reverse(
        "provisioning:status", kwargs={"org": project.organization.slug, "project": project.project_id}
    )


def api_url(name: str, project) -> str:  # type: ignore[no-untyped-def]
    return reverse(f"api:{name}", kwargs={"org": project.organization.slug, "project": project.project_id})


def test_the_fragment_shows_each_step_and_polls_only_while_busy(cast, machine, save, login):
    pipeline = save(cast.project_a, local_spec()).pipeline
    client = login(cast.olivia)  # an operator sees the status
    page = client.get(status_url(cast.project_a)).content.decode()
    assert 'data-status="Active"' in page and "every 2s" not in page and "100%" in page
    for name in ("lake", "allowlist", "processing", "warehouse"):
        assert f'id="resource-{name}"' in page
    assert "created" in page  # the latest event of each step
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name="warehouse").update(
        state="UPDATE_IN_PROGRESS"
    )
    page = client.get(status_url(cast.project_a)).content.decode()
    assert 'data-status="Creating"' in page and 'hx-trigger="every 2s"' in page
    assert "3 of 4 steps done, 1 to go" in page
    detail = client.get(pipeline.get_absolute_url()).content.decode()
    assert status_url(cast.project_a) in detail  # the pipeline page loads the fragment


def test_the_api_reports_the_derived_status(cast, machine, save, api):
    save(cast.project_a, local_spec())
    body = api(cast.olivia, cast.org_a).get(api_url("pipeline-status", cast.project_a)).json()
    assert body["status"] == "Active" and body["action"] == "Create" and body["percent"] == 100
    assert [r["name"] for r in body["resources"]] == ["lake", "allowlist", "processing", "warehouse"]
    assert all(r["state"] == "CREATE_COMPLETE" and r["events"] for r in body["resources"])


def test_retry_through_the_ui_and_the_api(
    cast, machine, save, login, api, django_capture_on_commit_callbacks
):
    from pipelines import services as pipeline_services

    first = save(cast.project_a, local_spec()).pipeline
    project = other_project(cast)
    save(project, local_spec())
    body = api(cast.carol, cast.org_b).get(api_url("pipeline-status", project)).json()
    assert body["status"] == "Failed" and "App id web is already served" in body["reason"]
    page = login(cast.carol).get(status_url(project)).content.decode()
    assert 'id="retry-pipeline"' in page
    with django_capture_on_commit_callbacks(execute=True):
        pipeline_services.pipeline_delete_request(pipeline=first)
    url = reverse("provisioning:retry", kwargs={"org": "org-b", "project": project.project_id})
    with django_capture_on_commit_callbacks(execute=True):
        assert login(cast.carol).post(url).status_code == 302
    assert api(cast.carol, cast.org_b).get(api_url("pipeline-status", project)).json()["status"] == "Active"
    response = api(cast.carol, cast.org_b).post(api_url("pipeline-retry", project))
    assert response.status_code == 200 and response.json()["status"] == "Active"  # nothing failed: no change


def test_an_api_retry_of_a_busy_pipeline_is_a_conflict_saying_what_runs(cast, machine, save, api):
    pipeline = save(cast.project_a, local_spec()).pipeline
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name="lake").update(state="CREATE_FAILED")
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name="processing").update(
        state="UPDATE_IN_PROGRESS"
    )
    response = api(cast.alice, cast.org_a).post(api_url("pipeline-retry", cast.project_a))
    assert response.status_code == 409 and "running: processing" in response.json()["detail"]


def test_editing_a_busy_pipeline_through_the_api_and_the_wizard_is_refused(cast, machine, save, api, login):
    pipeline = save(cast.project_a, local_spec()).pipeline
    PipelineResource.objects.unscoped().filter(pipeline=pipeline, name="processing").update(
        state="UPDATE_IN_PROGRESS"
    )
    spec = local_spec()
    spec["processing"]["schedule"] = "rate(2 hours)"
    response = api(cast.alice, cast.org_a).put(api_url("pipeline", cast.project_a), {"spec": spec, "version": 1},
                                               format="json")  # fmt: skip
    assert response.status_code == 409 and "running: processing" in response.json()["detail"]
    import json

    edit = reverse("pipelines:pipeline_edit", kwargs={"org": "org-a", "project": "shop"})
    page = login(cast.alice).post(edit, {"spec_json": json.dumps(spec), "version": 1, "action": "save"})
    assert page.status_code == 409 and "running: processing" in page.content.decode()
    assert pipeline.versions.count() == 1


def test_delete_with_data_through_the_ui_and_without_through_the_api(cast, machine, save, login, api,
                                                                     django_capture_on_commit_callbacks):  # fmt: skip
    save(cast.project_a, local_spec())
    folder = machine.lake / "clickstream" / "shop"
    url = reverse("pipelines:pipeline_delete", kwargs={"org": "org-a", "project": "shop"})
    assert "delete_data" in login(cast.alice).get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        login(cast.alice).post(url, {"delete_data": "1"})
    assert not folder.exists() and machine.allowlist() == {}
    save(cast.project_a, local_spec())
    with django_capture_on_commit_callbacks(execute=True):
        assert api(cast.alice, cast.org_a).delete(api_url("pipeline", cast.project_a)).status_code == 202
    assert (folder / "warehouse.duckdb").is_file() and machine.allowlist() == {}


def test_admin_shows_status_and_resources_and_retries(cast, machine, save, staff_client):
    save(cast.project_a, local_spec())
    deployment = Deployment.objects.unscoped().get()
    listing = staff_client.get(reverse("admin:provisioning_deployment_changelist")).content.decode()
    assert "Active (4/4)" in listing
    page = staff_client.get(
        reverse("admin:provisioning_deployment_change", args=[deployment.pk])
    ).content.decode()
    assert "warehouse: CREATE_COMPLETE" in page
    response = staff_client.post(reverse("admin:provisioning_deployment_changelist"),
                                 {"action": "retry", "_selected_action": [deployment.pk]}, follow=True)  # fmt: skip
    assert "Nothing failed" in response.content.decode()
    assert staff_client.get(reverse("admin:provisioning_pipelineresource_changelist")).status_code == 200


def test_a_project_without_a_pipeline_leads_to_the_wizard_with_local_chosen(cast, login):
    client = login(cast.alice)
    page = client.get(cast.project_a.get_absolute_url()).content.decode()
    wizard = reverse("pipelines:pipeline_edit", kwargs={"org": "org-a", "project": "shop"})
    assert 'id="create-pipeline"' in page and wizard in page
    form = client.get(wizard).context["form"]
    assert form["provider"].value() == "local"  # no AWS account connected
    reader = login(cast.ann).get(cast.project_a.get_absolute_url())  # an analyst reads, cannot create
    assert reader.status_code == 200 and 'id="create-pipeline"' not in reader.content.decode()


def test_project_pages_show_the_derived_status(cast, machine, save, login):
    save(cast.project_a, local_spec())
    page = login(cast.alice).get(cast.project_a.get_absolute_url()).content.decode()
    assert ">Active</span>" in page and 'id="pipeline-link"' in page
