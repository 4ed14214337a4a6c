"""The pipeline's provisioning status on the pipeline page (an htmx fragment that polls while busy), and retry."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.generic import TemplateView

from pipelines.models import Pipeline
from pipelines.views import ProjectPipelineMixin
from portal.choices import JobStatus
from portal.roles import Perm
from portal.views.base import OrganizationMixin
from portal.views.generic import redirect
from provisioning import services
from provisioning.choices import PipelineStatus
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
        active = pipeline is not None and pipeline_state(pipeline=pipeline).status == PipelineStatus.ACTIVE
        context.update(
            app=app,
            pipeline=pipeline,
            local=local,
            active=active,
            traffic=traffic.get(app.app_id) or AppTraffic(),
        )
        return context


class DemoStartView(OrganizationMixin, TemplateView):
    """The home page's demo button: starts the demo job and shows its progress on the job's page."""

    read_permission = write_permission = Perm.MANAGE_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(request, reverse("org_home", kwargs={"org": self.organization.slug}))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from portal.jobs import job_enqueue
        from provisioning.tasks import DEMO_KIND

        job = job_enqueue(
            organization=self.organization,
            kind=DEMO_KIND,
            name="Demo: a shop with a few days of traffic",
            kwargs={"organization_pk": self.organization.pk},
            obj=self.organization,
        )
        return redirect(request, reverse("job", kwargs={"org": self.organization.slug, "pk": job.uuid}))


class ProcessNowView(PipelineRequiredMixin, TemplateView):
    """Run the project's processing now instead of at the schedule's next time (a run going on is not
    doubled); the app page's traffic panel offers it."""

    read_permission = write_permission = Perm.MANAGE_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(request, self.pipeline().get_absolute_url())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from etl.tasks import etl_run_enqueue

        self.pipeline()
        job = etl_run_enqueue(project=self.get_project())
        if job.status == JobStatus.RUNNING:  # the run going on (the schedule's) was returned, not a new one
            messages.info(
                request,
                "A processing run was already going: events that arrived after it started wait for the next "
                "run. Process again once it has finished.",
            )
        else:
            messages.success(request, "Processing started: the dashboards update when it finishes.")
        return redirect(request, reverse("job", kwargs={"org": self.organization.slug, "pk": job.uuid}))


class AppTestEventView(ProjectPipelineMixin, TemplateView):
    """ "Send a test event": the portal posts one request shaped like the Web SDK's to the app's endpoint and
    shows the collector's answer (an htmx fragment)."""

    read_permission = write_permission = Perm.MANAGE_PROJECTS
    template_name = "provisioning/_test_event.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(request, self.app().get_absolute_url())

    def app(self) -> Any:
        from django.shortcuts import get_object_or_404

        return get_object_or_404(self.get_project().apps.all(), app_id=self.kwargs["app"])

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        app = self.app()
        outcome = services.test_event_send(app=app)
        return self.render_to_response(self.get_context_data(app=app, outcome=outcome))
