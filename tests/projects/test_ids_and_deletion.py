"""Ids that are words of our URLs are refused; an organization goes with its projects' pipelines, while a
project with a pipeline is deleted after it (its resources first)."""

from __future__ import annotations

import pytest

from pipelines.models import Pipeline
from portal.models import Organization
from projects.models import App, Project

PROJECTS = "/api/v1/organizations/org-a/projects/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "word", ["add", "edit", "delete", "new", "create", "update", "settings", "api", "admin"]
)
def test_reserved_words_are_refused_as_project_ids(cast, login, api, word):
    response = login(cast.alice).post(
        "/o/org-a/projects/add/", {"name": "X", "project_id": word, "emails": "ops@example.com"}
    )
    assert response.status_code == 200
    assert "reserved word" in " ".join(response.context["form"].errors["project_id"])
    response = api(cast.alice, cast.org_a).post(
        PROJECTS, {"project_id": word, "name": "X", "emails": "ops@example.com"}, format="json"
    )
    assert response.status_code == 400 and "reserved word" in response.json()["project_id"][0]
    assert not Project.objects.for_organization(cast.org_a).filter(project_id=word).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["add", "Edit", "DELETE", "new"])
def test_reserved_words_are_refused_as_app_ids_whatever_their_case(cast, login, api, word):
    response = login(cast.alice).post(
        "/o/org-a/projects/shop/apps/add/", {"name": "X", "app_id": word, "timezone": "UTC"}
    )
    assert response.status_code == 200
    assert "reserved word" in " ".join(response.context["form"].errors["app_id"])
    response = api(cast.alice, cast.org_a).post(
        f"{PROJECTS}shop/apps/", {"app_id": word, "name": "X"}, format="json"
    )
    assert response.status_code == 400 and "reserved word" in response.json()["app_id"][0]


@pytest.mark.django_db
def test_ids_that_merely_contain_a_reserved_word_are_fine(cast, api):
    response = api(cast.alice, cast.org_a).post(
        PROJECTS, {"project_id": "add_ons", "name": "Add-ons", "emails": "ops@example.com"}, format="json"
    )
    assert response.status_code == 201, response.json()


@pytest.mark.django_db
def test_reserved_words_are_refused_in_admin(cast, staff_client):
    response = staff_client.post(
        "/admin/projects/project/add/",
        {
            "organization": cast.org_a.pk,
            "project_id": "settings",
            "name": "X",
            "emails": "ops@example.com",
            "environment": "",
            "apps-TOTAL_FORMS": 0,
            "apps-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "reserved word" in response.content.decode()


@pytest.mark.django_db
def test_an_organization_whose_project_has_a_pipeline_can_be_deleted(cast):
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    cast.org_a.delete()
    assert (
        not Pipeline.objects.unscoped()
        .filter(project__project_id="shop", organization__slug="org-a")
        .exists()
    )
    assert Project.objects.unscoped().filter(organization=cast.org_b).exists()  # the other tenant untouched


@pytest.mark.django_db
def test_support_staff_can_delete_an_organization_with_a_pipeline_and_a_history(cast, staff_client):
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    response = staff_client.post(f"/admin/portal/organization/{cast.org_a.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Organization.objects.filter(pk=cast.org_a.pk).exists()
    assert not Pipeline.objects.unscoped().filter(organization_id=cast.org_a.pk).exists()
    assert not App.objects.unscoped().filter(organization_id=cast.org_a.pk).exists()
    assert Project.objects.unscoped().filter(organization=cast.org_b).exists()  # the other tenant untouched


@pytest.mark.django_db
def test_a_project_with_a_pipeline_is_deleted_after_it(cast, login, api, django_capture_on_commit_callbacks):
    """The project's delete starts its pipeline's (202, the project deleting); once the provider has removed
    the pipeline (a local one with nothing made, here), the project and its apps go too."""
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api(cast.alice, cast.org_a).delete(f"{PROJECTS}shop/")
    assert response.status_code == 202, response.content
    assert response.json()["deleting"] is True and response.json()["delete_requested"]
    project = Project.objects.for_organization(cast.org_a).get(project_id="shop")
    assert project.deleting and Pipeline.objects.unscoped().get(project=project).delete_requested
    page = login(cast.alice).get("/o/org-a/projects/shop/").content.decode()
    assert 'id="project-deleting"' in page and 'id="project-delete-progress"' in page
    with django_capture_on_commit_callbacks(execute=True):
        for (
            callback
        ) in callbacks:  # the reconciler: nothing to delete, so the pipeline goes, then the project
            callback()
    assert not Project.objects.unscoped().filter(pk=cast.project_a.pk).exists()
    assert not App.objects.unscoped().filter(project_id=cast.project_a.pk).exists()
    assert not Pipeline.objects.unscoped().filter(organization=cast.org_a).exists()
    assert Project.objects.unscoped().filter(pk=cast.project_b.pk).exists()  # the other tenant untouched


@pytest.mark.django_db
def test_the_delete_page_starts_the_pipelines_delete(cast, login):
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    response = login(cast.alice).post("/o/org-a/projects/shop/delete/", follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Deleting project shop: its pipeline&#x27;s resources are deleted first" in page
    assert 'id="project-deleting"' in page and 'href="/o/org-a/projects/shop/edit/"' not in page
    assert Project.objects.for_organization(cast.org_a).get(project_id="shop").deleting


@pytest.mark.django_db
def test_a_deleting_project_refuses_changes(cast, login, api):
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    client = api(cast.alice, cast.org_a)
    assert client.delete(f"{PROJECTS}shop/").status_code == 202
    refused = client.patch(f"{PROJECTS}shop/", {"name": "Renamed"}, format="json")
    assert refused.status_code == 409 and "is being deleted" in refused.json()["detail"]
    body = {"app_id": "ios", "name": "iOS", "timezone": "UTC"}
    assert client.post(f"{PROJECTS}shop/apps/", body, format="json").status_code == 409
    assert client.patch(f"{PROJECTS}shop/apps/web/", {"name": "W"}, format="json").status_code == 409
    assert client.delete(f"{PROJECTS}shop/apps/web/").status_code == 409
    browser = login(cast.alice)
    page = browser.post("/o/org-a/projects/shop/edit/", {"name": "Renamed", "emails": "ops@example.com"})
    assert page.status_code == 409 and "is being deleted" in page.content.decode()
    assert browser.post("/o/org-a/projects/shop/apps/web/delete/").status_code == 409
    assert browser.post("/o/org-a/projects/shop/apps/add/", body).status_code == 409
    project = Project.objects.for_organization(cast.org_a).get(project_id="shop")
    assert project.name == "Shop" and list(project.apps.values_list("app_id", flat=True)) == ["web"]
    # The pipeline takes no new version either.
    from pipelines.services import ChangeRefused, pipeline_save

    with pytest.raises(ChangeRefused, match="is being deleted"):
        pipeline_save(project=project, spec={}, author=cast.alice, expected_version=0)


@pytest.mark.django_db
def test_only_managers_delete_a_project_and_only_their_own(cast, api, login):
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    for reader in (cast.ann, cast.bob):
        assert api(reader, cast.org_a).delete(f"{PROJECTS}shop/").status_code == 403
        assert login(reader).post("/o/org-a/projects/shop/delete/").status_code == 403
    assert api(cast.carol, cast.org_b).delete(f"{PROJECTS}shop/").status_code == 404
    assert login(cast.carol).post("/o/org-a/projects/shop/delete/").status_code == 404
    assert not Project.objects.unscoped().get(pk=cast.project_a.pk).deleting
    assert not Project.objects.unscoped().get(pk=cast.project_b.pk).deleting


@pytest.mark.django_db
def test_admin_delete_starts_the_pipelines_delete(cast, staff_client):
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    url = f"/admin/projects/project/{cast.project_a.pk}/delete/"
    confirm = staff_client.get(url)
    assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
    response = staff_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "its pipeline&#x27;s resources are deleted first" in response.content.decode()
    project = Project.objects.unscoped().get(pk=cast.project_a.pk)
    assert project.deleting
    change = staff_client.get(f"/admin/projects/project/{project.pk}/change/").content.decode()
    assert 'name="name"' not in change  # shown, not changed
    app = f"/admin/projects/app/{cast.app_a.pk}/"
    assert 'name="name"' not in staff_client.get(f"{app}change/").content.decode()  # its apps neither
    assert staff_client.post(f"{app}delete/", {"post": "yes"}).status_code == 403
    assert App.objects.unscoped().filter(pk=cast.app_a.pk).exists()


def test_every_word_of_the_project_urls_is_reserved():
    """A word our project and app URLs put where an id could stand is never accepted as an id."""
    import re

    from projects import urls
    from projects.validators import RESERVED_IDS

    words = set()
    for pattern in urls.urlpatterns:
        for segment in str(pattern.pattern).split("/"):
            if segment and "<" not in segment and re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]*", segment):
                words.add(segment)
    assert words and words <= RESERVED_IDS, words - RESERVED_IDS
