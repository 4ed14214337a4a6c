from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from projects.models import Project

OUR_APPS = {"portal", "projects", "pipelines", "provisioning", "etl", "analytics"}


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def test_every_model_is_in_django_admin():
    missing = [m.__name__ for m in our_models() if m not in admin.site._registry]
    assert not missing, f"register these in admin.py: {missing}"


@pytest.mark.django_db
def test_staff_see_every_organization_in_admin(cast, client):
    cast.carol.is_staff = cast.carol.is_superuser = True
    cast.carol.save()
    client.force_login(cast.carol)
    for model in our_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
    page = client.get(reverse("admin:projects_project_changelist")).content.decode()
    assert "Globex shop" in page and ">Shop<" in page  # both organizations' projects


@pytest.mark.django_db
def test_non_staff_members_cannot_open_admin(cast, client):
    client.force_login(cast.alice)
    assert client.get("/admin/projects/project/").status_code == 302


@pytest.fixture
def many_projects(cast):
    for i in range(30):
        Project.objects.unscoped().create(
            organization=cast.org_a,
            project_id=f"p{i:02d}",
            name=f"Project {29 - i:02d}",
            emails="a@example.com",
            environment="Prod" if i % 3 == 0 else "Dev",
        )
    return cast


@pytest.mark.django_db
def test_lists_sort_filter_and_paginate(many_projects, login):
    client = login(many_projects.alice)
    page = client.get("/o/org-a/projects/?sort=-project_id").context["page"]
    assert [p.project_id for p in page.object_list][:2] == ["shop", "p29"]
    assert page.paginator.count == 31 and len(page.object_list) == 25
    second = client.get("/o/org-a/projects/?sort=-project_id&page=2").context["page"]
    assert [p.project_id for p in second.object_list] == [f"p{i:02d}" for i in range(5, -1, -1)]
    filtered = client.get("/o/org-a/projects/?environment=Prod&q=Project").context["page"]
    assert filtered.paginator.count == 10
    ignored = client.get("/o/org-a/projects/?sort=password").context["page"]  # unknown sort → default
    assert ignored.paginator.count == 31


@pytest.mark.django_db
def test_htmx_filter_answers_with_the_table_only(many_projects, login):
    client = login(many_projects.alice)
    response = client.get("/o/org-a/projects/?q=p0&fragment=table", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div class="table-responsive">') and '<nav class="navbar' not in body
    assert "p01" in body and "p15" not in body


@pytest.mark.django_db
def test_api_lists_paginate_with_a_cap_and_order(many_projects, api):
    client = api(many_projects.alice, many_projects.org_a)
    body = client.get("/api/v1/organizations/org-a/projects/?limit=5&offset=5&ordering=project_id").json()
    assert body["count"] == 31 and [p["project_id"] for p in body["results"]] == [
        "p05",
        "p06",
        "p07",
        "p08",
        "p09",
    ]
    capped = client.get("/api/v1/organizations/org-a/projects/?limit=100000").json()
    assert len(capped["results"]) == 31  # under the cap of 500
    prod = client.get("/api/v1/organizations/org-a/projects/?environment=Prod").json()
    assert prod["count"] == 10


@pytest.mark.django_db
def test_password_reset_sends_a_link(cast, client, mailoutbox):
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert mailoutbox and "/accounts/password/reset/key/" in mailoutbox[-1].body
