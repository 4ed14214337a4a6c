"""The pipeline's provisioning status on the pipeline page (an htmx fragment that polls while busy), retry, the
preview of an AWS pipeline's CloudFormation templates with their downloads, and the Alarms page (the alarms of
every project, their actions turned on or off)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.views.generic import TemplateView

from pipelines.models import Alarm
from pipelines.views import ProjectPipelineMixin
from portal.choices import JobStatus
from portal.roles import Perm
from portal.views import generic
from portal.views.base import OrganizationAccess, OrganizationMixin
from portal.views.generic import redirect
from provisioning import services
from provisioning.aws import preview
from provisioning.aws.alarms import AlarmActionsFailed, alarm_actions_set
from provisioning.aws.render import RenderError
from provisioning.choices import PipelineStatus
from provisioning.filtersets import AlarmFilterSet
from provisioning.selectors import alarm_summary, pipeline_monitoring, pipeline_state
from provisioning.tables import AlarmTable


class PipelineStatusView(ProjectPipelineMixin, TemplateView):
    """Status, steps done and to go, each resource's state, reason and latest events."""

    read_permission = Perm.VIEW_PROJECTS
    template_name = "provisioning/_status.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipeline = self.require_pipeline()
        context.update(pipeline=pipeline, state=pipeline_state(pipeline=pipeline),
                       monitoring=pipeline_monitoring(pipeline=pipeline))  # fmt: skip
        return context


class PipelineActionView(ProjectPipelineMixin, TemplateView):
    """A button on the pipeline page: POST acts, GET goes back to the page."""

    abstract = True
    read_permission = write_permission = Perm.MANAGE_PROJECTS

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(
            request, self.require_pipeline().get_absolute_url()
        )  # the button is on the pipeline page


class PipelineRetryView(PipelineActionView):
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


class PipelineUpgradeView(PipelineActionView):
    """Upgrade the stacks to this release's templates (the button shows from which version to which)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = self.require_pipeline()
        try:
            services.pipeline_upgrade(pipeline=pipeline)
        except (services.PipelineBusy, services.NothingToUpgrade) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Upgrading the stacks to this release's templates.")
        return redirect(request, pipeline.get_absolute_url())


class PipelineRollbackContinueView(PipelineActionView):
    """Continue the rollback of a stack left UPDATE_ROLLBACK_FAILED (the stack's name in the form)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = self.require_pipeline()
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
        active = pipeline is not None and pipeline_state(pipeline=pipeline).status == PipelineStatus.ACTIVE
        context.update(
            app=app,
            pipeline=pipeline,
            local=local,
            active=active,
            traffic=traffic.get(app.app_id) or AppTraffic(),
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


class AlarmMixin(OrganizationAccess):
    """The CloudWatch alarms of the organization's AWS pipelines, as the scheduled refresh last read them."""

    model: type[Model] = Alarm
    read_permission = Perm.VIEW_PROJECTS
    write_permission = Perm.MANAGE_PROJECTS  # enable or disable actions: Admin and Operator (the original)

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().select_related("pipeline__project", "organization")  # type: ignore[misc]


class AlarmListView(AlarmMixin, generic.ObjectListView):
    """Every project's alarms, filterable by project and state, with the e-mails still to be confirmed."""

    table = AlarmTable
    filterset_class = AlarmFilterSet
    template_name = "provisioning/alarm_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(alarm_summary(organization=self.organization))
        return context


class AlarmDetailView(AlarmMixin, generic.ObjectDetailView):
    template_name = "provisioning/alarm_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["alarm"] = self.object
        context["can_manage"] = self.membership.has_perm(Perm.MANAGE_PROJECTS)
        context["subscriptions"] = self.object.pipeline.alarm_subscriptions.all()
        return context


class AlarmActionsView(AlarmMixin, generic.ObjectDetailView):
    """POST turns the alarm's actions on (`enabled`) or off; the buttons are on the alarm's page."""

    read_permission = write_permission = Perm.MANAGE_PROJECTS
    enabled: bool = True

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return redirect(request, self.get_object().get_absolute_url())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        alarm = self.get_object()
        try:
            alarm_actions_set(alarm=alarm, enabled=self.enabled)
        except AlarmActionsFailed as exc:
            messages.error(request, str(exc))
        else:
            verb = "Enabled" if self.enabled else "Disabled"
            messages.success(request, f"{verb} the actions (notifications) of {alarm.short_name}.")
        return redirect(request, alarm.get_absolute_url())


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


class ProcessNowView(PipelineActionView):
    """Run the project's processing now instead of at the schedule's next time (a run going on is not
    doubled); the app page's traffic panel offers it."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from etl.tasks import etl_run_enqueue

        self.require_pipeline()
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
