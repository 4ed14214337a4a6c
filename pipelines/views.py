"""Pipeline pages: detail, the wizard with its review (a plan for a live pipeline), history, delete, plugins."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.generic import TemplateView

from pipelines import lookups, selectors, services
from pipelines.forms import PICKERS, SHOWN_FOR, STEPS, PipelineForm
from pipelines.models import Pipeline
from pipelines.plan import plan_changes, plan_for
from pipelines.plugins import installed_plugins
from pipelines.spec import PIPELINE_REGIONS, SpecError, default_spec
from portal.aws import aws_session
from portal.roles import Perm
from portal.views.base import OrganizationMixin
from portal.views.generic import redirect
from projects.models import Project


class ProjectPipelineMixin(OrganizationMixin):
    """The project of the URL (the framework's parent, found within the organization) and its pipeline."""

    abstract = True
    parent_model = Project
    parent_lookup = "project_id"
    parent: Project

    def get_project(self) -> Project:
        return self.parent

    def get_pipeline(self) -> Pipeline | None:
        return selectors.pipeline_of(project=self.get_project())

    def require_pipeline(self) -> Pipeline:
        pipeline = self.get_pipeline()
        if pipeline is None:
            raise Http404("This project has no pipeline.")
        return pipeline

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_manage"] = self.membership.has_perm(Perm.MANAGE_PROJECTS)
        return context

    def plan(self, spec: dict[str, Any], pipeline: Pipeline | None) -> list[Any]:
        facts = selectors.project_facts(project=self.get_project(), pipeline=pipeline)
        live = plan_for(spec=pipeline.spec, facts=facts) if pipeline and pipeline.current_version else None
        return plan_changes(old=live, new=plan_for(spec=spec, facts=facts))


class PipelineDetailView(ProjectPipelineMixin, TemplateView):
    read_permission = Perm.VIEW_PROJECTS
    template_name = "pipelines/pipeline_detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipeline = self.get_pipeline()
        context["pipeline"] = pipeline
        if pipeline is not None:
            facts = selectors.project_facts(project=self.get_project(), pipeline=pipeline)
            context["resources"] = plan_for(spec=pipeline.spec, facts=facts).resources
            context["spec_json"] = json.dumps(pipeline.spec, indent=2)
        return context


class PipelineWizardView(ProjectPipelineMixin, TemplateView):
    """Create or change the pipeline: the steps, then a review of the plan, then the save.

    The review carries the spec as JSON and the version the edit started from, so the save records exactly
    what was reviewed, and a save after someone else's is refused with the form showing why.
    """

    read_permission = write_permission = Perm.MANAGE_PROJECTS
    template_name = "pipelines/pipeline_wizard.html"

    def form(self, data: Any = None, spec: dict[str, Any] | None = None) -> PipelineForm:
        pipeline = self.get_pipeline()
        accounts = selectors.aws_accounts(organization=self.organization)
        if spec is None:
            if pipeline is not None and pipeline.current_version:
                spec = pipeline.spec
            else:
                wanted = self.request.GET.get("provider") or ("aws" if accounts else "local")
                spec = default_spec(
                    provider="aws" if wanted == "aws" else "local", project_id=self.get_project().project_id
                )
        live = pipeline is not None and pipeline.current_version is not None
        return PipelineForm(
            data, initial=PipelineForm.initial_from(spec), live=live,
            accounts=[(str(a.uuid), f"{a.name} ({a.account_id})") for a in accounts],
        )  # fmt: skip

    def page(
        self, form: PipelineForm, *, status: int = 200, top_errors: list[str] | None = None
    ) -> HttpResponse:
        pipeline = self.get_pipeline()
        steps = [
            (step, [(form[n], PICKERS.get(n, ""), SHOWN_FOR.get(n, "")) for n in step.fields])
            for step in STEPS
        ]
        context = self.get_context_data(form=form, steps=steps, pipeline=pipeline, top_errors=top_errors or [],
                                        version=pipeline.version_number if pipeline else 0)  # fmt: skip
        return render(self.request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.page(self.form())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "spec_json" in request.POST:  # from the review page: save it, or go back to editing it
            return self.from_review(request)
        form = self.form(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        spec = form.spec(project_id=self.get_project().project_id)
        project, pipeline = self.get_project(), self.get_pipeline()
        problems, failed = services.pipeline_validate(project=project, spec=spec, pipeline=pipeline)
        if problems:
            form.add_problems(problems)
            return self.page(form, status=400, top_errors=[f"Could not check: {f}" for f in failed])
        return self.review(spec, version=_int(request.POST.get("version")), failed=failed)

    def review(self, spec: dict[str, Any], *, version: int, failed: list[str]) -> HttpResponse:
        pipeline = self.get_pipeline()
        changes = self.plan(spec, pipeline)
        context = self.get_context_data(
            pipeline=pipeline, changes=changes, spec=spec, spec_json=json.dumps(spec), version=version,
            live=pipeline is not None and pipeline.current_version is not None,
            nothing_changes=all(c.action == "unchanged" for c in changes), lookup_failures=failed,
        )  # fmt: skip
        return render(self.request, "pipelines/pipeline_review.html", context)

    def from_review(self, request: HttpRequest) -> HttpResponse:
        try:
            spec = json.loads(request.POST["spec_json"])
        except ValueError:
            return self.page(self.form(), status=400)
        if request.POST.get("action") != "save":
            return self.page(self.form(spec=spec))
        project = self.get_project()
        try:
            services.pipeline_save(project=project, spec=spec, author=request.user,
                                   expected_version=_int(request.POST.get("version")),
                                   summary=request.POST.get("summary", ""))  # fmt: skip
        except services.ChangeRefused as exc:
            return self.page(self.form(spec=spec), status=409, top_errors=[str(exc)])
        except services.VersionConflict as exc:
            note = "Your changes are kept below: review them against the new version before saving."
            return self.page(self.form(spec=spec), status=409, top_errors=[f"{exc} {note}"])
        except SpecError as exc:
            problems = [f"{p.path or 'spec'}: {p.message}" for p in exc.problems]
            return self.page(self.form(spec=spec), status=400, top_errors=problems)
        messages.success(
            request, f"Saved the pipeline of {project}; the provider applies it in the background."
        )
        return redirect(
            request,
            reverse(
                "pipelines:pipeline", kwargs={"org": self.organization.slug, "project": project.project_id}
            ),
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # matches no version: the save is refused as stale rather than guessed


class PipelineHistoryView(ProjectPipelineMixin, TemplateView):
    read_permission = Perm.VIEW_PROJECTS
    template_name = "pipelines/pipeline_history.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipeline = self.require_pipeline()
        versions = selectors.version_list(pipeline=pipeline)
        context.update(pipeline=pipeline, versions=[(v, selectors.version_diff(version=v)) for v in versions])
        return context


class PipelineVersionView(ProjectPipelineMixin, TemplateView):
    read_permission = Perm.VIEW_PROJECTS
    template_name = "pipelines/pipeline_version.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        pipeline = self.require_pipeline()
        version = get_object_or_404(pipeline.versions.select_related("author"), number=self.kwargs["number"])
        context.update(pipeline=pipeline, version=version, changes=selectors.version_diff(version=version),
                       spec_json=json.dumps(version.spec, indent=2))  # fmt: skip
        return context


class PipelineDeleteView(ProjectPipelineMixin, TemplateView):
    read_permission = write_permission = Perm.MANAGE_PROJECTS
    template_name = "pipelines/pipeline_delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["pipeline"] = self.require_pipeline()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        pipeline = self.require_pipeline()
        try:
            services.pipeline_delete_request(
                pipeline=pipeline, delete_data=bool(request.POST.get("delete_data"))
            )
        except services.ChangeRefused as exc:
            messages.error(request, str(exc))
            return redirect(request, pipeline.get_absolute_url())
        messages.success(
            request, "Deletion requested: the provider removes the pipeline's resources, then the pipeline."
        )
        return redirect(request, pipeline.get_absolute_url())


class PluginListView(OrganizationMixin, TemplateView):
    """Transformers and enrichers a pipeline may name: built-ins and installed `clickstream.plugins`."""

    read_permission = Perm.VIEW_PROJECTS
    template_name = "pipelines/plugin_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["plugins"] = installed_plugins()
        return context


PICK_LABELS: dict[str, tuple[str, Any]] = {
    "regions": ("id", lambda r: r["id"]),
    "vpcs": ("id", lambda v: f"{v['name'] or '(no name)'} — {v['id']} {v['cidr']}{' default' if v['is_default'] else ''}"),
    "subnets": ("id", lambda s: f"{s['name'] or '(no name)'} — {s['id']} {s['availability_zone']} {s['type']}"),
    "security_groups": ("id", lambda g: f"{g['name']} — {g['id']}"),
    "buckets": ("name", lambda b: b["name"]),
    "msk_clusters": ("arn", lambda c: f"{c['name']} ({c['state']})"),
    "redshift_clusters": ("name", lambda c: f"{c['name']} ({c['status']})"),
    "redshift_workgroups": ("name", lambda w: f"{w['name']} ({w['status']})"),
    "quicksight_users": ("arn", lambda u: f"{u['name']} {u['email']} ({u['role']})"),
    "certificates": ("arn", lambda c: c["domain"]),
    "secrets": ("arn", lambda s: s["name"]),
}  # fmt: skip


class LookupPickerView(ProjectPipelineMixin, TemplateView):
    """An htmx fragment that puts a choice of the account's resources in a wizard field's place, or says
    which call failed and why, keeping the field so the form stays usable."""

    read_permission = write_permission = Perm.MANAGE_PROJECTS
    template_name = "pipelines/_picker.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET
        default = next((f for f, k in PICKERS.items() if k == kwargs["kind"]), "")
        name = query.get("field") or default
        form = PipelineForm(accounts=[], initial={})
        if kwargs["kind"] not in PICK_LABELS or name not in form.fields:
            raise Http404("No such picker.")
        field = form[name]
        context.update(field=field, multiple=name.endswith("_ids"), current=set(query.getlist(name)))
        account = next((a for a in selectors.aws_accounts(organization=self.organization)
                        if str(a.uuid) == query.get("aws_account")), None)  # fmt: skip
        region = query.get("region") or ""
        if account is None or region not in PIPELINE_REGIONS:
            context["error"] = "Choose a connected AWS account and a region first."
            return context
        vpc = query.get("redshift_vpc_id") if name.startswith("redshift_") else query.get("vpc_id")
        params = {"vpc_id": vpc or "", "account_id": account.account_id}
        try:
            items = lookups.lookup(
                aws_session(account=account, region=region), region, kwargs["kind"], params
            )
        except (lookups.LookupFailed, lookups.MissingParameter) as exc:
            context["error"] = str(exc).replace("vpc_id", "a VPC")
            return context
        value, label = PICK_LABELS[kwargs["kind"]]
        context["options"] = [(item[value], label(item)) for item in items]
        return context
