"""Tenant scoping that fails closed.

`Model.objects` on an organization-owned model refuses to build a query until it is told which organization
it serves: `Model.objects.for_organization(org)`. Code that truly must see every tenant (a worker task that
loads its object by primary key, sign-in by token, maintenance) says so with `Model.objects.unscoped()` —
the one greppable escape. Django's own machinery (related managers, unique checks, admin) needs a plain
default manager, `all_tenants`; our code never names it (tests/portal/test_unscoped.py greps for it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

if TYPE_CHECKING:
    from portal.models.tenancy import Organization


class UnscopedQueryError(RuntimeError):
    """Raised when organization-owned data is queried without saying for which organization."""


class OrganizationScopedManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        raise UnscopedQueryError(
            f"{self.model.__name__}.objects needs an organization: use .for_organization(org) or .unscoped()."
        )

    def for_organization(self, organization: Organization) -> models.QuerySet:
        if organization is None or organization.pk is None:
            raise UnscopedQueryError(f"{self.model.__name__}: for_organization() needs a saved organization.")
        return super().get_queryset().filter(organization=organization)

    def none(self) -> models.QuerySet:
        return super().get_queryset().none()  # empty: nothing to leak

    def unscoped(self) -> models.QuerySet:
        return super().get_queryset()


class OrganizationOwned(models.Model):
    """A row that belongs to exactly one organization; every query for it is scoped to that organization."""

    organization = models.ForeignKey("portal.Organization", on_delete=models.CASCADE, related_name="+")

    all_tenants = models.Manager()
    objects = OrganizationScopedManager()

    class Meta:
        abstract = True
        default_manager_name = "all_tenants"

    def validate_constraints(self, exclude: Any = None) -> None:
        """Report a per-organization uniqueness error on the field a person typed, not as a form-wide error."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict({})
            for constraint in self._meta.constraints:
                fields = [
                    f for f in getattr(constraint, "fields", ()) if f not in ("organization", "project")
                ]
                message = constraint.get_violation_error_message()
                if len(fields) == 1 and message in _messages(errors.get(NON_FIELD_ERRORS, [])):
                    errors[NON_FIELD_ERRORS] = [
                        e for e in errors[NON_FIELD_ERRORS] if message not in _messages([e])
                    ]
                    errors.setdefault(fields[0], []).append(ValidationError(message, code="unique"))
            raise ValidationError({k: v for k, v in errors.items() if v}) from None


def _messages(errors: list[Any]) -> list[str]:
    return [m for e in errors for m in (e.messages if isinstance(e, ValidationError) else [str(e)])]
