from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import aws_accounts, filtersets, services
from portal.api import serializers
from portal.api.exceptions import Conflict
from portal.api.viewsets import OrganizationViewSet, check_token_scope
from portal.audit import set_audit_context
from portal.choices import AuditSource
from portal.health import health_report
from portal.jobs import CANCEL_PERMISSION, job_cancel
from portal.models import ApiToken, AuditLogEntry, AwsAccount, Invitation, Job, Membership, Organization
from portal.roles import ANY_MEMBER, Perm
from portal.views.base import current_user, membership_for
from portal.views.organization import invitation_link


class OrganizationsViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The organizations you belong to. Creating one makes you its admin."""

    # Not an OrganizationViewSet (it lists across your organizations), but declared the same way: any member
    # reads their organization, only admins change it.
    read_permission = ANY_MEMBER
    write_permission = Perm.MANAGE_ORGANIZATION
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
            membership = membership_for(request, kwargs["org"])
            if membership is not None and not membership.has_perm(self.write_permission):
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

    def save_object(self, serializer: Any) -> Membership:
        roles = serializer.validated_data.get("roles", serializer.instance.roles)  # a PATCH may leave them
        services.last_admin_guard(membership=serializer.instance, new_roles=roles)
        return serializer.save()

    def perform_destroy(self, instance: Membership) -> None:
        services.last_admin_guard(membership=instance, new_roles=None)
        instance.delete()


class InvitationViewSet(OrganizationViewSet):
    """Invitations sent by email; the invitee accepts through the link in it.

    Inviting an address again replaces its open invitation; deleting an open invitation revokes it.
    """

    model = Invitation
    serializer_class = serializers.InvitationSerializer
    read_permission = write_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    http_method_names = ["get", "post", "delete", "head", "options"]
    ordering_fields = ["created", "email", "expires"]
    filterset_fields = ["email"]

    def accept_url(self, invitation: Invitation) -> str:
        return invitation_link(self.request, invitation)

    def save_object(self, serializer: Any) -> Invitation:
        return services.invitation_create(
            organization=self.organization,
            email=serializer.validated_data["email"],
            roles=serializer.validated_data["roles"],
            invited_by=self.request.user,
            accept_url=self.accept_url,
        )

    @extend_schema(request=None, responses={200: serializers.InvitationSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Send an open invitation again with a new link, valid for another week; the old link stops working."""
        invitation = services.invitation_resend(invitation=self.get_object(), accept_url=self.accept_url)
        return Response(self.get_serializer(invitation).data)


class AuditLogViewSet(OrganizationViewSet):
    """Every create, update and delete in the organization, newest first."""

    model = AuditLogEntry
    serializer_class = serializers.AuditLogEntrySerializer
    read_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    http_method_names = ["get", "head", "options"]
    filterset_class = filtersets.AuditLogFilterSet
    ordering_fields = ["timestamp", "action", "object_type"]
    ordering = ["-timestamp"]


class ApiTokenViewSet(OrganizationViewSet):
    """Your personal API tokens for this organization. The secret is returned once, on creation."""

    model = ApiToken
    serializer_class = serializers.ApiTokenSerializer
    read_permission = write_permission = ANY_MEMBER
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


class AwsAccountViewSet(OrganizationViewSet):
    """AWS accounts connected by the role the portal assumes there (with the connection's external id).

    Operators may list and test them; admins add, change and remove them.
    """

    model = AwsAccount
    serializer_class = serializers.AwsAccountSerializer
    read_permission = Perm.MANAGE_PROJECTS
    write_permission = Perm.MANAGE_ORGANIZATION
    lookup_field = "uuid"
    filterset_class = filtersets.AwsAccountFilterSet
    ordering_fields = ["name", "created", "region", "last_tested_at"]
    ordering = ["name"]

    action_permissions = {"test": Perm.MANAGE_PROJECTS}  # testing writes only the test's outcome

    def save_object(self, serializer: Any) -> AwsAccount:
        if serializer.instance is None:
            return serializer.save(**self.get_scope(), created_by=self.request.user)
        return serializer.save(**self.get_scope())

    @extend_schema(request=None, responses={200: serializers.AwsConnectionTestSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Assume the role and call sts:GetCallerIdentity; the outcome is also kept on the account."""
        result = aws_accounts.aws_account_test(account=self.get_object())
        return Response(serializers.AwsConnectionTestSerializer(result).data)

    @extend_schema(responses={200: serializers.AwsRoleTemplateSerializer})
    @action(detail=True, methods=["get"])
    def template(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The CloudFormation template that creates the role, and the console link that deploys it."""
        account = self.get_object()
        url = aws_accounts.template_url()
        body = {
            "template": aws_accounts.template_body(account=account),
            "quick_create_url": aws_accounts.quick_create_url(account=account, url=url) if url else "",
            "principal": aws_accounts.principal_arn(),
        }
        return Response(serializers.AwsRoleTemplateSerializer(body).data)


class HealthView(APIView):
    """The state of each part of the system, for monitors: open without signing in, naming no organization's
    data. Always 200 while the portal answers; `status` says whether every part is ok."""

    authentication_classes: list[type] = []  # a stale token must not turn a health probe into a 401
    permission_classes = [AllowAny]

    @extend_schema(responses=serializers.HealthSerializer, auth=[])
    def get(self, request: Request) -> Response:
        return Response(health_report(staff=False))
