"""Reads for project pages."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from portal.models import Organization
from projects.models import Project


def project_list(*, organization: Organization) -> QuerySet[Project]:
    """Projects with their app counts (and pipeline, when one exists), in one query."""
    return (
        Project.objects.for_organization(organization)
        .annotate(app_count=Count("apps"))
        .select_related("organization", "pipeline")
    )
