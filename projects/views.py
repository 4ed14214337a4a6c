"""Project and app pages: configurations of the portal's generic views."""

from __future__ import annotations

from typing import Any, cast

from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from portal.models import Organization
from portal.roles import Perm
from portal.views import generic
from projects import filtersets, forms, selectors, services, tables
from projects.models import App, Project


class ProjectViewMixin:
    model: type[models.Model] = Project
    lookup_field = "project_id"
    lookup_url_kwarg = "project"


class ProjectListView(ProjectViewMixin, generic.ObjectListView):
    permission = Perm.VIEW_PROJECTS
    table = tables.ProjectTable
    filterset_class = filtersets.ProjectFilterSet
    create_url_name = "projects:project_add"

    def get_queryset(self) -> QuerySet:
        return selectors.project_list(organization=self.organization)

    def can_create(self) -> bool:
        return self.membership.has_perm(Perm.MANAGE_PROJECTS)


class ProjectDetailView(ProjectViewMixin, generic.ObjectDetailView):
    permission = Perm.VIEW_PROJECTS
    object: Project
    template_name = "projects/project_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        apps = self.object.apps.order_by("name")
        context.update(apps=apps, can_manage=self.membership.has_perm(Perm.MANAGE_PROJECTS))
        return context


class ProjectEditView(ProjectViewMixin, generic.ObjectEditView):
    permission = Perm.MANAGE_PROJECTS
    form_class = forms.ProjectForm


class ProjectDeleteView(ProjectViewMixin, generic.ObjectDeleteView):
    permission = Perm.MANAGE_PROJECTS

    def get_success_url(self) -> str:
        return reverse("projects:project_list", kwargs={"org": self.organization.slug})


class AppViewMixin:
    """Apps live inside a project: the project in the URL is resolved within the organization first."""

    model: type[models.Model] = App
    lookup_field = "app_id"
    lookup_url_kwarg = "app"
    kwargs: dict[str, Any]
    organization: Organization

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = get_object_or_404(
                Project.objects.for_organization(self.organization),  # type: ignore[attr-defined]
                project_id=self.kwargs["project"],
            )
        return self._project

    def get_queryset(self) -> QuerySet:
        return self.get_project().apps.select_related("project", "organization")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["project"] = self.get_project()
        return context


class AppListView(AppViewMixin, generic.ObjectListView):
    permission = Perm.VIEW_PROJECTS
    table = tables.AppTable
    filterset_class = filtersets.AppFilterSet
    create_url_name = "projects:app_add"

    def can_create(self) -> bool:
        return self.membership.has_perm(Perm.MANAGE_PROJECTS)


class AppDetailView(AppViewMixin, generic.ObjectDetailView):
    permission = Perm.VIEW_PROJECTS
    object: App
    template_name = "projects/app_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["guide"] = services.app_integration_guide(app=self.object)
        context["can_manage"] = self.membership.has_perm(Perm.MANAGE_PROJECTS)
        return context


class AppSdkConfigView(AppViewMixin, generic.ObjectDetailView):
    """The app's `amplifyconfiguration.json` (Android and iOS SDKs), as a download."""

    permission = Perm.VIEW_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        app = cast(App, self.get_object())
        response = JsonResponse(services.app_sdk_config(app=app), json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{services.SDK_CONFIG_FILENAME}"'
        return response


class AppEditView(AppViewMixin, generic.ObjectEditView):
    permission = Perm.MANAGE_PROJECTS
    form_class = forms.AppForm

    def setup_object(self) -> App:
        app = cast(App, super().setup_object())
        app.project = self.get_project()
        return app


class AppDeleteView(AppViewMixin, generic.ObjectDeleteView):
    permission = Perm.MANAGE_PROJECTS

    def get_success_url(self) -> str:
        return self.get_project().get_absolute_url()
