from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from pipelines import lookups, selectors, services
from pipelines.api import serializers
from pipelines.models import Pipeline, PipelineVersion
from pipelines.plan import plan_changes, plan_for
from pipelines.plugins import installed_plugins
from pipelines.spec import PIPELINE_REGIONS, Problem, SpecError
from portal.api.exceptions import Conflict
from portal.api.viewsets import OrganizationViewSet
from portal.aws import aws_session
from portal.models.aws import AwsAccount
from portal.roles import Perm
from projects.models import Project


def problems_error(problems: list[Problem]) -> exceptions.ValidationError:
    """A 400 whose field errors are keyed by the spec path: `{"spec": {"ingestion.server_max": [...]}}`."""
    fields: dict[str, list[str]] = {}
    for p in problems:
        fields.setdefault(p.path or "non_field_errors", []).append(p.message)
    return exceptions.ValidationError({"spec": fields})


class ProjectPipelineMixin:
    """The project of the URL as the viewset's parent (found within the organization, 404 otherwise), then
    its pipeline."""

    parent_model: type[Model] | None = Project
    parent_lookup = "project_id"
    parent: Project

    def get_project(self) -> Project:
        return self.parent

    def get_pipeline(self) -> Pipeline:
        pipeline = selectors.pipeline_of(project=self.get_project())
        if pipeline is None:
            raise exceptions.NotFound("This project has no pipeline yet; PUT one with version 0.")
        return pipeline

    def plan_items(self, spec: dict[str, Any], pipeline: Pipeline | None) -> Any:
        project = self.get_project()
        facts = selectors.project_facts(project=project, pipeline=pipeline)
        old = plan_for(spec=pipeline.spec, facts=facts) if pipeline and pipeline.current_version else None
        return serializers.PlanItemSerializer(
            plan_changes(old=old, new=plan_for(spec=spec, facts=facts)), many=True
        ).data


class PipelineViewSet(ProjectPipelineMixin, OrganizationViewSet):
    """The project's pipeline: its current spec (GET), a new version (PUT), a deletion request (DELETE).

    PUT carries the version the edit starts from; if someone saved in between the answer is 409 and
    nothing changes. Saving never calls AWS: the provisioning worker picks the new version up.
    """

    model = Pipeline
    serializer_class = serializers.PipelineSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Pipeline.objects.unscoped().none()
        return super().get_queryset()  # scoped to the project by the framework

    def get_object(self) -> Pipeline:
        return self.get_pipeline()

    @extend_schema(request=serializers.PipelineWriteSerializer, responses={200: serializers.PipelineSerializer,
                   201: serializers.PipelineSerializer})  # fmt: skip
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.PipelineWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            version = services.pipeline_save(
                project=self.get_project(), spec=body.validated_data["spec"], author=request.user,
                expected_version=body.validated_data["version"], summary=body.validated_data.get("summary", ""),
            )  # fmt: skip
        except (services.VersionConflict, services.ChangeRefused) as exc:
            raise Conflict(str(exc)) from None
        except SpecError as exc:
            raise problems_error(exc.problems) from None
        created = version.number == 1 and body.validated_data["version"] == 0
        return Response(
            self.get_serializer(self.get_pipeline()).data, status=status.HTTP_201_CREATED if created else 200
        )

    @extend_schema(
        responses={202: serializers.PipelineSerializer},
        parameters=[OpenApiParameter("delete_data", bool, description="Remove the lake and warehouse too.")],
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delete_data = request.query_params.get("delete_data", "false").lower() in ("1", "true", "yes")
        try:
            pipeline = services.pipeline_delete_request(pipeline=self.get_pipeline(), delete_data=delete_data)
        except services.ChangeRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(self.get_serializer(pipeline).data, status=status.HTTP_202_ACCEPTED)


class PipelineValidateViewSet(ProjectPipelineMixin, OrganizationViewSet):
    """Every problem of a spec at once, and (when valid) the plan a save would run: per stack or step,
    create / update with the changed parameters / unchanged. GET checks the current spec again."""

    model = Pipeline
    serializer_class = serializers.ValidationResultSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS

    def result(self, spec: Any) -> Response:
        pipeline = selectors.pipeline_of(project=self.get_project())
        problems, failed = services.pipeline_validate(
            project=self.get_project(), spec=spec, pipeline=pipeline
        )
        return Response({
            "valid": not problems, "problems": [p.as_dict() for p in problems], "lookup_failures": failed,
            "plan": [] if problems else self.plan_items(spec, pipeline),
        })  # fmt: skip

    @extend_schema(responses=serializers.ValidationResultSerializer)
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.result(self.get_pipeline().spec)

    @extend_schema(request=serializers.SpecSerializer, responses=serializers.ValidationResultSerializer)
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = serializers.SpecSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self.result(body.validated_data["spec"])


class PipelineVersionViewSet(ProjectPipelineMixin, OrganizationViewSet):
    """The pipeline's saved versions, newest first; a version's detail has its spec and the field-by-field
    changes it made to the one before."""

    model = PipelineVersion
    serializer_class = serializers.PipelineVersionSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS
    lookup_field = "number"
    lookup_url_kwarg = "number"
    ordering = ["-number"]
    ordering_fields = ["number", "created"]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return PipelineVersion.objects.unscoped().none()
        return self.get_pipeline().versions.select_related("author")

    def get_serializer_class(self) -> type:
        return (
            serializers.PipelineVersionDetailSerializer
            if self.action == "retrieve"
            else self.serializer_class
        )

    def get_object(self) -> PipelineVersion:
        version = super().get_object()
        version.diff = selectors.version_diff(version=version)  # type: ignore[attr-defined]
        return version


class AwsLookupViewSet(OrganizationViewSet):
    """Resources of a connected AWS account, for choosing rather than typing (the original's `/env`).

    `kind` is one of regions, vpcs, subnets, security_groups, buckets, msk_clusters, msk_brokers,
    redshift_clusters, redshift_workgroups, quicksight_users, certificates, secrets, services; `region`
    defaults to the account's; some kinds need `vpc_id`, `cluster_arn` or `services` (comma list). A call AWS
    refuses is a 502 naming the call and AWS's reason.
    """

    model = AwsAccount
    serializer_class = serializers.LookupResultSerializer
    read_permission = Perm.MANAGE_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS

    @extend_schema(
        parameters=[OpenApiParameter(n, str, description=d) for n, d in (
            ("region", "AWS region (default: the account's)."), ("vpc_id", "For subnets, security groups, MSK, Redshift."),
            ("cluster_arn", "For msk_brokers."), ("services", "For services: comma-separated names."))],
        responses={200: serializers.LookupResultSerializer, 502: serializers.LookupFailureSerializer},
    )  # fmt: skip
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if kwargs["kind"] not in lookups.LOOKUPS:
            raise exceptions.NotFound(
                f"No look-up {kwargs['kind']}; choose from {', '.join(lookups.LOOKUPS)}."
            )
        account = get_object_or_404(
            AwsAccount.objects.for_organization(self.organization), uuid=kwargs["account"]
        )
        region = request.query_params.get("region") or account.region
        if region not in PIPELINE_REGIONS:
            raise exceptions.ValidationError({"region": [f"{region} is not a pipeline region."]})
        params = {**request.query_params.dict(), "account_id": account.account_id}
        if "services" in params:
            params["services"] = [s for s in params["services"].split(",") if s]
        try:
            items = lookups.lookup(
                aws_session(account=account, region=region), region, kwargs["kind"], params
            )
        except lookups.MissingParameter as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        except lookups.LookupFailed as exc:
            return Response({"detail": str(exc), "call": exc.call, "reason": exc.reason}, status=502)
        return Response({"kind": kwargs["kind"], "region": region, "items": items})


class PluginViewSet(OrganizationViewSet):
    """The transformers and enrichers a pipeline may name: built-ins and installed `clickstream.plugins`."""

    model = Pipeline
    serializer_class = serializers.PluginSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS
    pagination_class = None

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(serializers.PluginSerializer(installed_plugins(), many=True).data)
