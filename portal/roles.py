"""Roles held per organization and what each may do (the original's role matrix, spec/control-plane.md §2.1).

Views and viewsets name the permission they need; membership answers whether its roles grant it. The matrix
lives here and nowhere else.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPERATOR = "operator", "Operator"
    ANALYST = "analyst", "Analyst"
    ANALYST_READER = "analyst_reader", "Analyst Reader"


class Perm(models.TextChoices):
    VIEW_PROJECTS = "view_projects", "Read projects and apps"
    MANAGE_PROJECTS = "manage_projects", "Manage projects, apps, pipelines, plugins and alarms"
    VIEW_ANALYTICS = "view_analytics", "View dashboards and reports"
    MANAGE_ANALYTICS = "manage_analytics", "Use the analytics studio"
    MANAGE_ORGANIZATION = "manage_organization", "Manage members, settings and the audit log"


# What a view declares when every member of the organization may use it (their own API tokens, the home page).
# Spelled out, so that a forgotten permission is an error and never silently means "anyone".
ANY_MEMBER = "any_member"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(Perm.values),
    Role.OPERATOR: frozenset({Perm.VIEW_PROJECTS, Perm.MANAGE_PROJECTS}),
    Role.ANALYST: frozenset({Perm.VIEW_PROJECTS, Perm.VIEW_ANALYTICS, Perm.MANAGE_ANALYTICS}),
    Role.ANALYST_READER: frozenset({Perm.VIEW_ANALYTICS}),
}


def roles_grant(roles: list[str], perm: str) -> bool:
    if perm == ANY_MEMBER:
        return True
    return any(perm in ROLE_PERMISSIONS.get(role, frozenset()) for role in roles)
