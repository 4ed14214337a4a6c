"""The one base viewset: the organization comes from the URL, membership and role are checked first.

Non-members get 404 (an organization's existence is not revealed), members without the role get 403, a
token bound to another organization gets 404, and a read-only token may only read.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import exceptions, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from portal.audit import set_audit_context
from portal.choices import AuditSource
from portal.models import ApiToken, Membership, Organization
from portal.views.base import current_user


def check_token_scope(request: Request, organization: Organization | None) -> None:
    token = request.auth
    if not isinstance(token, ApiToken):
        return
    if organization is not None and token.organization_id != organization.pk:
        raise exceptions.NotFound("No such organization.")
    if token.read_only and request.method not in SAFE_METHODS:
        raise exceptions.PermissionDenied(
            "This token is read-only; create a read-write token to make changes."
        )


class OrganizationViewSet(viewsets.ModelViewSet):
    """Set `model`, `read_permission` and `write_permission`; `None` means any member."""

    model: type[Model]
    read_permission: str | None = None
    write_permission: str | None = None
    organization: Organization
    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        set_audit_context(actor=request.user, source=AuditSource.API)
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=current_user(request), organization__slug=kwargs.get("org", ""))
            .first()
        )
        if membership is None:
            raise exceptions.NotFound("No such organization.")
        check_token_scope(request, membership.organization)
        perm = self.read_permission if request.method in SAFE_METHODS else self.write_permission
        if perm and not membership.has_perm(perm):
            raise exceptions.PermissionDenied("Your roles in this organization do not allow this.")
        self.membership = membership
        self.organization = membership.organization

    def get_scope(self) -> dict[str, Any]:
        """What every object created here belongs to (the organization, and a parent for nested routes)."""
        return {"organization": self.organization}

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if hasattr(self, "organization"):
            context["scope"] = self.get_scope()
        return context

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.model._default_manager.none()
        return self.model.objects.for_organization(self.organization)  # type: ignore[attr-defined]

    def perform_create(self, serializer: Any) -> None:
        serializer.save(**self.get_scope())
