"""The one base viewset: the organization comes from the URL, membership and role are checked first.

Non-members get 404 (an organization's existence is not revealed), members without the role get 403, a
token bound to another organization gets 404, and a read-only token may only read.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import exceptions, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from portal.audit import set_audit_context
from portal.choices import AuditSource
from portal.models import ApiToken, Organization
from portal.views.base import WRITE_METHODS, OrganizationAccess


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


class OrganizationViewSet(OrganizationAccess, viewsets.ModelViewSet):
    """Set `model`, `read_permission` and `write_permission` (a `Perm` or `ANY_MEMBER`; undeclared is an
    error); `parent_model` and `parent_lookup` for nested routes. `save_object(serializer)` is where objects
    are written: override it to save through a service function."""

    abstract = True
    model: type[Model]
    # An extra action whose permission differs from read/write (e.g. {"test": Perm.MANAGE_PROJECTS}).
    action_permissions: ClassVar[dict[str, str]] = {}

    @classmethod
    def can_write(cls) -> bool:
        return any(method in cls.http_method_names for method in WRITE_METHODS)

    def permission_for(self, method: str) -> str | None:
        return self.action_permissions.get(self.action or "") or super().permission_for(method)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        set_audit_context(actor=request.user, source=AuditSource.API)
        try:
            self.check_access(request, kwargs)
        except Http404 as exc:
            raise exceptions.NotFound(str(exc)) from None
        except DjangoPermissionDenied as exc:
            # A token bound to another organization must look like an outsider, not like a missing role.
            check_token_scope(request, self.organization)
            raise exceptions.PermissionDenied(str(exc)) from None
        check_token_scope(request, self.organization)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if hasattr(self, "organization"):
            context["scope"] = self.get_scope()
        return context

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()  # type: ignore[attr-defined]
        return self.scope_queryset(self.model.objects.for_organization(self.organization))  # type: ignore[attr-defined]

    def save_object(self, serializer: Any) -> Model:
        return serializer.save(**self.get_scope())

    def perform_create(self, serializer: Any) -> None:
        self._save(serializer)

    def perform_update(self, serializer: Any) -> None:
        self._save(serializer)

    def _save(self, serializer: Any) -> None:
        # A ValidationError a service raises becomes a 400 in portal/api/exceptions.py; nothing is kept.
        with transaction.atomic():
            serializer.instance = self.save_object(serializer)
