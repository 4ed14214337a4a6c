from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipelines.api.views import ProjectPipelineMixin
from pipelines.models import Alarm, AlarmSubscription, Pipeline
from portal.api.exceptions import Conflict
from portal.api.viewsets import OrganizationViewSet
from portal.roles import Perm
from provisioning import services
from provisioning.api import serializers
from provisioning.api.serializers import (
    AlarmSerializer,
    AlarmSubscriptionSerializer,
    AwsFailureSerializer,
    PipelineStatusSerializer,
    RollbackContinueSerializer,
)
from provisioning.aws import preview
from provisioning.aws.alarms import AlarmActionsFailed, alarm_actions_set
from provisioning.aws.render import RenderedStack, RenderError
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

    @extend_schema(request=None, responses={202: PipelineStatusSerializer})
    def upgrade(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Upgrade the stacks to this release's templates (`GET status` gives `upgrade`: from which version
        to which); 202. 400 when it is the latest version already or the pipeline is not Active or Warning;
        409 while it is busy. An update never upgrades on its own."""
        pipeline = self.get_pipeline()
        try:
            services.pipeline_upgrade(pipeline=pipeline)
        except services.PipelineBusy as exc:
            raise Conflict(str(exc)) from None
        except services.NothingToUpgrade as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
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


STACK = OpenApiParameter(
    "stack",
    str,
    OpenApiParameter.PATH,
    description="The stack's kind, as the list gives it (e.g. Ingestion).",
)
DOWNLOAD = OpenApiParameter(
    "download", str, enum=["template", "parameters"],
    description="Answer with `<stack>.json` (template) or `<stack>.parameters.json` as an attachment.",
)  # fmt: skip
LOCAL = OpenApiResponse(description=preview.LOCAL_PIPELINE)
DETAIL_OR_FILE = PolymorphicProxySerializer(
    component_name="StackTemplateOrFile",
    serializers=[serializers.StackTemplateSerializer, serializers.TemplateFileSerializer,
                 serializers.ParameterFileEntrySerializer(many=True)],
    resource_type_field_name=None, many=False,
)  # fmt: skip


class PipelineTemplateViewSet(ProjectPipelineMixin, OrganizationViewSet):
    """The CloudFormation templates of an AWS pipeline's current version: the stacks in the order the
    provider creates them, each template with its parameters, and both as files to download. Whoever may
    read the pipeline may read them; a local pipeline has none (409)."""

    model = Pipeline
    serializer_class = serializers.StackTemplateSummarySerializer
    read_permission = Perm.VIEW_PROJECTS
    http_method_names = ["get", "head", "options"]
    pagination_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet:
        return Pipeline.objects.unscoped().none()  # one object, found through the project

    def stacks(self) -> dict[str, RenderedStack]:
        try:
            return preview.pipeline_templates(pipeline=self.get_pipeline())
        except RenderError as exc:
            raise Conflict(str(exc)) from None

    def summary(self, stacks: dict[str, RenderedStack], name: str) -> dict[str, Any]:
        stack = stacks[name]
        kwargs = {**self.kwargs, "stack": stack.kind}
        detail = self.request.build_absolute_uri(reverse("api:pipeline-template-detail", kwargs=kwargs))
        return {
            "stack": stack.kind, "name": name, "depends_on": [preview.kind_of(stacks, d) for d in stack.depends_on],
            "parameter_count": len(stack.template.get("Parameters", {})),
            "resource_count": len(stack.template.get("Resources", {})),
            "links": {"detail": detail, "template": f"{detail}?download=template",
                      "parameters": f"{detail}?download=parameters"},
        }  # fmt: skip

    @extend_schema(
        description="The pipeline's stacks in the order the provider creates them, with links to each.",
        responses={200: serializers.StackTemplateSummarySerializer(many=True), 409: LOCAL},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        stacks = self.stacks()
        return Response([self.summary(stacks, name) for name in stacks])

    @extend_schema(
        description="A stack's template and its parameters (the values sent, or the defaults that apply); "
        "with `download`, one of its two files as an attachment, as `manage.py pipeline_templates` writes it.",
        parameters=[STACK, DOWNLOAD], responses={200: DETAIL_OR_FILE, 409: LOCAL},
    )  # fmt: skip
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response | HttpResponse:  # type: ignore[override]  # a download is a file
        download = request.query_params.get("download")
        if download not in (None, "template", "parameters"):
            raise exceptions.ValidationError({"download": ["Choose template or parameters."]})
        stacks = self.stacks()
        found = preview.stack_of_kind(stacks, kwargs["stack"])
        if found is None:
            kinds = ", ".join(s.kind for s in stacks.values())
            raise exceptions.NotFound(f"This pipeline has no {kwargs['stack']} stack; it has {kinds}.")
        name, stack = found
        if download:
            filename = f"{name}.json" if download == "template" else f"{name}.parameters.json"
            response = HttpResponse(
                preview.stack_files(name, stack)[filename], content_type="application/json"
            )
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        rows = [vars(row) for row in preview.parameter_rows(stack)]
        return Response({**self.summary(stacks, name), "template": stack.template, "parameters": rows})


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
