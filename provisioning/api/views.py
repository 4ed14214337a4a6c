from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from pipelines.api.views import ProjectPipelineMixin
from pipelines.models import Pipeline
from portal.api.exceptions import Conflict
from portal.api.viewsets import OrganizationViewSet
from portal.roles import Perm
from provisioning import services
from provisioning.api.serializers import PipelineStatusSerializer, RollbackContinueSerializer
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

    @extend_schema(request=RollbackContinueSerializer, responses={202: PipelineStatusSerializer})
    def rollback_continue(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Continue the rollback of a stack in UPDATE_ROLLBACK_FAILED, skipping the resources that block it
        (they keep their new state); 202, then Retry applies the update again. 409 when the stack is not
        in UPDATE_ROLLBACK_FAILED."""
        pipeline = self.get_pipeline()
        body = RollbackContinueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.stack_rollback_continue(pipeline=pipeline, name=body.validated_data["stack"])
        except services.RollbackNotStuck as exc:
            raise Conflict(str(exc)) from None
        data = PipelineStatusSerializer(pipeline_state(pipeline=pipeline)).data
        return Response(data, status=status.HTTP_202_ACCEPTED)
