"""The pipeline's provisioning status on the pipeline page (an htmx fragment that polls while busy), retry, and
the preview of an AWS pipeline's CloudFormation templates with their downloads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.generic import TemplateView

from pipelines.views import ProjectPipelineMixin
from portal.roles import Perm
from portal.views.generic import redirect
from provisioning import services
from provisioning.aws import preview
from provisioning.aws.render import RenderError
from provisioning.selectors import pipeline_state


class PipelineStatusView(ProjectPipelineMixin, TemplateView):
    """Status, steps done and to go, each resource's state, reason and latest events."""

    read_permission = Perm.VIEW_PROJECTS
    template_name = "provisioning/_status.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipeline = self.require_pipeline()
        context.update(pipeline=pipeline, state=pipeline_state(pipeline=pipeline))
        return context


class PipelineRetryView(ProjectPipelineMixin, TemplateView):
    read_permission = write_permission = Perm.MANAGE_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(
            request, self.require_pipeline().get_absolute_url()
        )  # the button is on the pipeline page

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = self.require_pipeline()
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
        context.update(
            app=app, pipeline=pipeline, local=local, traffic=traffic.get(app.app_id) or AppTraffic()
        )
        return context


class PipelineTemplatesView(ProjectPipelineMixin, TemplateView):
    """Each stack's template (pretty JSON) and parameters, with downloads; `?download=zip` for all files.
    A local pipeline has no templates: the page says so with a 409."""

    read_permission = Perm.VIEW_PROJECTS

    template_name = "provisioning/pipeline_templates.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = self.require_pipeline()
        try:
            stacks = preview.pipeline_templates(pipeline=pipeline)
        except RenderError as exc:
            return self.render_to_response(
                self.get_context_data(pipeline=pipeline, unavailable=str(exc)), status=409
            )
        if request.GET.get("download") == "zip":
            return attachment(preview.templates_zip(stacks), f"clickstream-{pipeline.pipeline_id}-templates.zip",
                              "application/zip")  # fmt: skip
        rows = [(name, stack, preview.template_text(stack), preview.parameter_rows(stack),
                 [preview.kind_of(stacks, d) for d in stack.depends_on]) for name, stack in stacks.items()]  # fmt: skip
        return self.render_to_response(self.get_context_data(pipeline=pipeline, stacks=rows))


class PipelineTemplateDownloadView(ProjectPipelineMixin, TemplateView):
    """One stack's `<stack>.json`, or with `?file=parameters` its `<stack>.parameters.json`."""

    read_permission = Perm.VIEW_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        part = request.GET.get("file", "template")
        if part not in ("template", "parameters"):
            return HttpResponseBadRequest("file is template or parameters.")
        try:
            stacks = preview.pipeline_templates(pipeline=self.require_pipeline())
        except RenderError as exc:
            return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
        found = preview.stack_of_kind(stacks, kwargs["stack"])
        if found is None:
            raise Http404(f"This pipeline has no {kwargs['stack']} stack.")
        name, stack = found
        filename = f"{name}.json" if part == "template" else f"{name}.parameters.json"
        return attachment(preview.stack_files(name, stack)[filename].encode(), filename, "application/json")


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
