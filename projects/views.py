"""Project and app pages: configurations of the portal's generic views."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from portal.roles import Perm
from portal.views import generic
from portal.views.base import OrganizationAccess
from projects import filtersets, forms, selectors, services, tables
from projects.models import App, Project


class ProjectViewMixin(OrganizationAccess):
    model: type[models.Model] = Project
    lookup_field = "project_id"
    lookup_url_kwarg = "project"
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS


def refused_while_deleting(request: HttpRequest, project: Project) -> HttpResponse | None:
    """A 409 page saying why, when `project` is being deleted; None when the change may go ahead."""
    try:
        services.project_change_check(project=project)
    except services.ProjectDeleting as exc:
        return TemplateResponse(
            request, "projects/project_deleting.html", {"project": project, "message": str(exc)}, status=409
        )
    return None


class ProjectListView(ProjectViewMixin, generic.ObjectListView):
    table = tables.ProjectTable
    filterset_class = filtersets.ProjectFilterSet
    create_url_name = "projects:project_add"

    def get_queryset(self) -> QuerySet:
        return selectors.project_list(organization=self.organization)


class ProjectDetailView(ProjectViewMixin, generic.ObjectDetailView):
    object: Project
    template_name = "projects/project_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        apps = self.object.apps.order_by("name")
        context.update(apps=apps, can_manage=self.membership.has_perm(Perm.MANAGE_PROJECTS))
        return context


class ProjectEditView(ProjectViewMixin, generic.ObjectEditView):
    form_class = forms.ProjectForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.lookup_url_kwarg in self.kwargs:
            refused = refused_while_deleting(request, self.get_object())
            if refused is not None:
                return refused
        return super().post(request, *args, **kwargs)


class ProjectDeleteView(ProjectViewMixin, generic.ObjectDeleteView):
    """A project with a pipeline is not deleted at once: its pipeline's resources are deleted first (the
    project shows as deleting, with the pipeline's progress), then it."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        project = self.get_object()
        try:
            gone = services.project_delete(project=project)
        except services.DeleteRefused as exc:
            messages.error(request, str(exc))
            return generic.redirect(request, project.get_absolute_url())
        if gone:
            messages.success(request, f"Deleted project {project}.")
            return generic.redirect(request, self.get_success_url())
        messages.info(
            request,
            f"Deleting project {project}: its pipeline's resources are deleted first, then the project "
            "and its apps.",
        )
        return generic.redirect(request, project.get_absolute_url())

    def get_success_url(self) -> str:
        return reverse("projects:project_list", kwargs={"org": self.organization.slug})


class AppViewMixin(OrganizationAccess):
    """Apps live inside a project: the project in the URL is found within the organization first."""

    model: type[models.Model] = App
    lookup_field = "app_id"
    lookup_url_kwarg = "app"
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS
    parent_model = Project
    parent_lookup = "project_id"
    parent: Project

    def get_project(self) -> Project:
        return self.parent


class AppListView(AppViewMixin, generic.ObjectListView):
    table = tables.AppTable
    filterset_class = filtersets.AppFilterSet
    create_url_name = "projects:app_add"


class AppDetailView(AppViewMixin, generic.ObjectDetailView):
    object: App
    template_name = "projects/app_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["guide"] = services.app_integration_guide(app=self.object)
        context["can_manage"] = self.membership.has_perm(Perm.MANAGE_PROJECTS)
        return context


class AppSdkConfigView(AppViewMixin, generic.ObjectDetailView):
    """The app's `amplifyconfiguration.json` (Android and iOS SDKs), as a download."""

    read_permission = Perm.VIEW_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        app = self.get_object()
        response = JsonResponse(services.app_sdk_config(app=app), json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{services.SDK_CONFIG_FILENAME}"'
        return response


class AppEditView(AppViewMixin, generic.ObjectEditView):
    form_class = forms.AppForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return refused_while_deleting(request, self.get_project()) or super().post(request, *args, **kwargs)


class AppDeleteView(AppViewMixin, generic.ObjectDeleteView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return refused_while_deleting(request, self.get_project()) or super().post(request, *args, **kwargs)

    def get_success_url(self) -> str:
        return self.get_project().get_absolute_url()
