"""The pipeline's provisioning status on the pipeline page (an htmx fragment that polls while busy), and retry."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.views.generic import TemplateView

from pipelines.models import Pipeline
from pipelines.views import ProjectPipelineMixin
from portal.roles import Perm
from portal.views.generic import redirect
from provisioning import services
from provisioning.selectors import pipeline_state


class PipelineRequiredMixin(ProjectPipelineMixin):
    abstract = True

    def pipeline(self) -> Pipeline:
        pipeline = self.get_pipeline()
        if pipeline is None:
            raise Http404("This project has no pipeline.")
        return pipeline


class PipelineStatusView(PipelineRequiredMixin, TemplateView):
    """Status, steps done and to go, each resource's state, reason and latest events."""

    read_permission = Perm.VIEW_PROJECTS
    template_name = "provisioning/_status.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipeline = self.pipeline()
        context.update(pipeline=pipeline, state=pipeline_state(pipeline=pipeline))
        return context


class PipelineRetryView(PipelineRequiredMixin, TemplateView):
    read_permission = write_permission = Perm.MANAGE_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(request, self.pipeline().get_absolute_url())  # the button is on the pipeline page

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = self.pipeline()
        try:
            services.pipeline_retry(pipeline=pipeline)
        except services.PipelineBusy as exc:
            messages.error(request, str(exc))
        except services.NothingToRetry as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, "Retrying what failed, and what depends on it.")
        return redirect(request, pipeline.get_absolute_url())


class PipelineRollbackContinueView(PipelineRequiredMixin, TemplateView):
    """Continue the rollback of a stack left UPDATE_ROLLBACK_FAILED (the stack's name in the form)."""

    read_permission = write_permission = Perm.MANAGE_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(request, self.pipeline().get_absolute_url())  # the button is on the pipeline page

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = self.pipeline()
        name = request.POST.get("stack", "")
        try:
            skipped = services.stack_rollback_continue(pipeline=pipeline, name=name)
        except services.RollbackNotStuck as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"Continuing the rollback of {name}, skipping {', '.join(skipped) or 'nothing'}."
            )
        return redirect(request, pipeline.get_absolute_url())


class AppTrafficView(ProjectPipelineMixin, TemplateView):
    """When the app last sent events to the local collector, and how many requests in the last hour."""

    read_permission = Perm.VIEW_PROJECTS
    template_name = "provisioning/_app_traffic.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from django.shortcuts import get_object_or_404

        from provisioning.providers.local import project_folder
        from provisioning.traffic import AppTraffic, app_traffic

        context = super().get_context_data(**kwargs)
        app = get_object_or_404(self.get_project().apps.all(), app_id=self.kwargs["app"])
        pipeline = self.get_pipeline()
        local = pipeline is not None and pipeline.provider == "local"
        traffic = {}
        if pipeline is not None and local:
            traffic = app_traffic(buffer=project_folder(pipeline) / "data" / "buffer")
        context.update(
            app=app, pipeline=pipeline, local=local, traffic=traffic.get(app.app_id) or AppTraffic()
        )
        return context
