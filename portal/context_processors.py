from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal.models import Membership
from portal.roles import Perm


def organization(request: HttpRequest) -> dict[str, Any]:
    """The current organization, the others the user can switch to, and what their roles allow."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("organization"))
    current = getattr(request, "membership", None)
    return {
        "current_membership": current,
        "current_organization": getattr(request, "organization", None),
        "all_memberships": memberships,
        "perms_in_org": {p: current.has_perm(p) for p in Perm.values} if current else {},
    }
