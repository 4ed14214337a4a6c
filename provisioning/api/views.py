from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipelines.api.views import ProjectPipelineMixin
from pipelines.models import Alarm, AlarmSubscription, Pipeline
from portal.api.exceptions import Conflict
from portal.api.viewsets import OrganizationViewSet
from portal.roles import Perm
from provisioning import services
from provisioning.api.serializers import (
    AlarmSerializer,
    AlarmSubscriptionSerializer,
    AwsFailureSerializer,
    PipelineStatusSerializer,
)
from provisioning.aws.alarms import AlarmActionsFailed, alarm_actions_set
from provisioning.filtersets import AlarmFilterSet
from provisioning.selectors import pipeline_state


class PipelineStatusViewSet(ProjectPipelineMixin, OrganizationViewSet):
    """The pipeline's provisioning status (GET), derived from its resources; retry what failed (POST)."""

    model = Pipeline
    serializer_class = PipelineStatusSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS

    def get_queryset(self) -> QuerySet:
        return Pipeline.objects.unscoped().none()  # one object, found through the project

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(PipelineStatusSerializer(pipeline_state(pipeline=self.get_pipeline())).data)

    @extend_schema(request=None, responses={202: PipelineStatusSerializer, 200: PipelineStatusSerializer})
    def retry(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Retry only the failed resources and what depends on them (202); 200 and no change when nothing
        failed; 409 while the pipeline is busy, saying what runs."""
        pipeline = self.get_pipeline()
        try:
            services.pipeline_retry(pipeline=pipeline)
        except services.PipelineBusy as exc:
            raise Conflict(str(exc)) from None
        except services.NothingToRetry:
            return Response(PipelineStatusSerializer(pipeline_state(pipeline=pipeline)).data)
        data = PipelineStatusSerializer(pipeline_state(pipeline=pipeline)).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class AlarmViewSet(OrganizationViewSet):
    """The CloudWatch alarms of the organization's AWS pipelines, as the scheduled refresh last read them
    (filter by `project`, `state`, `actions_enabled`); `enable`/`disable` turn an alarm's actions (its
    notifications) on or off in AWS — Admin and Operator only. A call AWS refuses is a 502 saying why."""

    model = Alarm
    serializer_class = AlarmSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS
    lookup_field = "uuid"
    http_method_names = ["get", "head", "options", "post"]
    filterset_class = AlarmFilterSet
    ordering_fields = ["name", "state", "state_changed", "refreshed"]
    ordering = ["state", "name"]

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("pipeline__project", "organization")

    def _set(self, enabled: bool) -> Response:
        try:
            alarm = alarm_actions_set(alarm=self.get_object(), enabled=enabled)
        except AlarmActionsFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(self.get_serializer(alarm).data)

    @extend_schema(request=None, responses={200: AlarmSerializer, 502: AwsFailureSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """EnableAlarmActions: the alarm notifies the project's alarm topic again."""
        return self._set(True)

    @extend_schema(request=None, responses={200: AlarmSerializer, 502: AwsFailureSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """DisableAlarmActions: the alarm keeps its state but notifies nobody."""
        return self._set(False)


class AlarmSubscriptionViewSet(OrganizationViewSet):
    """The e-mail addresses on each project's alarm topic: confirmed, or still waiting for the recipient."""

    model = AlarmSubscription
    serializer_class = AlarmSubscriptionSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS
    http_method_names = ["get", "head", "options"]
    ordering = ["pipeline__project__project_id", "email"]

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("pipeline__project")
