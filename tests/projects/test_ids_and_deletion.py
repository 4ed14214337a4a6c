"""Ids that are words of our URLs are refused; an organization goes with its projects' pipelines, while a
project alone cannot be deleted before its pipeline."""

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
def test_a_project_alone_still_waits_for_its_pipeline(cast, login, api):
    Pipeline.objects.unscoped().create(organization=cast.org_a, project=cast.project_a)
    response = api(cast.alice, cast.org_a).delete(f"{PROJECTS}shop/")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Project shop cannot be deleted while it has pipeline pipeline of shop. Delete the pipeline first."
    )
    page = login(cast.alice).post("/o/org-a/projects/shop/delete/", follow=True).content.decode()
    assert "Delete the pipeline first" in page
    assert Project.objects.for_organization(cast.org_a).filter(project_id="shop").exists()


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
