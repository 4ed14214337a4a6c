from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from portal import registry
from portal.roles import Perm
from portal.views.base import user_memberships


def organization(request: HttpRequest) -> dict[str, Any]:
    """The current organization, the others the user can switch to, and what their roles allow."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = user_memberships(request)
    current = getattr(request, "membership", None)
    return {
        "menu_items": registry.menu_items(current) if current else [],
        "current_membership": current,
        "current_organization": getattr(request, "organization", None),
        "all_memberships": memberships,
        "perms_in_org": {p: current.has_perm(p) for p in Perm.values} if current else {},
    }
