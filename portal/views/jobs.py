"""Background jobs of the organization: status, attempts, step, percent and log, refreshed live while they run."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from portal import filtersets, tables
from portal.jobs import CANCEL_PERMISSION, job_cancel
from portal.models import Job
from portal.roles import Perm
from portal.views import generic


class JobMixin:
    model: type[Model] = Job
    permission: str | None = Perm.VIEW_PROJECTS


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
        context["can_cancel"] = self.membership.has_perm(CANCEL_PERMISSION)
        return context


class JobCancelView(JobMixin, generic.ObjectDetailView):
    """Confirm, then cancel: a pending job at once, a running one at its next check-in."""

    permission = CANCEL_PERMISSION
    template_name = "portal/job_cancel.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["job"] = self.object
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        job = self.get_object()
        assert isinstance(job, Job)
        if not job_cancel(job=job):
            messages.error(request, f"{job} has already finished ({job.get_status_display().lower()}).")
        elif job.is_cancelling:
            messages.success(request, f"Asked {job} to stop; it stops at its next check-in.")
        else:
            messages.success(request, f"Cancelled {job}.")
        return generic.redirect(request, job.get_absolute_url())
