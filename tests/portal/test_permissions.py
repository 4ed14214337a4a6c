"""The framework's promises: permissions declared or the class is refused, one membership look-up per request,
parents resolved within the organization, saves through a hook, and a portal that imports no domain app."""

from __future__ import annotations

import contextvars
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connection
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.generic import TemplateView
from rest_framework.test import APIRequestFactory, force_authenticate

from portal import registry
from portal.api.viewsets import OrganizationViewSet
from portal.roles import ANY_MEMBER, Perm
from portal.views import generic
from portal.views.base import OrganizationMixin
from projects.api.views import ProjectViewSet
from projects.models import App, Project
from projects.views import ProjectEditView

REPO = Path(__file__).resolve().parents[2]


def test_a_view_without_a_read_permission_is_refused_when_defined():
    with pytest.raises(ImproperlyConfigured, match="must declare read_permission"):

        class Forgetful(OrganizationMixin, TemplateView):
            pass


def test_a_view_that_can_write_must_declare_who_may_write():
    with pytest.raises(ImproperlyConfigured, match="must declare write_permission"):

        class Writer(generic.ObjectEditView):
            model = Project
            read_permission = Perm.VIEW_PROJECTS

    class Reader(OrganizationMixin, TemplateView):  # no write handler: a read permission is enough
        read_permission = ANY_MEMBER


def test_a_viewset_must_declare_both():
    with pytest.raises(ImproperlyConfigured, match="read_permission and write_permission"):

        class Loose(OrganizationViewSet):
            model = Project

    class Abstract(OrganizationViewSet):  # an intermediate base says so
        abstract = True


def _membership_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if re.search(r'FROM "portal_membership"', q["sql"])]


@pytest.mark.django_db
def test_one_membership_look_up_per_page(cast, client):
    client.force_login(cast.alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("projects:app_list", kwargs={"org": "org-a", "project": "shop"}))
    assert response.status_code == 200
    assert len(_membership_queries(queries)) == 1  # the gate, the menu and the organization switcher share it


@pytest.mark.django_db
def test_one_membership_look_up_per_api_call(cast, api):
    client = api(cast.alice, cast.org_a)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/organizations/org-a/projects/shop/apps/")
    assert response.status_code == 200
    assert len(_membership_queries(queries)) == 1


@pytest.mark.django_db
def test_the_parent_is_found_within_the_organization(cast, api, client):
    # Both organizations have a project "shop": the URL's organization decides which one is the parent.
    created = api(cast.alice, cast.org_a).post(
        "/api/v1/organizations/org-a/projects/shop/apps/", {"app_id": "ios", "name": "iOS"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert App.objects.for_organization(cast.org_a).get(app_id="ios").project == cast.project_a
    assert (
        api(cast.alice, cast.org_a).get("/api/v1/organizations/org-a/projects/nope/apps/").status_code == 404
    )
    client.force_login(cast.alice)
    assert client.get("/o/org-a/projects/nope/apps/").status_code == 404
    response = client.post(
        "/o/org-a/projects/shop/apps/add/", {"app_id": "android", "name": "Android", "timezone": "UTC"}
    )
    assert response.status_code == 302, response.content[:2000]
    assert App.objects.for_organization(cast.org_a).get(app_id="android").project == cast.project_a


def test_the_parent_url_kwarg_and_field_default_to_its_model_name():
    class Nested(generic.ObjectListView):
        model = App
        read_permission = ANY_MEMBER
        parent_model = Project
        parent_lookup = "project_id"
        parent_permission = Perm.VIEW_PROJECTS

    assert Nested.parent_url_kwarg == Nested.parent_field == "project"


@pytest.mark.django_db
def test_the_parent_permission_refuses_a_member_without_it(cast):
    class NestedApps(generic.ObjectListView):
        model = App
        table = generic.Table
        read_permission = ANY_MEMBER
        parent_model = Project
        parent_lookup = "project_id"
        parent_permission = Perm.VIEW_PROJECTS

    request = RequestFactory().get("/")
    request.user, request.session = cast.bob, {}  # bob (analyst reader) may not read projects
    with pytest.raises(PermissionDenied):
        NestedApps.as_view()(request, org="org-a", project="shop")


@pytest.mark.django_db
def test_a_view_saves_through_its_hook_and_a_refusal_keeps_nothing(cast):
    class RefusingEdit(ProjectEditView):
        def save_object(self, form):
            form.save()
            raise ValidationError("The service said no.")

    request = RequestFactory().post("/", {"project_id": "fresh", "name": "New", "emails": "a@example.com"})
    request.user, request.session = cast.alice, {}
    response = RefusingEdit.as_view()(request, org="org-a")
    assert response.status_code == 200
    assert "The service said no." in response.rendered_content
    assert not Project.objects.for_organization(cast.org_a).filter(project_id="fresh").exists()


@pytest.mark.django_db
def test_a_viewset_saves_through_its_hook_and_a_refusal_keeps_nothing(cast):
    class RefusingProjects(ProjectViewSet):
        def save_object(self, serializer):
            serializer.save(**self.get_scope())
            raise ValidationError({"name": "The service said no."})

    request = APIRequestFactory().post(
        "/", {"project_id": "fresh", "name": "New", "emails": "a@example.com"}, format="json"
    )
    force_authenticate(request, user=cast.alice)
    # In a context of its own: the viewset sets the audit actor, which the middleware would reset afterwards.
    view = RefusingProjects.as_view({"post": "create"})
    response = contextvars.copy_context().run(view, request, org="org-a")
    assert response.status_code == 400
    assert response.data == {"name": ["The service said no."]}
    assert not Project.objects.for_organization(cast.org_a).filter(project_id="fresh").exists()


@pytest.mark.django_db
def test_domain_apps_register_their_menu_and_home_cards(cast, client):
    client.force_login(cast.alice)
    page = client.get("/o/org-a/").content.decode()
    assert 'href="/o/org-a/projects/"' in page and "Shop" in page
    client.force_login(cast.bob)  # an analyst reader: no projects
    page = client.get("/o/org-a/").content.decode()
    assert 'href="/o/org-a/projects/"' not in page and "Shop" not in page


@pytest.mark.django_db
def test_a_registered_panel_shows_on_the_object_page(cast, client, tmp_path, settings, monkeypatch):
    (tmp_path / "panel.html").write_text("<p>Panel for {{ object.name }} in {{ organization.slug }}</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    # The apps' own panels stay registered for the tests after this one: the test's is added to a copy.
    monkeypatch.setattr(registry, "_panels", {k: list(v) for k, v in registry._panels.items()})
    registry.register_panel(model="projects.Project", template="panel.html", permission=Perm.VIEW_PROJECTS)
    client.force_login(cast.alice)
    page = client.get("/o/org-a/projects/shop/").content.decode()
    assert "<p>Panel for Shop in org-a</p>" in page


def test_the_portal_imports_no_domain_app():
    domain = re.compile(
        r"^\s*(from|import)\s+(projects|pipelines|provisioning|analytics|etl)\b|get_app_config\("
    )
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "portal").rglob("*.py"))
        if "/migrations/" not in path.as_posix()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if domain.search(line)
    ]
    assert offenders == []


@pytest.mark.django_db
def test_the_add_button_follows_the_declared_write_permission(cast, client):
    client.force_login(cast.olivia)  # an operator: manages projects, not AWS accounts
    assert "Add project" in client.get("/o/org-a/projects/").content.decode()
    assert "Add AWS account" not in client.get("/o/org-a/aws-accounts/").content.decode()
    client.force_login(cast.ann)  # an analyst: reads projects
    assert "Add project" not in client.get("/o/org-a/projects/").content.decode()
    client.force_login(cast.alice)
    assert "Add AWS account" in client.get("/o/org-a/aws-accounts/").content.decode()
