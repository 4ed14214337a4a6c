from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.exceptions import Conflict
from portal.api.viewsets import OrganizationViewSet
from portal.roles import Perm
from projects import filtersets, selectors, services
from projects.api import serializers
from projects.models import App, Project


class ProjectViewSet(OrganizationViewSet):
    """Projects of the organization. `project_id` is chosen at creation and never changes."""

    model = Project
    serializer_class = serializers.ProjectSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS
    lookup_field = "project_id"
    lookup_url_kwarg = "project"
    lookup_value_regex = r"[^/]+"
    filterset_class = filtersets.ProjectFilterSet
    ordering_fields = ["project_id", "name", "created", "environment"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return selectors.project_list(organization=self.organization)

    def perform_update(self, serializer: Any) -> None:
        _refuse_while_deleting(serializer.instance)
        super().perform_update(serializer)

    @extend_schema(
        summary="Delete the project",
        description="A project without a pipeline is deleted with its apps (204). A project with one is "
        "marked deleting and its pipeline's deletion starts (202, the project as it is now): every resource "
        "is deleted, each reported on the pipeline's status and retried there if it fails, then the pipeline, "
        "the project and its apps go. 409 while the pipeline is busy with another change.",
        responses={202: serializers.ProjectSerializer, 204: None},
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        project = self.get_object()
        try:
            gone = services.project_delete(project=project)
        except services.DeleteRefused as exc:
            raise Conflict(str(exc)) from None
        if gone:
            return Response(status=status.HTTP_204_NO_CONTENT)
        project = self.get_queryset().get(pk=project.pk)
        return Response(self.get_serializer(project).data, status=status.HTTP_202_ACCEPTED)


def _refuse_while_deleting(project: Project) -> None:
    try:
        services.project_change_check(project=project)
    except services.ProjectDeleting as exc:
        raise Conflict(str(exc)) from None


class AppViewSet(OrganizationViewSet):
    """Apps registered in a project. `app_id` is chosen at creation and never changes."""

    model = App
    serializer_class = serializers.AppSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS
    lookup_field = "app_id"
    lookup_url_kwarg = "app"
    lookup_value_regex = r"[^/]+"
    filterset_class = filtersets.AppFilterSet
    ordering_fields = ["app_id", "name", "created", "timezone"]
    ordering = ["name"]

    parent_model = Project
    parent_lookup = "project_id"

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("project")

    def perform_create(self, serializer: Any) -> None:
        _refuse_while_deleting(self.parent)
        super().perform_create(serializer)

    def perform_update(self, serializer: Any) -> None:
        _refuse_while_deleting(self.parent)
        super().perform_update(serializer)

    def perform_destroy(self, instance: App) -> None:
        _refuse_while_deleting(self.parent)
        super().perform_destroy(instance)

    @extend_schema(
        summary="The app's SDK configuration file",
        description="The `amplifyconfiguration.json` the Android and iOS SDKs read: the app id and the "
        "project's ingestion endpoint (a placeholder until the project has a pipeline).",
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"], url_path="sdk-config", serializer_class=None)
    def sdk_config(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(services.app_sdk_config(app=self.get_object()))
