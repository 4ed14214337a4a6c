"""Background jobs of the organization: status, step, percent and log, refreshed live while they run."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from portal import filtersets, tables
from portal.models import Job
from portal.roles import Perm
from portal.views import generic
from portal.views.base import OrganizationAccess


class JobMixin(OrganizationAccess):
    model: type[Model] = Job
    read_permission = write_permission = Perm.VIEW_PROJECTS


class JobListView(JobMixin, generic.ObjectListView):
    table = tables.JobTable
    filterset_class = filtersets.JobFilterSet


class JobDetailView(JobMixin, generic.ObjectDetailView):
    """The page polls its own fragment every two seconds while the job is pending or running."""

    template_name = "portal/job_detail.html"

    def get_template_names(self) -> list[str]:
        if getattr(self.request, "htmx", False):
            return ["portal/_job_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["job"] = self.object
        return context
