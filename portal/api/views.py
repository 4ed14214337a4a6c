from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from portal import filtersets, services
from portal.api import serializers
from portal.api.exceptions import Conflict
from portal.api.viewsets import OrganizationViewSet, check_token_scope
from portal.audit import set_audit_context
from portal.choices import AuditSource
from portal.jobs import CANCEL_PERMISSION, job_cancel
from portal.models import ApiToken, AuditLogEntry, Invitation, Job, Membership, Organization
from portal.roles import Perm
from portal.views.base import current_user


class OrganizationsViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The organizations you belong to. Creating one makes you its admin."""

    serializer_class = serializers.OrganizationSerializer
    lookup_field = "slug"
    lookup_url_kwarg = "org"
    ordering_fields = ["name", "slug", "created"]
    filterset_fields = ["slug"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        set_audit_context(actor=request.user, source=AuditSource.API)
        check_token_scope(request, None)
        if request.method not in SAFE_METHODS and "org" in kwargs:
            membership = Membership.objects.filter(
                user=current_user(request), organization__slug=kwargs["org"]
            ).first()
            if membership is not None and not membership.has_perm(Perm.MANAGE_ORGANIZATION):
                self.permission_denied(request, "Only admins can change the organization.")

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Organization.objects.none()
        queryset = Organization.objects.filter(memberships__user=current_user(self.request))
        token = self.request.auth
        if isinstance(token, ApiToken):
            queryset = queryset.filter(pk=token.organization_id)
        return queryset.order_by("name")

    def perform_create(self, serializer: Any) -> None:
        if isinstance(self.request.auth, ApiToken):
            self.permission_denied(
                self.request, "A token is bound to one organization; sign in to create another."
            )
        serializer.instance = services.organization_create(
            name=serializer.validated_data["name"],
            slug=serializer.validated_data.get("slug", ""),
            owner=self.request.user,
        )


class MemberViewSet(OrganizationViewSet):
    """Members and their roles. Invite people through the invitations endpoint."""

    model = Membership
    serializer_class = serializers.MemberSerializer
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    http_method_names = ["get", "put", "patch", "delete", "head", "options"]
    filterset_class = filtersets.MemberFilterSet
    ordering_fields = ["created", "user__email"]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return self.organization.memberships.select_related("user").order_by("user__email")

    def perform_update(self, serializer: Any) -> None:
        services.last_admin_guard(
            membership=serializer.instance, new_roles=serializer.validated_data["roles"]
        )
        serializer.save()

    def perform_destroy(self, instance: Membership) -> None:
        services.last_admin_guard(membership=instance, new_roles=None)
        instance.delete()


class InvitationViewSet(OrganizationViewSet):
    """Invitations sent by email; the invitee accepts through the link in it."""

    model = Invitation
    serializer_class = serializers.InvitationSerializer
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    http_method_names = ["get", "post", "delete", "head", "options"]
    ordering_fields = ["created", "email", "expires"]
    filterset_fields = ["email"]

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.invitation_create(
            organization=self.organization,
            email=serializer.validated_data["email"],
            roles=serializer.validated_data["roles"],
            invited_by=self.request.user,
            accept_url=lambda inv: self.request.build_absolute_uri(
                reverse("invitation_accept", kwargs={"key": inv.key})
            ),
        )


class AuditLogViewSet(OrganizationViewSet):
    """Every create, update and delete in the organization, newest first."""

    model = AuditLogEntry
    serializer_class = serializers.AuditLogEntrySerializer
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    http_method_names = ["get", "head", "options"]
    filterset_class = filtersets.AuditLogFilterSet
    ordering_fields = ["timestamp", "action", "object_type"]
    ordering = ["-timestamp"]


class ApiTokenViewSet(OrganizationViewSet):
    """Your personal API tokens for this organization. The secret is returned once, on creation."""

    model = ApiToken
    serializer_class = serializers.ApiTokenSerializer
    lookup_field = "uuid"
    http_method_names = ["get", "post", "delete", "head", "options"]
    ordering_fields = ["created", "name"]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return super().get_queryset().filter(user=self.request.user)

    @extend_schema(responses={201: serializers.ApiTokenCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = services.api_token_create(
            organization=self.organization, user=request.user, **serializer.validated_data
        )
        token.token = raw  # type: ignore[attr-defined]
        return Response(serializers.ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class JobViewSet(OrganizationViewSet):
    """Background work (ETL runs, provisioning…) with status, attempts, lease, progress, log lines and result.

    Jobs are started by the work they do (an ETL run, a pipeline change), not created here; they can be
    cancelled.
    """

    model = Job
    serializer_class = serializers.JobSerializer
    read_permission = Perm.VIEW_PROJECTS
    write_permission = CANCEL_PERMISSION
    lookup_field = "uuid"
    http_method_names = ["get", "head", "options"]
    filterset_class = filtersets.JobFilterSet
    ordering_fields = ["created", "started", "finished", "status", "kind", "next_try"]
    ordering = ["-created"]

    def get_serializer_class(self) -> type[serializers.JobSerializer]:
        if self.action in ("retrieve", "cancel"):
            return serializers.JobDetailSerializer
        return serializers.JobSerializer

    @extend_schema(request=None, responses={200: serializers.JobDetailSerializer})
    @action(detail=True, methods=["post"], http_method_names=["post", "options"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel a pending job at once, or ask a running one to stop at its next check-in (409 if the job
        has already finished)."""
        job = self.get_object()
        if not job_cancel(job=job):
            raise Conflict(f"The job has already finished ({job.get_status_display().lower()}).")
        return Response(self.get_serializer(job).data)
