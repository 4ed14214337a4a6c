"""The tenancy gate every organization page and endpoint passes: signed in, a member (else 404), holding the
declared permission (else 403), and, for nested URLs, a parent object that exists in the organization.

Permissions fail closed: a concrete view or viewset that does not say who may read (and, if it can write, who
may write) is an error when the class is defined. `ANY_MEMBER` says "every member" out loud.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase

from portal.models import Membership, Organization

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
WRITE_METHODS = ("post", "put", "patch", "delete")


def current_user(request: HttpRequest) -> User:
    """The signed-in user, for code that runs behind a sign-in check."""
    if not isinstance(request.user, User):
        raise PermissionDenied("Sign in first.")
    return request.user


def user_memberships(request: Any) -> list[Membership]:
    """Every membership of the signed-in user, read once per request (the gate, the organization switcher).

    Kept on the underlying Django request, so a DRF request and the context processors share it.
    """
    user = request.user
    if not user.is_authenticated:
        return []
    raw = getattr(request, "_request", request)
    cached = getattr(raw, "_memberships_cache", None)
    if cached is None or cached[0] != user.pk:
        cached = (user.pk, list(Membership.objects.filter(user=user).select_related("organization")))
        raw._memberships_cache = cached
    return cached[1]


def membership_for(request: Any, slug: str) -> Membership | None:
    return next((m for m in user_memberships(request) if m.organization.slug == slug), None)


class OrganizationAccess:
    """Who may use a view, declared on the class, and the checks that enforce it (shared by UI and API).

    - `read_permission` guards GET/HEAD/OPTIONS, `write_permission` every other method: a `Perm`, or
      `ANY_MEMBER`. A class with write handlers must declare both; intermediate bases set `abstract = True`.
    - `parent_model` + `parent_lookup` (its field matched against the URL kwarg `parent_url_kwarg`, by default
      the parent's model name) make a nested view: the parent is found once within the organization (404 if
      not), and `parent_permission` (by default the view's read permission) is checked on it.
    """

    abstract: ClassVar[bool] = True
    read_permission: str | None = None
    write_permission: str | None = None
    parent_model: type[Model] | None = None
    parent_lookup: str = ""
    parent_url_kwarg: str = ""
    parent_field: str = ""
    parent_permission: str | None = None

    organization: Organization
    membership: Membership
    parent: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        missing = [] if cls.read_permission else ["read_permission"]
        if cls.can_write() and not cls.write_permission:
            missing.append("write_permission")
        if missing:
            raise ImproperlyConfigured(
                f"{cls.__module__}.{cls.__qualname__} must declare {' and '.join(missing)} "
                "(a Perm, or ANY_MEMBER for every member of the organization)."
            )
        if cls.parent_model is not None:
            name = cls.parent_model._meta.model_name or ""
            cls.parent_url_kwarg = cls.parent_url_kwarg or name
            cls.parent_field = cls.parent_field or name
            if not cls.parent_lookup:
                raise ImproperlyConfigured(f"{cls.__qualname__} sets parent_model but no parent_lookup.")

    @classmethod
    def can_write(cls) -> bool:
        return any(hasattr(cls, method) for method in WRITE_METHODS)

    def permission_for(self, method: str) -> str | None:
        return self.read_permission if method.upper() in SAFE_METHODS else self.write_permission

    def check_access(self, request: Any, kwargs: dict[str, Any]) -> None:
        """Raises Http404 (not a member, no such parent) or PermissionDenied (a role is missing)."""
        membership = membership_for(request, kwargs.get("org", ""))
        if membership is None:
            raise Http404("No such organization.")
        self.membership = membership
        self.organization = membership.organization
        self.check_permission(self.permission_for(request.method or "GET"))
        if self.parent_model is not None:
            self.check_permission(self.parent_permission or self.read_permission)
            self.parent = self.find_parent(kwargs[self.parent_url_kwarg])

    def check_permission(self, perm: str | None) -> None:
        if perm is not None and not self.membership.has_perm(perm):
            raise PermissionDenied("Your roles in this organization do not allow this.")

    def find_parent(self, value: Any) -> Model:
        assert self.parent_model is not None
        found = (
            self.parent_model.objects.for_organization(self.organization)  # type: ignore[attr-defined]
            .filter(**{self.parent_lookup: value})
            .first()
        )
        if found is None:
            raise Http404(f"No such {self.parent_model._meta.verbose_name}.")
        return found

    def get_scope(self) -> dict[str, Any]:
        """What every object created here belongs to: the organization, and the parent for nested URLs."""
        scope: dict[str, Any] = {"organization": self.organization}
        if self.parent_model is not None:
            scope[self.parent_field] = self.parent
        return scope

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.parent_model is not None:
            return queryset.filter(**{self.parent_field: self.parent})
        return queryset


class OrganizationMixin(OrganizationAccess, LoginRequiredMixin):
    """The gate for server-rendered organization pages; sets `request.organization` and `request.membership`."""

    abstract = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.check_access(request, kwargs)
        request.organization = self.organization  # type: ignore[attr-defined]
        request.membership = self.membership  # type: ignore[attr-defined]
        request.session["organization"] = self.organization.slug
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["organization"] = self.organization
        context["membership"] = self.membership
        if self.parent_model is not None:
            context["parent"] = context[self.parent_field] = self.parent
        return context
