"""The tenancy gate every organization page passes: signed in, a member (else 404), holding the role (else 403)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase

from portal.models import Membership, Organization


def current_user(request: HttpRequest) -> User:
    """The signed-in user, for code that runs behind a sign-in check."""
    if not isinstance(request.user, User):
        raise PermissionDenied("Sign in first.")
    return request.user


def membership_for(user: Any, slug: str) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("organization").filter(user=user, organization__slug=slug).first()
    )


class OrganizationMixin(LoginRequiredMixin):
    """Resolves `request.organization` from the URL and checks `permission` before the handler runs.

    `permission = None` means any member may use the view.
    """

    permission: str | None = None
    organization: Organization
    membership: Membership

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = membership_for(request.user, kwargs["org"])
        if membership is None:
            raise Http404("No such organization.")
        if self.permission and not membership.has_perm(self.permission):
            raise PermissionDenied("Your roles in this organization do not allow this.")
        self.membership = membership
        self.organization = membership.organization
        request.organization = membership.organization  # type: ignore[attr-defined]
        request.membership = membership  # type: ignore[attr-defined]
        request.session["organization"] = membership.organization.slug
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["organization"] = self.organization
        context["membership"] = self.membership
        return context
